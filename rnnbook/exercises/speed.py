"""Checker for chapter 11's exercise: the FLOPs and bytes of one GRU step, the cost model by hand.

The reader writes ``gru_step_cost(B, D, H, itemsize) -> (flops, nbytes)`` for one step of the GRU's
recurrent loop as chapter 11 counts it for the LSTM: the input projection :math:`X W_{ih}^\\top` is
hoisted out of the loop (it is not part of a step); a step multiplies :math:`h_{t-1}` (B, H) by
:math:`W_{hh}^\\top` (H, 3H), two FLOPs per multiply-add (the pointwise maths, O(B H), is left out);
and it reads :math:`W_{hh}`, :math:`b_{hh}`, its (B, 3H) slice of the hoisted projection and
:math:`h_{t-1}`, and writes :math:`h_t`, each element ``itemsize`` bytes. Each wrong variant below is
the reference with one common mistake in it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rnnbook.checks import check_callable
from rnnbook.exercises.core import Verdict

#: The cases ``(B, D, H, itemsize)``: the CPU target of chapter 11, ones, FlashRNN's setting in
#: 16-bit, sizes that are all different, and a large batch in float32.
CASES = ((64, 256, 256, 4), (1, 1, 1, 2), (16, 768, 768, 2), (3, 5, 7, 8), (256, 128, 1024, 4))

_Cost = tuple[int, int]


@dataclass(frozen=True)
class CostMistake:
    """A common wrong count: ``compute`` is the reference with that one mistake in it (like
    :class:`rnnbook.exercises.core.Mistake`, for a function that returns two integers)."""

    cause: str                           # a short key, e.g. "no_factor_two"
    explanation: str                     # what the reader should look at
    compute: Callable[..., _Cost]         # same arguments as the reference

    def __repr__(self) -> str:  # short: the API page lists the mistakes
        return f"CostMistake({self.cause!r})"


def gru_step_cost(B: int, D: int, H: int, itemsize: int, *, gates: int = 3, factor: int = 2,
                  input_in_step: bool = False, weights: bool = True, states: int = 2,
                  bytes_per_element: bool = True) -> _Cost:
    """The reference (with the defaults): FLOPs and bytes of one GRU step with the input projection hoisted.

    The keywords make the wrong variants: ``gates`` weight blocks, ``factor`` FLOPs per multiply-add,
    the input product counted in the step, ``W_hh`` read or not, ``states`` (B, H) tensors moved.
    """
    GH = gates * H
    flops = factor * B * H * GH                        # h_{t-1} @ W_hh^T: (B, H) @ (H, GH)
    elements = GH + B * GH + states * B * H            # b_hh, the step's slice of X W_ih^T + b_ih, h in and out
    if weights:
        elements += GH * H                             # W_hh itself
    if input_in_step:
        flops += factor * B * D * GH                   # x_t @ W_ih^T, which the hoisting took out of the loop
        elements += GH * D + B * D - B * GH            # W_ih and x_t instead of the hoisted slice
    return flops, elements * (itemsize if bytes_per_element else 1)


#: The wrong answers :func:`~rnnbook.exercises.check_gru_step_cost` recognises.
MISTAKES = (
    CostMistake("no_factor_two", "a multiply-add is two floating-point operations: the product of a (B, H) and an "
            "(H, 3H) matrix takes 2 * B * H * 3H FLOPs.", lambda *a: gru_step_cost(*a, factor=1)),
    CostMistake("input_product_in_step", "the input product x_t W_ih^T is hoisted out of the loop (one product "
            "for all T steps): a step reads its (B, 3H) slice of the result instead of W_ih and x_t.",
            lambda *a: gru_step_cost(*a, input_in_step=True)),
    CostMistake("lstm_gate_count", "a GRU has three gate blocks (r, z, n), so W_hh is (3H, H); four is the LSTM's.",
            lambda *a: gru_step_cost(*a, gates=4)),
    CostMistake("elements_not_bytes", "the bytes are the elements times itemsize (4 for float32, 2 for 16-bit).",
            lambda *a: gru_step_cost(*a, bytes_per_element=False)),
    CostMistake("weights_not_counted", "W_hh (3H x H) is read at every step from memory; only a persistent kernel "
            "keeps it on chip, and this exercise counts a step of an ordinary one.",
            lambda *a: gru_step_cost(*a, weights=False)),
    CostMistake("cell_state_counted", "a GRU has no cell state: a step reads h_{t-1} and writes h_t, two (B, H) "
            "tensors, not the LSTM's four.", lambda *a: gru_step_cost(*a, states=4)),
)


def _as_cost(result: Any) -> _Cost | None:
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return None
    try:
        values = tuple(int(v) for v in result if float(v) == int(v))  # a non-integral value is dropped
    except (TypeError, ValueError, OverflowError):
        return None
    return (values[0], values[1]) if len(values) == 2 else None


def check_gru_step_cost(fn: Callable[[int, int, int, int], Any], verbose: bool = True) -> Verdict:
    """Check the reader's ``fn(B, D, H, itemsize) -> (flops, nbytes)`` for one GRU step (chapter 11).

    Parameters
    ----------
    fn : callable
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict
        True if ``fn`` returns the reference's two integers on every case of :data:`~rnnbook.exercises.speed.CASES`; else
        the first case where it differs, and the likely mistake.

    Raises
    ------
    TypeError
        If ``fn`` is not callable.
    """
    check_callable("fn", fn, "the function you wrote, gru_step_cost(B, D, H, itemsize)")
    name = getattr(fn, "__name__", "it")
    verdict = None
    for n, case in enumerate(CASES, start=1):
        where = f"case {n} of {len(CASES)} (B, D, H, itemsize = {case})"
        try:
            result = fn(*case)
        except NotImplementedError:
            verdict = Verdict(False, f"{name} is not implemented yet (it raised NotImplementedError): write its "
                              "body, then run this cell again.", n, "not_implemented")
            break
        except Exception as err:  # the reader's code failed: say so, don't raise
            verdict = Verdict(False, f"{name} failed on {where}: it raised {type(err).__name__}: {err}.", n, "exception")
            break
        cost, expected = _as_cost(result), gru_step_cost(*case)
        if cost is None:
            verdict = Verdict(False, f"{name} returned {result!r} on {where}; expected two whole numbers "
                              f"(flops, nbytes), e.g. {expected}.", n, "wrong_structure")
            break
        if cost == expected:
            continue
        wrong = [what for what, a, b in zip(("flops", "nbytes"), cost, expected) if a != b]
        lines = [f"{name} is wrong on {where}: yours {cost}, expected {expected} ({' and '.join(wrong)} differ)."]
        mistake = next((m for m in MISTAKES if m.compute(*case) == cost), None)
        lines.append(f"Likely cause: {mistake.explanation}" if mistake else
                     "Likely cause: not one of the common mistakes this checker knows; count each tensor a step "
                     "reads and writes, and each product's multiply-adds.")
        verdict = Verdict(False, "\n".join(lines), n, mistake.cause if mistake else "unknown", wrong[0])
        break
    if verdict is None:
        verdict = Verdict(True, f"{name} passed: flops and nbytes agree with the reference on all {len(CASES)} "
                          "cases (exact integers).", len(CASES))
    if verbose:
        print(verdict.message)
    return verdict
