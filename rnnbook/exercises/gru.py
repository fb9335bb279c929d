"""The checker for chapter 4's exercise: one GRU step forward, in either form of the candidate.

Each wrong variant is the reference with one common mistake in it; the checker names the mistake
whose variant computes exactly what the reader's function computed.
"""

from __future__ import annotations

from functools import partial
from itertools import permutations
from typing import Any

import numpy as np

from rnnbook.checks import check_bool
from rnnbook.exercises.core import Exercise, Mistake, Outputs, Verdict, run_check
from rnnbook.exercises.rnn import random_params
from rnnbook.numpy.activations import sigmoid
from rnnbook.numpy.gru import gru_step_forward

GATES = "rzn"  # the order of the blocks in torch.nn.GRU's weights


def _case(rng: np.random.Generator, B: int, D: int, H: int, T: int) -> tuple[Any, ...]:
    return rng.normal(size=(B, D)), rng.normal(size=(B, H)), random_params(rng, D, H, gates=3)


def _reference(x: np.ndarray, h_prev: np.ndarray, params: dict[str, np.ndarray], reset_after: bool = True) -> Outputs:
    return {"h": gru_step_forward(x, h_prev, params, reset_after)[0]}


def _variant(x: np.ndarray, h_prev: np.ndarray, params: dict[str, np.ndarray], reset_after: bool = True, *,
             order: str = GATES, placement: str = "", flip_update: bool = False, b_hn_inside: bool = True,
             reset: bool = True, interpolate: bool = True, transpose: bool = True, recurrent: bool = True) -> Outputs:
    H = h_prev.shape[1]
    blocks = {}
    for k, gate in enumerate(order):  # the reader takes block k to be `gate`
        rows = slice(k * H, (k + 1) * H)
        blocks[gate] = {name: p[rows] for name, p in params.items()}

    def affine(v: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
        return v @ (W.T if transpose else W) + b

    r_, z_, n_ = blocks["r"], blocks["z"], blocks["n"]
    hh = (lambda v, p: affine(v, p["weight_hh"], p["bias_hh"])) if recurrent else (lambda v, p: p["bias_hh"] + 0.0 * v[:, :1])
    r = sigmoid(affine(x, r_["weight_ih"], r_["bias_ih"]) + hh(h_prev, r_)) if reset else 1.0
    z = sigmoid(affine(x, z_["weight_ih"], z_["bias_ih"]) + hh(h_prev, z_))
    after = reset_after if not placement else placement == "after"
    if after:
        hn = hh(h_prev, n_) if b_hn_inside else hh(h_prev, n_) - n_["bias_hh"]
        n = np.tanh(affine(x, n_["weight_ih"], n_["bias_ih"]) + r * hn + (0.0 if b_hn_inside else n_["bias_hh"]))
    else:
        n = np.tanh(affine(x, n_["weight_ih"], n_["bias_ih"]) + hh(r * h_prev, n_))
    if not interpolate:
        return {"h": n}
    return {"h": z * n + (1.0 - z) * h_prev if flip_update else (1.0 - z) * n + z * h_prev}


def _mistakes(reset_after: bool) -> tuple[Mistake, ...]:
    here, other = ("after", "cho") if reset_after else ("cho", "after")
    forms = {"after": "r_t * (W_hn h_{t-1} + b_hn), as torch.nn.GRU computes it",
             "cho": "W_hn (r_t * h_{t-1}) + b_hn, as in Cho et al. (2014)"}
    mistakes = [
        Mistake("wrong_reset_placement", f"the reset gate acts in the other place: this form computes "
                f"{forms[here]}, yours computes {forms[other]}.", partial(_variant, placement=other)),
        Mistake("update_gate_flipped", "the update gate is the wrong way round: h_t = (1 - z_t) * n_t + "
                "z_t * h_{t-1} (z_t near 1 keeps the old state).", partial(_variant, flip_update=True)),
        Mistake("missing_reset_gate", "the reset gate is missing from the candidate.", partial(_variant, reset=False)),
        Mistake("missing_interpolation", "the candidate n_t is returned as the state; h_t = (1 - z_t) * n_t + "
                "z_t * h_{t-1}.", partial(_variant, interpolate=False)),
        Mistake("missing_transpose", "a missing transpose: for a batch of rows W x_t is written x @ W.T "
                "(each block of weight_ih has shape (H, D)).", partial(_variant, transpose=False)),
        Mistake("missing_recurrent_term", "the recurrent terms W_h* h_{t-1} are missing: the gates and the "
                "candidate all read h_{t-1}.", partial(_variant, recurrent=False)),
    ]
    if reset_after:
        mistakes.append(Mistake("b_hn_outside_reset", "b_hn is added outside the reset gate; torch.nn.GRU "
                                "computes r_t * (W_hn h_{t-1} + b_hn), with b_hn inside.",
                                partial(_variant, b_hn_inside=False)))
    for p in permutations(GATES):
        order = "".join(p)
        if order != GATES:
            mistakes.append(Mistake("wrong_gate_order", f"the weight blocks were read in the order "
                                    f"{', '.join(order)}; torch.nn.GRU stacks r, z, n (reset, update, candidate).",
                                    partial(_variant, order=order)))
    return tuple(mistakes)


def _exercise(reset_after: bool) -> Exercise:
    return Exercise(name="gru_step_forward", arguments=("x", "h_prev", "params"), returns="h",
                    make_case=_case, reference=_reference, layout=("h",), shapes={"h": "(B, H)"},
                    mistakes=_mistakes(reset_after), options={"reset_after": reset_after}, seed=5)


def check_gru_step_forward(fn: Any, reset_after: bool = True, verbose: bool = True) -> Verdict:
    """Check the reader's ``fn(x, h_prev, params) -> h``: one GRU step (chapter 4, eqs. ``gru-reset``,
    ``gru-update``, ``gru-candidate-after`` or ``gru-candidate-cho``, and ``gru-state``).

    ``params`` stacks the blocks r, z, n like ``torch.nn.GRUCell``: ``weight_ih`` (3H, D),
    ``weight_hh`` (3H, H), ``bias_ih`` (3H,), ``bias_hh`` (3H,). If ``fn`` takes a ``reset_after``
    argument it is passed; otherwise ``fn`` must compute the form that ``reset_after`` names.
    ``fn`` may also return ``(h, cache)`` like :func:`rnnbook.numpy.gru_step_forward`.

    Parameters
    ----------
    fn : callable
        The function to check.
    reset_after : bool, default True
        The form to check against: True for ``torch.nn.GRU``'s (eq. ``gru-candidate-after``),
        False for Cho et al.'s (eq. ``gru-candidate-cho``).
    verbose : bool, default True
        Print the verdict.

    Returns
    -------
    Verdict
        True if ``fn`` agrees with the reference on every case; otherwise it names the output, the
        worst entry, the error and the likely cause.

    Raises
    ------
    TypeError
        If ``fn`` is not callable or cannot be called as ``fn(x, h_prev, params)``, or
        ``reset_after`` is not a bool.
    """
    return run_check(_exercise(check_bool("reset_after", reset_after)), fn, verbose)
