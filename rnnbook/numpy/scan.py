"""Linear recurrences and parallel prefix scans (chapter 12), in NumPy.

A recurrence that is linear in its state, :math:`h_t = a_t \\odot h_{t-1} + b_t` (eq. ``scan-linear``),
is a composition of affine maps :math:`h \\mapsto a_t h + b_t`. Composing two of them gives another,

.. math:: (a_1, b_1) \\bullet (a_2, b_2) = (a_2 a_1,\\; a_2 b_1 + b_2)

(first apply 1, then 2: eq. ``scan-combine``), and composition of maps is associative, so all
prefixes :math:`h_1, \\dots, h_T` can be computed by a parallel prefix scan in :math:`O(\\log T)`
rounds instead of :math:`T` steps. :func:`hillis_steele_scan` does :math:`O(T \\log T)` combines in
:math:`\\lceil \\log_2 T \\rceil` rounds; :func:`blelloch_scan` does :math:`O(T)` combines in
:math:`2 \\log_2 T` rounds. Both count their work and depth (:class:`ScanCost`); the rounds run
here one after another, each as one vectorised NumPy operation over the pairs it combines.

Axis convention: time first, ``a, b`` of shape ``(T, ...)`` (e.g. ``(T, B, H)``), ``h0`` of shape ``(...)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScanCost:
    """What a scan cost: ``work`` combines in all, ``depth`` rounds one after another."""

    work: int    # applications of the combine, counted over every element pair of every round
    depth: int   # rounds that must run one after another (each round's combines are independent)


def _check(a: np.ndarray, b: np.ndarray, h0: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    for name, x in (("a", a), ("b", b)):
        if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"{name} must be a floating-point NumPy array, got {type(x).__name__}"
                            f"{' of ' + str(x.dtype) if isinstance(x, np.ndarray) else ''}")
        if x.ndim < 1 or x.shape[0] < 1:
            raise ValueError(f"{name} must have shape (T, ...) with T >= 1, got shape {x.shape}")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape (T, ...), got a {a.shape} and b {b.shape}")
    if h0 is None:
        h0 = np.zeros(a.shape[1:], dtype=b.dtype)
    elif not isinstance(h0, np.ndarray) or h0.shape != a.shape[1:]:
        raise ValueError(f"h0 must be a NumPy array of shape {a.shape[1:]} (a's shape without time), "
                         f"got {getattr(h0, 'shape', type(h0).__name__)}")
    return a, b, h0


def combine(first: tuple[np.ndarray, np.ndarray], second: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The composition of two affine maps: apply ``first``, then ``second`` (eq. ``scan-combine``).

    ``(a1, b1) . (a2, b2) = (a2 a1, a2 b1 + b2)``, because ``a2 (a1 h + b1) + b2 = (a2 a1) h + (a2 b1 + b2)``.
    The identity is ``(1, 0)``. Arrays broadcast elementwise.
    """
    a1, b1 = first
    a2, b2 = second
    return a2 * a1, a2 * b1 + b2


