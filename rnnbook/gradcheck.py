"""Finite-difference gradient checking, for every hand-written backward pass in the book.

The central difference :math:`(L(\\theta + \\epsilon e_k) - L(\\theta - \\epsilon e_k)) / 2\\epsilon`
approximates :math:`\\partial L / \\partial \\theta_k` with an error of order :math:`\\epsilon^2`
(plus rounding of order :math:`\\varepsilon_{\\text{mach}} / \\epsilon`), so in float64 with
:math:`\\epsilon = 10^{-6}` a correct gradient agrees to about :math:`10^{-8}` or better, and a
wrong one is off by many orders of magnitude more, typically :math:`10^{-2}` to 1 (dropping the
recurrent term of BPTT, chapter 2's classic bug, gives about 0.1). Large tensors are checked on a
random sample of entries.

A check must not be able to pass a wrong answer: NaN or infinity anywhere in an analytic gradient,
or in a finite-difference estimate, fails the check (the relative error is then reported as
infinite), and :func:`relative_error` refuses complex inputs instead of dropping their imaginary part.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from rnnbook.checks import (StateDictError, as_real_array, check_callable, check_finite, check_positive,
                            check_size, count_nonfinite, given)


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6,
                       indices: np.ndarray | None = None) -> np.ndarray:
    """Central differences of ``f`` with respect to the entries of ``x``, perturbed in place.

    Parameters
    ----------
    f : callable
        Takes no argument and returns the scalar loss, reading ``x`` (and anything else) as it is now.
    x : ndarray, float64
        The array to perturb. Each entry is restored exactly after use.
    eps : float
        The step :math:`\\epsilon`.
    indices : ndarray of int, optional
        Flat indices of the entries to differentiate; all entries if omitted.

    Returns
    -------
    ndarray
        The estimates at ``indices`` (flat, in that order), or of shape ``x.shape`` if all.

    Raises
    ------
    TypeError
        If ``x`` is not a float64 array (central differences in float32 are too coarse to judge by),
        ``f`` is not callable, or ``indices`` are not integers.
    ValueError
        If ``x`` is empty, read-only, not contiguous or not finite, ``eps`` is not positive,
        ``indices`` are out of range, or ``f`` does not return a finite scalar.
    """
    check_callable("f", f, "a function of no arguments returning the loss")
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(f"x must be a float64 ndarray, got {type(x).__name__} of dtype {getattr(x, 'dtype', None)}")
    if x.size == 0:
        raise ValueError(f"x must have at least one entry to differentiate, got shape {x.shape}")
    if not x.flags.writeable:
        raise ValueError("x must be writeable: its entries are perturbed in place")
    check_finite(x, "x")
    eps = check_positive("eps", eps)
    flat = x.reshape(-1)  # a view: writing flat[k] perturbs x
    if not np.shares_memory(flat, x):
        raise ValueError(f"x must be contiguous so that it can be perturbed in place, got strides {x.strides}")
    idx = np.arange(flat.size) if indices is None else np.asarray(indices)
    if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
        raise TypeError(f"indices must be a 1-D array of ints (flat indices), got {given(idx)}")
    if idx.size and (idx.min() < 0 or idx.max() >= flat.size):
        raise ValueError(f"indices must be flat indices in [0, {flat.size}), got values from {idx.min()} to {idx.max()}")
    out = np.empty(idx.size, dtype=np.float64)
    for n, k in enumerate(idx):
        old = flat[k]
        flat[k] = old + eps
        f_plus = f()
        flat[k] = old - eps
        f_minus = f()
        flat[k] = old
        if not (np.isscalar(f_plus) or np.ndim(f_plus) == 0) or not np.isfinite([f_plus, f_minus]).all():
            raise ValueError(f"f must return a finite scalar, got {f_plus!r} and {f_minus!r}")
        out[n] = (f_plus - f_minus) / (2 * eps)
    return out.reshape(x.shape) if indices is None else out


@dataclass(frozen=True)
class GradientCheck:
    """The comparison of one array's analytic gradient with finite differences.

    ``rel_error`` is :math:`\\lVert a - n \\rVert / (\\lVert a \\rVert + \\lVert n \\rVert)`
    over the checked entries (0 when both vanish): scale-free, at most 1, and 1e-2 to 1 for a wrong
    gradient. ``nonfinite`` counts the NaN/inf entries of the whole analytic gradient and of the
    estimates; if it is not 0 the check fails whatever ``rel_error`` says (which is then inf).
    """

    name: str
    rel_error: float
    max_abs_error: float
    checked: int
    size: int
    nonfinite: int = 0

    def ok(self, tol: float = 1e-6) -> bool:
        """True if the gradient is finite and its relative error is at most ``tol``."""
        return self.nonfinite == 0 and self.rel_error <= tol


@dataclass(frozen=True)
class GradcheckReport:
    """The result of :func:`check_gradients`: one :class:`GradientCheck` per array."""

    checks: tuple[GradientCheck, ...]

    @property
    def max_rel_error(self) -> float:
        return max(c.rel_error for c in self.checks)

    def ok(self, tol: float = 1e-6) -> bool:
        """True if every array's gradient is finite and its relative error is at most ``tol``."""
        return all(c.ok(tol) for c in self.checks)

    def assert_ok(self, tol: float = 1e-6) -> None:
        """Raise ``AssertionError`` naming every array whose gradient is not finite or whose
        relative error exceeds ``tol``."""
        bad = [c for c in self.checks if not c.ok(tol)]
        if bad:
            raise AssertionError(f"gradient check failed (tol={tol:g}):\n" + "\n".join(
                f"  {c.name}: " + (f"{c.nonfinite} NaN/inf entries" if c.nonfinite else f"relative error {c.rel_error:.3e}")
                for c in bad))

    def table(self, tol: float = 1e-6) -> str:
        """A table of the arrays, the entries checked, and whether each relative error is within ``tol``.

        Verdicts rather than digits: an error of 1e-10 may print as 0.98e-10 or 1.02e-10 on another
        machine, but it is below 1e-8 on every machine.
        """
        w = max(len(c.name) for c in self.checks)
        lines = [f"{'array':<{w}}  {'checked':>11}  relative error"]
        lines += [f"{c.name:<{w}}  {c.checked:>5}/{c.size:<5}  "
                  + ("NOT FINITE (NaN/inf)" if c.nonfinite else f"below {tol:g}" if c.ok(tol) else f"ABOVE {tol:g}")
                  for c in self.checks]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


