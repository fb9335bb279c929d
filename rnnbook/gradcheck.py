"""Finite-difference gradient checking, for every hand-written backward pass in the book.

The central difference :math:`(L(\\theta + \\epsilon e_k) - L(\\theta - \\epsilon e_k)) / 2\\epsilon`
approximates :math:`\\partial L / \\partial \\theta_k` with an error of order :math:`\\epsilon^2`
(plus rounding of order :math:`\\varepsilon_{\\text{mach}} / \\epsilon`), so in float64 with
:math:`\\epsilon = 10^{-6}` a correct gradient agrees to about :math:`10^{-8}` or better and a
wrong one is off by order 1. Large tensors are checked on a random sample of entries.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np


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
        If ``x`` is not a float64 array (central differences in float32 are too coarse to judge by).
    ValueError
        If ``eps`` is not positive or ``f`` does not return a finite scalar.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise TypeError(f"x must be a float64 ndarray, got {type(x).__name__} of dtype {getattr(x, 'dtype', None)}")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps}")
    flat = x.reshape(-1)  # a view: writing flat[k] perturbs x
    if not np.shares_memory(flat, x):
        raise ValueError("x must be contiguous so that it can be perturbed in place")
    idx = np.arange(flat.size) if indices is None else np.asarray(indices)
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

    ``rel_error`` is :math:`\\lVert a - n \\rVert / \\max(\\lVert a \\rVert + \\lVert n \\rVert, 10^{-300})`
    over the checked entries (0 when both vanish): scale-free, and near 1 for a wrong gradient.
    """

    name: str
    rel_error: float
    max_abs_error: float
    checked: int
    size: int


@dataclass(frozen=True)
class GradcheckReport:
    """The result of :func:`check_gradients`: one :class:`GradientCheck` per array."""

    checks: tuple[GradientCheck, ...]

    @property
    def max_rel_error(self) -> float:
        return max(c.rel_error for c in self.checks)

    def ok(self, tol: float = 1e-6) -> bool:
        """True if every array's relative error is at most ``tol``."""
        return all(c.rel_error <= tol for c in self.checks)

    def assert_ok(self, tol: float = 1e-6) -> None:
        """Raise ``AssertionError`` naming every array whose relative error exceeds ``tol``."""
        bad = [c for c in self.checks if not c.rel_error <= tol]
        if bad:
            raise AssertionError(f"gradient check failed (tol={tol:g}):\n" + "\n".join(
                f"  {c.name}: relative error {c.rel_error:.3e}" for c in bad))

    def table(self, tol: float = 1e-6) -> str:
        """A table of the arrays, the entries checked, and whether each relative error is within ``tol``.

        Verdicts rather than digits: an error of 1e-10 may print as 0.98e-10 or 1.02e-10 on another
        machine, but it is below 1e-8 on every machine.
        """
        w = max(len(c.name) for c in self.checks)
        lines = [f"{'array':<{w}}  {'checked':>11}  relative error"]
        lines += [f"{c.name:<{w}}  {c.checked:>5}/{c.size:<5}  "
                  + (f"below {tol:g}" if c.rel_error <= tol else f"ABOVE {tol:g}") for c in self.checks]
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
    KeyError
        If a name in ``arrays`` has no analytic gradient.
    ValueError
        If an analytic gradient's shape differs from its array's.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    checks = []
    for name, x in arrays.items():
        if name not in analytic:
            raise KeyError(f"no analytic gradient for {name!r}; analytic has {sorted(analytic)}")
        a = np.asarray(analytic[name], dtype=np.float64)
        if a.shape != x.shape:
            raise ValueError(f"analytic[{name!r}] has shape {a.shape}, but the array has shape {x.shape}")
        idx = np.arange(x.size) if x.size <= max_entries else rng.choice(x.size, max_entries, replace=False)
        n = numerical_gradient(f, x, eps, idx)
        a_sel = a.reshape(-1)[idx]
        denom = np.linalg.norm(a_sel) + np.linalg.norm(n)
        rel = float(np.linalg.norm(a_sel - n) / denom) if denom > 1e-300 else 0.0
        checks.append(GradientCheck(name, rel, float(np.abs(a_sel - n).max()), idx.size, x.size))
    return GradcheckReport(tuple(checks))


def relative_error(a: object, b: object) -> float:
    """:math:`\\max |a - b| / \\max |b|`: the error of ``a`` relative to the scale of the reference ``b``.

    Takes NumPy arrays or torch tensors (any device). Used by the parity checks of every chapter.

    If ``b`` is all zeros the error is 0 when ``a`` is too, and infinite otherwise.

    Raises
    ------
    ValueError
        If the shapes differ.
    """
    a, b = (np.asarray(v.detach().cpu() if hasattr(v, "detach") else v, dtype=np.float64) for v in (a, b))
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    scale = np.abs(b).max()
    if scale == 0:
        return 0.0 if not np.any(a) else float("inf")
    return float(np.abs(a - b).max() / scale)


def error_bound(err: float) -> str:
    """The smallest power of ten above ``err``, as text: ``2.2e-16`` gives ``'< 1e-15'``.

    Chapters print this rather than the error itself, whose last digit depends on the machine's
    floating-point kernels; the bound does not.
    """
    if not err >= 0 or not np.isfinite(err):
        raise ValueError(f"err must be a finite non-negative number, got {err}")
    if err == 0:
        return "= 0"
    return f"< 1e{int(np.floor(np.log10(err))) + 1}"