def linear_recurrence(a: np.ndarray, b: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
    """The sequential loop: ``h_t = a_t * h_{t-1} + b_t`` for t = 1..T (eq. ``scan-linear``), T steps of depth.

    Parameters
    ----------
    a, b : ndarray, shape (T, ...)
    h0 : ndarray, shape (...), optional
        The state before the first step; zeros if not given.

    Returns
    -------
    h : ndarray, shape (T, ...)

    Raises
    ------
    TypeError, ValueError
        If ``a``, ``b`` are not floating-point arrays of one shape (T >= 1), or ``h0`` has the wrong shape.
    """
    a, b, h = _check(a, b, h0)
    out = np.empty(np.broadcast_shapes(a.shape, b.shape), dtype=np.result_type(a, b, h))
    for t in range(a.shape[0]):
        h = a[t] * h + b[t]          # h_t = a_t h_{t-1} + b_t
        out[t] = h
    return out


def _fold_h0(a: np.ndarray, b: np.ndarray, h0: np.ndarray) -> np.ndarray:
    """``b`` with ``a_1 h0`` added to its first step, so that a scan of (a, b) from zero gives h."""
    b = b.astype(np.result_type(a, b, h0), copy=True)
    b[0] = a[0] * h0 + b[0]          # h_1 = a_1 h0 + b_1
    return b


def hillis_steele_scan(a: np.ndarray, b: np.ndarray, h0: np.ndarray | None = None) -> tuple[np.ndarray, ScanCost]:
    """All of ``h_1 .. h_T`` by the Hillis-Steele inclusive scan: round d combines each step with the one 2^d before.

    After round d, position t holds the composition of steps ``max(0, t - 2^{d+1} + 1) .. t``; after
    ``ceil(log2 T)`` rounds it holds the whole prefix. Work: ``sum_d (T - 2^d)`` combines (about
    ``T log2 T``), depth ``ceil(log2 T)``.

    Returns
    -------
    h : ndarray, shape (T, ...)
    cost : ScanCost

    Raises
    ------
    TypeError, ValueError
        As :func:`linear_recurrence`.
    """
    a, b, h0 = _check(a, b, h0)
    A, B = a.copy(), _fold_h0(a, b, h0)
    T, shift, work, depth = a.shape[0], 1, 0, 0
    while shift < T:
        # every t >= shift at once: (A, B)[t] <- (A, B)[t - shift] . (A, B)[t]
        A_new, B_new = combine((A[:-shift], B[:-shift]), (A[shift:], B[shift:]))
        A[shift:], B[shift:] = A_new, B_new
        work, depth, shift = work + (T - shift), depth + 1, 2 * shift
    return B, ScanCost(work, depth)


def blelloch_scan(a: np.ndarray, b: np.ndarray, h0: np.ndarray | None = None) -> tuple[np.ndarray, ScanCost]:
    """All of ``h_1 .. h_T`` by the work-efficient Blelloch scan: an up-sweep (a reduction tree) and a down-sweep.

    The sequence is padded with identities ``(1, 0)`` to a power of two ``N``. The up-sweep leaves
    partial compositions at the tree's nodes (N - 1 combines, log2 N rounds); the down-sweep turns
    them into the exclusive prefixes (N - 1 combines, log2 N rounds); one last combine per step with
    its own ``(a_t, b_t)`` makes them inclusive (T combines, one round). Work about 2N + T, depth
    ``2 log2 N + 1``.

    Returns
    -------
    h : ndarray, shape (T, ...)
    cost : ScanCost

    Raises
    ------
    TypeError, ValueError
        As :func:`linear_recurrence`.
    """
    a, b, h0 = _check(a, b, h0)
    b = _fold_h0(a, b, h0)
    T = a.shape[0]
    N = 1 << (T - 1).bit_length()                      # the next power of two
    A = np.ones((N, *a.shape[1:]), dtype=b.dtype)      # identity (1, 0) in the padding
    B = np.zeros((N, *a.shape[1:]), dtype=b.dtype)
    A[:T], B[:T] = a, b
    work = depth = 0
    d = 1
    while d < N:                                       # up-sweep: node i (right child) absorbs its left sibling
        left, right = slice(d - 1, N, 2 * d), slice(2 * d - 1, N, 2 * d)
        A[right], B[right] = combine((A[left], B[left]), (A[right], B[right]))
        work, depth, d = work + N // (2 * d), depth + 1, 2 * d
    A[N - 1], B[N - 1] = 1.0, 0.0                      # the root gets the identity: the exclusive prefix of step 1
    d = N // 2
    while d >= 1:                                      # down-sweep: pass prefixes to the children
        left, right = slice(d - 1, N, 2 * d), slice(2 * d - 1, N, 2 * d)
        A_left, B_left = A[left].copy(), B[left].copy()
        A[left], B[left] = A[right], B[right]          # the left child gets its parent's prefix
        A[right], B[right] = combine((A[right], B[right]), (A_left, B_left))  # the right child: prefix, then left subtree
        work, depth, d = work + N // (2 * d), depth + 1, d // 2
    _, h = combine((A[:T], B[:T]), (a, b))             # exclusive prefix, then the step itself: inclusive
    return h, ScanCost(work + T, depth + 1)