def check_gradients(f: Callable[[], float], arrays: Mapping[str, np.ndarray],
                    analytic: Mapping[str, np.ndarray], eps: float = 1e-6, max_entries: int = 64,
                    rng: np.random.Generator | None = None) -> GradcheckReport:
    """Compare analytic gradients with central differences, array by array.

    Parameters
    ----------
    f : callable
        Returns the scalar loss computed from the current contents of ``arrays``.
    arrays : mapping of name to float64 ndarray
        The inputs and parameters to check; perturbed in place and restored.
    analytic : mapping of name to ndarray
        The hand-written gradients, same names and shapes as ``arrays``.
    eps : float
        Finite-difference step.
    max_entries : int
        Arrays with more entries are checked on a random sample of this many.
    rng : numpy.random.Generator, optional
        Chooses the sample (seeded with 0 if omitted, so a check is repeatable).

    Returns
    -------
    GradcheckReport

    Raises
    ------
    rnnbook.checks.StateDictError
        If a name in ``arrays`` has no analytic gradient (a ``KeyError`` and a ``ValueError``).
    TypeError
        If ``arrays`` or ``analytic`` is not a mapping, an analytic gradient is complex or not
        numeric, or ``rng`` is not a Generator.
    ValueError
        If ``arrays`` is empty, an analytic gradient's shape differs from its array's, or
        ``max_entries`` is not a positive int (and as :func:`numerical_gradient`).

    Notes
    -----
    NaN or inf in an analytic gradient fails the check (``ok()`` is False, ``assert_ok`` raises,
    the table says NOT FINITE); so does a finite-difference estimate that overflows.
    """
    for arg, value in (("arrays", arrays), ("analytic", analytic)):
        if not isinstance(value, Mapping):
            raise TypeError(f"{arg} must be a mapping of names to arrays, got {type(value).__name__}")
    if not arrays:
        raise ValueError("arrays must name at least one array to check, got an empty mapping")
    max_entries = check_size("max_entries", max_entries)
    if rng is None:
        rng = np.random.default_rng(0)
    elif not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator or None, got {type(rng).__name__}")
    checks = []
    for name, x in arrays.items():
        if name not in analytic:
            raise StateDictError(f"no analytic gradient for {name!r}; analytic has {sorted(analytic)}")
        a = as_real_array(f"analytic[{name!r}]", analytic[name])
        if a.shape != getattr(x, "shape", None):
            raise ValueError(f"analytic[{name!r}] has shape {a.shape}, but the array has shape {getattr(x, 'shape', None)}")
        idx = np.arange(x.size) if x.size <= max_entries else rng.choice(x.size, max_entries, replace=False)
        n = numerical_gradient(f, x, eps, idx)
        a_sel = a.reshape(-1)[idx]
        nonfinite = count_nonfinite(a) + count_nonfinite(n)
        if nonfinite:  # NaN would make every comparison below False, and the check pass
            rel, max_abs = float("inf"), float("inf")
        else:
            denom = np.linalg.norm(a_sel) + np.linalg.norm(n)
            rel = float(np.linalg.norm(a_sel - n) / denom) if denom > 0 else 0.0
            max_abs = float(np.abs(a_sel - n).max())
        checks.append(GradientCheck(name, rel, max_abs, idx.size, x.size, nonfinite))
    return GradcheckReport(tuple(checks))


