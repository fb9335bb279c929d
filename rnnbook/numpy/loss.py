"""Softmax and cross-entropy in NumPy, stable for any finite logits (chapter 5).

For logits :math:`a \\in \\mathbb{R}^V` and a target class :math:`y \\in \\{0, \\dots, V-1\\}`::

    softmax(a)_k = exp(a_k) / sum_j exp(a_j)                              (softmax)
    log softmax(a)_k = a_k - m - log sum_j exp(a_j - m),   m = max_j a_j   (log-sum-exp)
    L = -log softmax(a)_y                                                 (cross-entropy)
    dL/da = softmax(a) - onehot(y)                                        (ce-grad)

Subtracting the maximum :math:`m` changes nothing mathematically (it cancels) but keeps every
exponent :math:`\\le 0`: ``exp`` can underflow to 0 (harmless) and never overflows, so logits of
:math:`\\pm 10^4` are fine, where ``exp(1e4)`` alone is inf. Over a batch of :math:`N` predictions
the loss is the mean, and the gradient of each row is divided by :math:`N`.

Logits may have any leading shape ``(..., V)`` (a language model's are ``(T, B, V)``); targets then
have the leading shape ``(...)`` and hold integer class indices, never one-hot rows or floats.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnbook.checks import check_finite, given


def _check_logits(logits: Any, name: str = "logits") -> np.ndarray:
    """``logits`` as a floating array of shape (..., V) with V >= 1, finite."""
    if not isinstance(logits, np.ndarray) or logits.dtype.kind != "f":
        raise TypeError(f"{name} must be a floating NumPy array of shape (..., V), got {given(logits)}")
    if logits.ndim < 1 or logits.shape[-1] < 1:
        raise ValueError(f"{name} must have shape (..., V) with at least one class, got shape {logits.shape}")
    check_finite(logits, name)
    return logits


def _check_targets(logits: np.ndarray, targets: Any) -> np.ndarray:
    """``targets`` as an integer array of shape ``logits.shape[:-1]`` with values in [0, V)."""
    V = logits.shape[-1]
    expected = f"an integer array of shape {logits.shape[:-1]} (logits' shape without the class axis V={V})"
    if isinstance(targets, (int, np.integer)) and not isinstance(targets, (bool, np.bool_)):
        targets = np.asarray(targets)
    if not isinstance(targets, np.ndarray) or targets.dtype.kind not in "iu":
        hint = " (class indices, not one-hot rows or floats: use y.argmax(-1) or y.astype(int))" \
            if isinstance(targets, np.ndarray) and targets.dtype.kind in "fb" else ""
        raise TypeError(f"targets must be {expected}, got {given(targets)}{hint}")
    if targets.shape != logits.shape[:-1]:
        hint = " (one-hot targets? pass class indices)" if targets.shape == logits.shape else ""
        raise ValueError(f"targets must be {expected}, got shape {targets.shape}{hint}")
    if targets.size and (targets.min() < 0 or targets.max() >= V):
        raise ValueError(f"targets must be class indices in [0, {V}), got values from {targets.min()} to {targets.max()}")
    return targets


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """:math:`\\log \\mathrm{softmax}(a)` over the last axis, by log-sum-exp (eq. ``log-sum-exp``).

    Parameters
    ----------
    logits : ndarray of float, shape (..., V)

    Returns
    -------
    ndarray, shape (..., V)
        Finite for any finite logits; ``exp`` of a row sums to 1.

    Raises
    ------
    TypeError, ValueError
        If ``logits`` is not a floating array with a non-empty last axis, or holds NaN or inf.
    """
    a = _check_logits(logits)
    m = a.max(axis=-1, keepdims=True)                         # m = max_j a_j
    shifted = a - m                                           # every entry <= 0: exp cannot overflow
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))  # a_k - m - log sum_j exp(a_j - m)


def softmax(logits: np.ndarray) -> np.ndarray:
    """:math:`\\mathrm{softmax}(a)_k = e^{a_k} / \\sum_j e^{a_j}` over the last axis (eq. ``softmax``), stably.

    Raises
    ------
    TypeError, ValueError
        As :func:`log_softmax`.
    """
    a = _check_logits(logits)
    e = np.exp(a - a.max(axis=-1, keepdims=True))  # exp(a_k - m): at most 1
    return e / e.sum(axis=-1, keepdims=True)        # the sum is at least 1 (the maximum's term)


def cross_entropy(logits: np.ndarray, targets: np.ndarray) -> float:
    """The mean cross-entropy :math:`\\frac{1}{N} \\sum_n -\\log \\mathrm{softmax}(a_n)_{y_n}` (eq. ``cross-entropy``).

    Parameters
    ----------
    logits : ndarray of float, shape (..., V)
        Unnormalised scores, one row of V per prediction (N rows in all).
    targets : ndarray of int, shape (...)
        The class index of each prediction, in ``[0, V)``.

    Returns
    -------
    float
        The mean loss in nats (divide by :math:`\\ln 2` for bits).

    Raises
    ------
    TypeError
        If ``logits`` is not a floating array, or ``targets`` is not an integer array (floats and
        one-hot rows are refused: they are the sources' bug, not a format to guess).
    ValueError
        If the shapes do not match, a target is outside ``[0, V)``, there is no prediction, or a
        logit is NaN or inf.

    Examples
    --------
    >>> round(cross_entropy(np.zeros((2, 4)), np.array([0, 3])), 6) == round(np.log(4), 6)
    True
    """
    a = _check_logits(logits)
    y = _check_targets(a, targets)
    if y.size == 0:
        raise ValueError(f"logits must hold at least one prediction, got shape {a.shape}")
    logp = log_softmax(a).reshape(-1, a.shape[-1])                # (N, V)
    return float(-logp[np.arange(y.size), y.reshape(-1)].mean())  # -1/N sum_n log p_n[y_n]


def cross_entropy_grad(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """:math:`\\partial L / \\partial a` of :func:`cross_entropy`: :math:`(\\mathrm{softmax}(a) - \\mathrm{onehot}(y)) / N` (eq. ``ce-grad``).

    Parameters
    ----------
    logits : ndarray of float, shape (..., V)
    targets : ndarray of int, shape (...)

    Returns
    -------
    ndarray, shape (..., V)
        Each row sums to 0 (the softmax sums to 1, the one-hot row too).

    Raises
    ------
    TypeError, ValueError
        As :func:`cross_entropy`.
    """
    return cross_entropy_with_grad(logits, targets)[1]


def cross_entropy_with_grad(logits: np.ndarray, targets: np.ndarray) -> tuple[float, np.ndarray]:
    """:func:`cross_entropy` and :func:`cross_entropy_grad` from one exponential of the shifted logits (what a
    training step needs).

    Raises
    ------
    TypeError, ValueError
        As :func:`cross_entropy`.
    """
    a = _check_logits(logits)
    y = _check_targets(a, targets)
    if y.size == 0:
        raise ValueError(f"logits must hold at least one prediction, got shape {a.shape}")
    V, N = a.shape[-1], y.size
    rows, cols = np.arange(N), y.reshape(-1)
    shifted = a.reshape(N, V) - a.reshape(N, V).max(axis=1, keepdims=True)  # a - m: every entry <= 0
    e = np.exp(shifted)                                  # one exp serves the loss and the gradient
    s = e.sum(axis=1)
    loss = float(np.mean(np.log(s) - shifted[rows, cols]))  # L = 1/N sum_n -log softmax(a_n)[y_n]
    grad = e
    grad *= (1.0 / (N * s))[:, None]                     # softmax(a_n) / N           (N, V)
    grad[rows, cols] -= 1.0 / N                          # - onehot(y_n) / N
    return loss, grad.reshape(a.shape).astype(a.dtype, copy=False)
