"""Checker for chapter 13's second exercise: averaging the gradients over the ranks by hand, as DDP does.

The reader writes ``average_gradients(model)``: inside an initialised process group, replace every
parameter's ``.grad`` by its mean over the ranks, :math:`g \\leftarrow \\frac{1}{N} \\sum_r g_r`
(``dist.all_reduce`` sums in place, then divide by the world size), in place, as
``DistributedDataParallel`` does during ``backward``. Because each rank's loss is the mean over its own
equal share of the global batch, that mean is the gradient of the whole batch in one process.

:func:`~rnnbook.exercises.check_average_gradients` runs the function on two ranks
(:func:`rnnbook.exercises.processes.run_ranks`: forked processes, the gloo backend, the CPU), each holding the
gradient of its half of a global batch, and compares every rank's ``.grad`` afterwards with the whole batch's
gradient. The model has a layer that the loss does not use, between layers that it does: its ``.grad`` is None
and must stay None.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnbook.checks import check_callable, check_positive, given
from rnnbook.exercises.core import Verdict
from rnnbook.exercises.processes import RankResult, run_ranks

#: The number of ranks :func:`~rnnbook.exercises.check_average_gradients` runs.
WORLD_SIZE = 2
#: A gradient agrees when max|yours - expected| <= GRAD_TOLERANCE * max|expected| (in float64 the mean of
#: the halves' gradients and the whole batch's gradient differ only by rounding).
GRAD_TOLERANCE = 1e-12
_V, _H, _B, _T, _SEED = 7, 5, 4, 6, 13   # vocabulary, hidden size, global batch, chunk length, seed


@dataclass(frozen=True)
class GradientMistake:
    """A common wrong answer to the gradient exercise, recognised by what it leaves in ``.grad`` (or raises)."""

    cause: str            # a short key, e.g. "summed_not_averaged"
    explanation: str      # what the reader should look at ({N}, {names}, ... are filled in)

    def __repr__(self) -> str:  # short: the API page lists the mistakes
        return f"GradientMistake({self.cause!r})"


#: The wrong answers :func:`~rnnbook.exercises.check_average_gradients` recognises.
GRADIENT_MISTAKES = (
    GradientMistake("summed_not_averaged", "every .grad is the sum over the ranks, {N} times the whole batch's "
                    "gradient: dist.all_reduce sums; divide by dist.get_world_size() afterwards (DDP averages, so "
                    "that N processes take the step one process takes on the whole batch)."),
    GradientMistake("divided_not_reduced", "every .grad is this rank's own gradient divided by {N}: it was never "
                    "reduced, so each rank still knows only its own rows. dist.all_reduce(p.grad) first, then divide."),
    GradientMistake("grads_unchanged", "every .grad is still this rank's own gradient: nothing was averaged into it. "
                    "dist.all_reduce works in place on the tensor it is given: pass p.grad itself, not a copy "
                    "(p.grad.clone(), p.grad.numpy(), ...), and divide it in place (p.grad /= N)."),
    GradientMistake("returned_not_in_place", "it returned {returned} and left every .grad as it was: the optimiser "
                    "reads p.grad, so the averages must be written into p.grad in place (dist.all_reduce(p.grad); "
                    "p.grad /= world_size), not returned."),
    GradientMistake("some_parameters_skipped", "these parameters were not averaged: {names}. Every parameter with a "
                    "gradient must be averaged (loop over model.parameters()){after_none}."),
    GradientMistake("none_grad_replaced", "{names} had no gradient (.grad None: the loss does not use them) and now "
                    "hold a tensor: skip such parameters and leave .grad None, as DDP does; a zero gradient is not "
                    "the same (weight decay or momentum would still move the parameter)."),
    GradientMistake("none_grad_not_skipped", "{names} have .grad None (the loss does not use them): skip parameters "
                    "whose .grad is None (`if p.grad is None: continue`)."),
    GradientMistake("collective_mismatch", "the ranks must call the same collectives in the same order, with tensors "
                    "of the same shapes: every rank reduces every parameter (no all_reduce inside `if rank == 0:`, "
                    "no rank-dependent list of parameters)."),
)
_EXPLAIN = {m.cause: m.explanation for m in GRADIENT_MISTAKES}

#: Every parameter's gradient by name (None where ``.grad`` is None), as NumPy arrays.
Grads = dict[str, np.ndarray | None]


def _build() -> tuple[Any, np.ndarray, np.ndarray]:
    """The seeded float64 model and a global batch ``x, y`` (T, B): a CharModel, an ``unused`` linear layer
    that the loss does not use, and an ``out`` layer after the CharModel's head."""
    import torch
    from torch import nn

    from rnnbook.torch.charlm import CharModel

    with torch.random.fork_rng(devices=[]):  # the caller's random numbers are left as they were
        torch.manual_seed(_SEED)
        model = nn.ModuleDict({"lm": CharModel(_V, _H, "lstm", dtype=torch.float64),
                               "unused": nn.Linear(_H, _V, dtype=torch.float64),
                               "out": nn.Linear(_V, _V, dtype=torch.float64)})
    ids = np.random.default_rng(_SEED).integers(0, _V, (_T + 1, _B))
    return model, ids[:-1], ids[1:]