def relative_error(a: object, b: object) -> float:
    """:math:`\\max |a - b| / \\max |b|`: the error of ``a`` relative to the scale of the reference ``b``.

    Takes NumPy arrays or torch tensors (any device). Used by the parity checks of every chapter.

    If ``b`` is all zeros the error is 0 when ``a`` is too, and infinite otherwise. If either holds
    NaN or infinity the result is NaN (or inf), never a number below a tolerance: ``err < tol`` is
    then False, so a parity check cannot pass on a NaN.

    Raises
    ------
    TypeError
        If either is complex (the imaginary part would be dropped silently), bool or not numeric.
    ValueError
        If the shapes differ, or they are empty.
    """
    a, b = as_real_array("a", a), as_real_array("b", b)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        raise ValueError(f"a and b must not be empty, got shape {a.shape}")
    if count_nonfinite(a) or count_nonfinite(b):
        with np.errstate(invalid="ignore"):  # inf - inf is NaN, as it should be here
            diff = np.abs(a - b)
        return float("nan") if np.isnan(diff).any() or np.isnan(b).any() else float("inf")
    scale = np.abs(b).max()
    if scale == 0:
        return 0.0 if not np.any(a) else float("inf")
    with np.errstate(over="ignore"):  # a difference beyond float64's range is an infinite error
        return float(np.abs(a - b).max() / scale)


def error_bound(err: float) -> str:
    """The smallest power of ten above ``err``, as text: ``2.2e-16`` gives ``'< 1e-15'``.

    Chapters print this rather than the error itself, whose last digit depends on the machine's
    floating-point kernels; the bound does not.
    """
    if isinstance(err, (bool, np.bool_)) or not isinstance(err, (int, float, np.integer, np.floating)):
        raise TypeError(f"err must be a finite non-negative number, got {type(err).__name__} {err!r}")
    if not err >= 0 or not np.isfinite(err):
        raise ValueError(f"err must be a finite non-negative number, got {err}")
    if err == 0:
        return "= 0"
    return f"< 1e{int(np.floor(np.log10(err))) + 1}"
