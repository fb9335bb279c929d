"""What every checker shares: the random cases, running the reader's function, and the verdict.

A checker runs the reader's function and the package's reference on the same seeded cases
(float64, sizes from 1 up, the first case square so that a missing transpose gives wrong numbers
rather than a shape error). At the first case where an output differs it names the output, the
worst entry and the error, and looks for the cause: it runs known-wrong variants of the reference
(each one common mistake) on that case, and a variant whose outputs equal the reader's is the
likely cause.
"""

from __future__ import annotations

import copy
import inspect
from itertools import permutations
import traceback
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnbook.checks import check_callable, given

#: An output agrees with the reference when max|yours - reference| <= TOLERANCE * max|reference|.
TOLERANCE = 1e-9
#: The sizes ``(B, D, H, T)`` of each case. The first is square (D = H), so that a missing transpose
#: computes wrong numbers that a wrong variant can match, instead of failing on a shape.
SIZES = ((2, 3, 3, 3), (1, 1, 1, 1), (3, 2, 4, 4), (1, 4, 2, 2), (4, 5, 3, 5), (2, 1, 5, 3))
#: The parameter gradients' keys, and the short names the checkers report them by.
GRAD_NAMES = {"weight_ih": "dW_ih", "weight_hh": "dW_hh", "bias_ih": "db_ih", "bias_hh": "db_hh"}

#: What a step returns, by name (``"h_next"``, ``"dx"``, ...).
Outputs = dict[str, np.ndarray]


@dataclass(frozen=True)
class Mistake:
    """A common wrong answer: ``compute`` is the reference with that one mistake in it."""

    cause: str                           # a short key, e.g. "missing_transpose"
    explanation: str                     # what the reader should look at
    compute: Callable[..., Outputs]      # same arguments as the reference

    def __repr__(self) -> str:  # short: the API page shows the mistakes of each exercise
        return f"Mistake({self.cause!r})"


def gate_order_mistakes(gates: str, what: str, variant: Callable[..., Callable[..., Outputs]]) -> list[Mistake]:
    """One :class:`Mistake` per wrong order of the gate blocks ``gates`` (e.g. ``"ifgo"``).

    ``what`` names the blocks read in that order (``"the weight blocks were read"``) and
    ``variant(order)`` is the reference computed with the blocks in that order.
    """
    orders = ("".join(p) for p in permutations(gates))
    return [Mistake("wrong_gate_order", f"{what} in the order {', '.join(order)}; torch.nn stacks them "
                    f"{', '.join(gates)}.", variant(order)) for order in orders if order != gates]


@dataclass(frozen=True)
class Exercise:
    """What a checker needs to know about one exercise."""

    name: str                                             # the function the reader writes
    arguments: tuple[str, ...]                            # its positional arguments
    returns: str                                          # what it returns, in words
    make_case: Callable[[np.random.Generator, int, int, int, int], tuple[Any, ...]]
    reference: Callable[..., Outputs]
    layout: tuple[str, ...]                               # names of the returned values ("grads": the dict)
    shapes: Mapping[str, str]                             # output -> its shape in symbols, e.g. "(B, H)"
    mistakes: tuple[Mistake, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)  # passed if the function takes them
    uses_T: bool = False                                  # whether the cases' sequence length matters
    seed: int = 0

    def __repr__(self) -> str:  # short: the API page shows each exercise by its function and mistakes
        return f"Exercise({self.name!r}, mistakes={[m.cause for m in self.mistakes]})"


@dataclass(frozen=True)
class Verdict:
    """The result of a check; true if the function passed.

    Attributes
    ----------
    passed : bool
    message : str
        What the checker printed.
    cases : int
        How many cases ran (all of them if passed; up to the first failing one otherwise).
    cause : str or None
        The diagnosed mistake's key (a :class:`~rnnbook.exercises.core.Mistake`'s ``cause``, or ``"not_implemented"``,
        ``"exception"``, ``"shape_error"``, ``"wrong_shape"``, ``"wrong_type"``, ``"wrong_dtype"``,
        ``"not_finite"``, ``"wrong_structure"``, ``"modified_input"``, ``"not_summed_over_batch"``,
        ``"unknown"``); None if passed.
    output : str or None
        The output named as wrong (e.g. ``"dW_hh"``), if one is.
    """

    passed: bool
    message: str
    cases: int
    cause: str | None = None
    output: str | None = None

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:  # short: the checker has printed the message already
        return f"Verdict(passed={self.passed}, cause={self.cause!r}, output={self.output!r}, cases={self.cases})"