def _backward(model: Any, x: np.ndarray, y: np.ndarray) -> None:
    """Set every used parameter's ``.grad`` to the gradient of the mean cross-entropy on the streams ``x, y`` (T, b)."""
    import torch
    import torch.nn.functional as F

    model.zero_grad(set_to_none=True)
    logits, _ = model["lm"](x)                                         # (T, b, V)
    F.cross_entropy(model["out"](logits).reshape(-1, _V), torch.as_tensor(y).reshape(-1)).backward()


def _read(model: Any) -> Grads:
    return {name: None if p.grad is None else p.grad.detach().cpu().numpy().copy()
            for name, p in model.named_parameters()}


def _rows(x: np.ndarray, y: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray]:
    n = _B // WORLD_SIZE
    return x[:, rank * n: (rank + 1) * n], y[:, rank * n: (rank + 1) * n]   # shard(B, rank, N)


def _close(a: np.ndarray | None, b: np.ndarray) -> bool:
    if a is None or a.shape != b.shape or not np.isfinite(a).all():
        return False
    return bool(np.abs(a - b).max() <= GRAD_TOLERANCE * max(np.abs(b).max(), 1e-300))


def _classify(grads: Grads, expected: Grads, own: Grads, total: dict[str, np.ndarray]) -> dict[str, str]:
    """Each parameter's ``.grad`` after ``fn``: ``"ok"``, ``"sum"`` (of the ranks'), ``"own"`` (this rank's,
    unchanged), ``"own_divided"``, ``"filled"`` (was None), ``"removed"`` (now None) or ``"other"``."""
    status = {}
    for name, e in expected.items():
        g, mine = grads.get(name), own[name]
        if e is None or mine is None:
            status[name] = "ok" if g is None else "filled"
            continue
        candidates = (("ok", e), ("sum", total[name]), ("own", mine), ("own_divided", mine / WORLD_SIZE))
        status[name] = "removed" if g is None else next((what for what, ref in candidates if _close(g, ref)), "other")
    return status


_SAYS = {"sum": " (the sum over the ranks)", "own": " (this rank's own gradient)",
         "own_divided": f" (this rank's own gradient / {WORLD_SIZE})", "other": ""}


def _describe(name: str, status: str, g: np.ndarray | None, e: np.ndarray | None) -> str:
    if status == "filled":
        return f"  {name}: had .grad None, now holds {given(g)}"
    if g is None or e is None or g.shape != e.shape:
        shape = None if e is None else e.shape
        return f"  {name}: .grad is {'None' if g is None else given(g)}, expected shape {shape}"
    worst = np.unravel_index(int(np.argmax(np.abs(g - e))), e.shape)
    at = ", ".join(str(int(i)) for i in worst)
    return f"  {name}: at [{at}] yours {g[worst]:.6g}, expected {e[worst]:.6g}{_SAYS[status]}"