class _Malformed(Exception):
    """The reader's return value has the wrong structure, type, shape or dtype."""

    def __init__(self, message: str, cause: str, output: str | None = None) -> None:
        super().__init__(message)
        self.cause, self.output = cause, output


def display(name: str) -> str:
    """``dW_hh (grads['weight_hh'])`` for a parameter gradient, the name itself otherwise."""
    for key, short in GRAD_NAMES.items():
        if name == short:
            return f"{short} (grads['{key}'])"
    return name


def _unpack(result: Any, exercise: Exercise) -> Outputs:
    layout = exercise.layout
    if len(layout) == 1:  # a forward step: h, or (h, cache) as the package's step functions return
        is_pair = isinstance(result, tuple) and len(result) > 0 and isinstance(result[0], np.ndarray)
        items = [(layout[0], result[0] if is_pair else result)]
    else:
        if not isinstance(result, (tuple, list)) or len(result) != len(layout):
            got = f"{len(result)} values" if isinstance(result, (tuple, list)) else given(result)
            raise _Malformed(f"it returned {got}; expected {len(layout)} values: {exercise.returns}",
                             "wrong_structure")
        items = list(zip(layout, result))
    out: Outputs = {}
    for name, value in items:
        if name != "grads":
            out[name] = value
            continue
        if not isinstance(value, Mapping):
            raise _Malformed(f"grads is {given(value)}; expected a dict with the keys {list(GRAD_NAMES)}",
                             "wrong_structure", "grads")
        missing = [k for k in GRAD_NAMES if k not in value]
        if missing:
            raise _Malformed(f"grads lacks the key(s) {missing}; it has {sorted(map(str, value))}",
                             "wrong_structure", "grads")
        for key, short in GRAD_NAMES.items():
            out[short] = value[key]
    return out


def _check_array(name: str, value: Any, expected: np.ndarray, symbols: str, B: int) -> None:
    shown = display(name)
    if not isinstance(value, np.ndarray):
        raise _Malformed(f"{shown} is {given(value)}; expected a NumPy array of shape {symbols} = "
                         f"{expected.shape}", "wrong_type", name)
    if value.shape != expected.shape:
        message = f"{shown} has shape {value.shape}; expected {symbols} = {expected.shape}"
        if len(value.shape) > 1 and value.shape == expected.shape[::-1]:
            raise _Malformed(message + ": it is transposed (a missing or extra transpose?)", "missing_transpose", name)
        if value.shape == (B, *expected.shape):
            raise _Malformed(message + ": one per batch entry; the batch is summed over (axis 0)",
                             "not_summed_over_batch", name)
        raise _Malformed(message, "wrong_shape", name)
    if value.dtype != np.float64:
        raise _Malformed(f"{shown} has dtype {value.dtype}; expected float64 like the inputs", "wrong_dtype", name)
    if not np.isfinite(value).all():
        raise _Malformed(f"{shown} holds {int((~np.isfinite(value)).sum())} NaN or infinite entries", "not_finite", name)


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    if not isinstance(a, np.ndarray) or a.shape != b.shape or not np.isfinite(a).all():
        return False
    return bool(np.abs(a - b).max() <= TOLERANCE * max(np.abs(b).max(), 1e-300))


def _same(a: Any, b: Any) -> bool:
    """Whether an argument is unchanged (arrays, dicts, tuples and lists of them)."""
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, Mapping):
        return isinstance(b, Mapping) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)):
        return isinstance(b, (tuple, list)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return True


def _changed(names: tuple[str, ...], before: tuple[Any, ...], after: tuple[Any, ...]) -> str | None:
    for name, a, b in zip(names, before, after):
        if isinstance(a, Mapping):
            for key in a:
                if not _same(a[key], b.get(key) if isinstance(b, Mapping) else None):
                    return f"{name}[{key!r}]"
        elif isinstance(a, (tuple, list)):
            for k, item in enumerate(a):
                if not _same(item, b[k] if isinstance(b, (tuple, list)) and k < len(b) else None):
                    return f"{name}[{k}]"
        elif not _same(a, b):
            return name
    return None


def _accepts(fn: Callable[..., Any], keyword: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return keyword in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _check_function(fn: Any, exercise: Exercise, kwargs: Mapping[str, Any]) -> str:
    check_callable("fn", fn, f"the function you wrote, {exercise.name}({', '.join(exercise.arguments)})")
    fname = getattr(fn, "__name__", type(fn).__name__)
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins have none: the call itself will tell
        return fname
    try:
        signature.bind(*exercise.arguments, **kwargs)
    except TypeError as err:
        raise TypeError(f"fn must take the arguments ({', '.join(exercise.arguments)}), like {exercise.name}; "
                        f"{fname}{signature} cannot be called that way ({err})") from None
    return fname


def _where(err: BaseException, fn: Callable[..., Any]) -> str:
    """``' (line 3: a = x @ W_ih)'``: the last line of the reader's own code that the error passed."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return ""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == code.co_filename]
    if not frames:
        return ""
    frame = frames[-1]
    line = (frame.line or "").strip()
    return f" (line {frame.lineno - code.co_firstlineno + 1} of {getattr(fn, '__name__', 'it')}: {line})"


def _exception_verdict(err: Exception, fn: Callable[..., Any], fname: str, case: str, n: int) -> Verdict:
    text = f"{type(err).__name__}: {err}"
    message = f"{fname} failed on {case}: it raised {text}{_where(err, fn)}."
    lowered = str(err).lower()
    if isinstance(err, ValueError) and any(s in lowered for s in ("matmul", "aligned", "broadcast")):
        return Verdict(False, message + "\nLikely cause: a product of arrays whose shapes do not fit. The weights "
                       "are laid out like torch.nn, (gates * H, D) and (gates * H, H), and a batch is a matrix of "
                       "rows, so W x_t is written x @ W.T and W^T delta is written delta @ W.",
                       n, "shape_error")
    return Verdict(False, message, n, "exception")


def _describe_case(n: int, B: int, D: int, H: int, T: int, uses_T: bool) -> str:
    sizes = f"B={B}, D={D}, H={H}" + (f", T={T}" if uses_T else "")
    return f"case {n} of {len(SIZES)} ({sizes})"


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _report_wrong(name: str, yours: np.ndarray, expected: np.ndarray) -> str:
    diff = np.abs(yours - expected)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape)
    index = ", ".join(str(int(i)) for i in worst)
    scale = np.abs(expected).max()
    rel = f"{_fmt(float(diff.max() / scale))}" if scale > 0 else "inf (the reference is all zeros)"
    wrong = int((diff > TOLERANCE * max(scale, 1e-300)).sum())
    return (f"  {display(name)}: {wrong} of {diff.size} entries wrong; worst at [{index}]: yours "
            f"{_fmt(float(yours[worst]))}, expected {_fmt(float(expected[worst]))} "
            f"(max abs error {_fmt(float(diff.max()))}, max rel error {rel})")


def _diagnose(exercise: Exercise, args: tuple[Any, ...], outputs: Outputs, expected: Outputs,
              worst: str) -> tuple[Mistake | None, bool]:
    """The first mistake that explains every output (True), else one that explains the worst (False)."""
    variants = []
    for mistake in exercise.mistakes:
        try:
            with np.errstate(all="ignore"):
                variants.append((mistake, mistake.compute(*copy.deepcopy(args), **exercise.options)))
        except (ValueError, IndexError):  # this mistake would not even run on this case
            continue
    for mistake, variant in variants:
        if all(_close(outputs[k], variant[k]) for k in expected):
            return mistake, True
    for mistake, variant in variants:
        if _close(outputs[worst], variant[worst]) and not _close(variant[worst], expected[worst]):
            return mistake, False
    return None, False


def run_check(exercise: Exercise, fn: Any, verbose: bool = True) -> Verdict:
    """Run ``fn`` against ``exercise``'s reference on every case; print and return the verdict.

    Raises
    ------
    TypeError
        If ``fn`` is not callable or cannot take the exercise's arguments.
    """
    kwargs = {k: v for k, v in exercise.options.items() if callable(fn) and _accepts(fn, k)}
    fname = _check_function(fn, exercise, kwargs)
    if exercise.options:  # say which form was checked, e.g. "my_gru_step_forward (reset_after=True)"
        fname += f" ({', '.join(f'{k}={v}' for k, v in exercise.options.items())})"
    verdict = _run(exercise, fn, fname, kwargs)
    if verbose:
        print(verdict.message)
    return verdict


def _run(exercise: Exercise, fn: Callable[..., Any], fname: str, kwargs: Mapping[str, Any]) -> Verdict:
    rng = np.random.default_rng(exercise.seed)
    for n, (B, D, H, T) in enumerate(SIZES, start=1):
        case = _describe_case(n, B, D, H, T, exercise.uses_T)
        args = exercise.make_case(rng, B, D, H, T)
        expected = exercise.reference(*copy.deepcopy(args), **exercise.options)
        given_args = copy.deepcopy(args)
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                result = fn(*given_args, **kwargs)
        except NotImplementedError:
            return Verdict(False, f"{fname} is not implemented yet (it raised NotImplementedError): "
                           "write its body, then run this cell again.", n, "not_implemented")
        except Exception as err:  # the reader's code failed: say where and why, don't raise
            return _exception_verdict(err, fn, fname, case, n)
        changed = _changed(exercise.arguments, args, given_args)
        if changed is not None:
            return Verdict(False, f"{fname} changed its argument {changed} in place on {case}: a step must "
                           "not modify its inputs (the caller still needs them); compute new arrays instead.",
                           n, "modified_input", changed)
        try:
            outputs = _unpack(result, exercise)
            for name, ref in expected.items():
                _check_array(name, outputs[name], ref, exercise.shapes[name], B)
        except _Malformed as err:
            return Verdict(False, f"{fname} failed on {case}: {err}.", n, err.cause, err.output)
        wrong = [name for name in expected if not _close(outputs[name], expected[name])]
        if not wrong:
            continue
        errors = {name: float(np.abs(outputs[name] - expected[name]).max() / max(np.abs(expected[name]).max(), 1e-300))
                  for name in wrong}
        worst = max(wrong, key=lambda name: errors[name])
        lines = [f"{fname} is wrong on {case}:"]
        lines += [_report_wrong(name, outputs[name], expected[name]) for name in wrong]
        right = [display(name) for name in expected if name not in wrong]
        if right:
            lines.append(f"  correct: {', '.join(right)}")
        mistake, full = _diagnose(exercise, args, outputs, expected, worst)
        if mistake is None:
            lines.append("Likely cause: not one of the common mistakes this checker knows; compare your "
                         f"{display(worst)} with the equations line by line.")
            return Verdict(False, "\n".join(lines), n, "unknown", worst)
        scope = "" if full else f" (this explains {display(worst)}; the other outputs have another mistake)"
        lines.append(f"Likely cause{scope}: {mistake.explanation}")
        return Verdict(False, "\n".join(lines), n, mistake.cause, worst)
    names = list(exercise.shapes)
    agree = f"{names[0]} agrees" if len(names) == 1 else f"all {len(names)} outputs ({', '.join(names)}) agree"
    return Verdict(True, f"{fname} passed: {agree} with the reference on all {len(SIZES)} cases "
                   f"(sizes 1 to 5, tolerance {TOLERANCE:.0e} relative).", len(SIZES))