def _judge(fname: str, results: dict[int, RankResult], expected: Grads, own: list[Grads]) -> Verdict:
    total = {}
    for name, e in expected.items():
        parts = [o[name] for o in own]
        if e is not None:
            total[name] = np.add.reduce([p for p in parts if p is not None])   # what all_reduce (SUM) gives
    statuses = [_classify(results[r].value["grads"], expected, own[r], total) for r in range(WORLD_SIZE)]
    bad = [r for r in range(WORLD_SIZE) if any(s != "ok" for s in statuses[r].values())]
    if not bad:
        return Verdict(True, f"{fname} passed: on both ranks every .grad is the whole batch's gradient (relative "
                       f"error <= {GRAD_TOLERANCE:.0e}), and the layer the loss does not use kept .grad None.", 1)
    rank = bad[0]
    status, grads, returned = statuses[rank], results[rank].value["grads"], results[rank].value["returned"]
    wrong = {name: s for name, s in status.items() if s != "ok"}
    lines = [f"{fname} left wrong gradients on rank {rank} of {WORLD_SIZE} ({len(wrong)} of {len(status)} "
             "parameters):"]
    lines += [_describe(name, s, grads.get(name), expected[name]) for name, s in list(wrong.items())[:6]]
    if len(wrong) > 6:
        lines.append(f"  ... and {len(wrong) - 6} more")
    right = [name for name, s in status.items() if s == "ok" and expected[name] is not None]
    if right:
        lines.append(f"  correct: {', '.join(right)}")
    others = [results[r].value["grads"] for r in range(WORLD_SIZE)]
    if any(not _same(others[0], other) for other in others[1:]):
        lines.append("  The ranks also hold different gradients: after averaging they must be identical, or the "
                     "replicas drift apart.")
    kinds, every = set(wrong.values()), all(name in wrong for name, e in expected.items() if e is not None)
    cause = ("none_grad_replaced" if kinds == {"filled"} else
             "summed_not_averaged" if every and kinds == {"sum"} else
             "divided_not_reduced" if every and kinds == {"own_divided"} else
             ("returned_not_in_place" if returned is not None else "grads_unchanged") if every and kinds == {"own"} else
             "some_parameters_skipped" if kinds == {"own"} else "unknown")
    if cause == "unknown":
        lines.append("Likely cause: not one of the common mistakes this checker knows: each .grad must end as the "
                     f"sum of the {WORLD_SIZE} ranks' gradients divided by {WORLD_SIZE}.")
    else:
        order, nones = list(expected), [name for name, e in expected.items() if e is None]
        after = bool(nones) and all(order.index(name) > order.index(nones[0]) for name in wrong)
        lines.append("Likely cause: " + _EXPLAIN[cause].format(
            N=WORLD_SIZE, returned=returned, names=", ".join(nones if cause == "none_grad_replaced" else wrong),
            after_none=(f"; all of them come after {nones[0]}, whose .grad is None: skip that one (continue), don't "
                        "stop there (break or return)" if after else "")))
    return Verdict(False, "\n".join(lines), 1, cause, next(iter(wrong)))


def _same(a: Grads, b: Grads) -> bool:
    return a.keys() == b.keys() and all(
        (u is None and v is None) or (u is not None and v is not None and np.array_equal(u, v))
        for u, v in ((a[k], b[k]) for k in a))


_COLLECTIVE = ("timed out", "timeout", "connection closed", "connection reset", "gloo")


def _failed(fname: str, results: dict[int, RankResult], expected: Grads, grace_s: float,
            timeout_s: float) -> Verdict | None:
    """The verdict when a rank raised, ended or did not finish; None if every rank returned."""
    errors = sorted((r, res) for r, res in results.items() if res.error is not None)
    if any(res.error == "NotImplementedError" for _, res in errors):
        return Verdict(False, f"{fname} is not implemented yet (it raised NotImplementedError): write its body, "
                       "then run this cell again.", 1, "not_implemented")
    if errors:  # the first error that is not another rank's failure seen through a collective
        rank, res = next(((r, res) for r, res in errors if not any(c in res.message.lower() for c in _COLLECTIVE)),
                         errors[0])
        if res.error == "ProcessExit":
            return Verdict(False, f"rank {rank}'s process ended without a result ({res.message}) while it ran {fname}: "
                           "does it call os._exit or kill the process?", 1, "process_exit")
        text = res.message.lower()
        cause = ("none_grad_not_skipped" if "nonetype" in text else
                 "collective_mismatch" if any(c in text for c in _COLLECTIVE) else "exception")
        message = f"{fname} raised {res.error} on rank {rank} of {WORLD_SIZE}: {res.message}\n{res.traceback.rstrip()}"
        if cause != "exception":
            nones = ", ".join(name for name, e in expected.items() if e is None)
            message += "\nLikely cause: " + _EXPLAIN[cause].format(names=nones)
        return Verdict(False, message, 1, cause)
    missing = [str(r) for r in range(WORLD_SIZE) if r not in results]
    if not missing:
        return None
    if results:
        return Verdict(False, f"{fname} did not finish on rank {', '.join(missing)} within {grace_s:g} s after it had "
                       f"on rank {', '.join(map(str, sorted(results)))} (killed): a rank waits in a collective that "
                       "the others never called.\nLikely cause: " + _EXPLAIN["collective_mismatch"], 1,
                       "collective_mismatch")
    return Verdict(False, f"{fname} did not finish on any rank within {timeout_s:g} s (killed): an endless loop, or "
                   "the ranks wait in different collectives.\nLikely cause: " + _EXPLAIN["collective_mismatch"],
                   1, "timeout")


def check_average_gradients(fn: Callable[..., Any], verbose: bool = True, *, timeout_s: float = 30.0) -> Verdict:
    """Check the reader's ``fn(model)``: average every ``.grad`` over the ranks, in place (chapter 13).

    On :data:`~rnnbook.exercises.distributed.WORLD_SIZE` ranks (forked processes, the gloo backend, the CPU), each
    with the same seeded float64 model (a :class:`~rnnbook.torch.charlm.CharModel`, an ``unused`` linear layer,
    and an ``out`` layer after the head) and the gradient of the mean cross-entropy on its contiguous half of a
    global batch, it calls ``fn(model)``. Afterwards every rank's ``.grad`` must be the gradient of the whole
    batch in one process (relative error at most :data:`~rnnbook.exercises.distributed.GRAD_TOLERANCE`), and
    ``unused``'s must still be None. An exception in ``fn`` is reported with its traceback; a rank that does not
    finish is killed.

    Parameters
    ----------
    fn : callable
        ``average_gradients(model)``; what it returns is ignored (but named if ``.grad`` was left unchanged).
    verbose : bool, default True
        Print the verdict.
    timeout_s : float, default 30.0
        How long a collective may wait; a rank still running ``min(timeout_s / 2, 10)`` seconds after another
        rank finished is taken to wait in a collective the others never called.

    Returns
    -------
    Verdict
        True if ``fn`` passed; else the rank, the wrong parameters (worst entry, yours and expected) and the
        likely mistake (:data:`~rnnbook.exercises.distributed.GRADIENT_MISTAKES`).

    Raises
    ------
    TypeError
        If ``fn`` is not callable or cannot take one argument.
    ValueError
        If ``timeout_s`` is not positive.
    RuntimeError
        If torch.distributed or the fork start method is missing (Windows), or the process group cannot start.
    """
    check_callable("fn", fn, "the function you wrote, average_gradients(model)")
    fname = getattr(fn, "__name__", type(fn).__name__)
    try:
        inspect.signature(fn).bind(None)
    except TypeError as err:
        raise TypeError(f"fn must take one argument, the model, like average_gradients(model); "
                        f"{fname}{inspect.signature(fn)} cannot be called that way ({err})") from None
    except ValueError:  # no signature (some builtins): the call itself will tell
        pass
    timeout_s = check_positive("timeout_s", timeout_s)
    model, x, y = _build()
    own: list[Grads] = []
    for r in range(WORLD_SIZE):
        _backward(model, *_rows(x, y, r))
        own.append(_read(model))
    _backward(model, x, y)
    expected = _read(model)

    def rank_step(rank: int) -> dict[str, Any]:  # in a worker: this rank's gradient, then the reader's function
        _backward(model, *_rows(x, y, rank))
        returned = fn(model)
        return {"grads": _read(model), "returned": None if returned is None else given(returned)}

    grace_s = min(timeout_s / 2, 10.0)  # shorter than the collective's timeout: the hung rank is named, every time
    results = run_ranks(rank_step, WORLD_SIZE, timeout_s=timeout_s, grace_s=grace_s)
    failed = _failed(fname, results, expected, grace_s, timeout_s)  # a Verdict is false when it failed: no `or`
    verdict = _judge(fname, results, expected, own) if failed is None else failed
    printed = "" if verdict.passed else "".join(res.printed for res in results.values()).strip()
    if printed:
        verdict = Verdict(False, f"{verdict.message}\n(the ranks printed: {printed[:500]})", verdict.cases,
                          verdict.cause, verdict.output)
    if verbose:
        print(verdict.message)
    return verdict
