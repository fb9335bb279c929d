"""Gradient clipping for the NumPy layers (chapter 2): by global norm, or entry by entry.

Clipping by global norm rescales every gradient by the same factor, so the update keeps its
direction and only its length is capped. Clipping each entry to ``[-c, c]`` (as min-char-rnn
does) changes the direction whenever some entries are clipped and others are not.

Non-finite gradients: both functions raise ``ValueError`` naming the gradient that holds NaN or inf,
before computing anything, as ``torch.nn.utils.clip_grad_norm_(..., error_if_nonfinite=True)``
does; ``rnnbook.torch.clip`` does the same. Clipping cannot repair a NaN, and scaling an infinite
gradient would turn it into NaN and zeros without a word.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rnnbook.checks import check_finite, check_positive, given


def _checked(grads: Mapping[str, np.ndarray]) -> Mapping[str, np.ndarray]:
    """``grads`` after checking it maps names to finite floating arrays (the policy above)."""
    if not isinstance(grads, Mapping):
        raise TypeError(f"grads must be a mapping of names to gradient arrays, got {given(grads)}")
    for name, g in grads.items():
        if not isinstance(g, np.ndarray) or not np.issubdtype(g.dtype, np.floating):
            raise TypeError(f"grads[{name!r}] must be a floating ndarray, got {given(g)}")
        check_finite(g, f"grads[{name!r}]", ": clipping cannot repair NaN or inf")
    return grads


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """:math:`\\sqrt{\\sum_k \\lVert g_k \\rVert_F^2}` over all arrays in ``grads``.

    NaN if a gradient holds NaN, inf if one holds inf or the sum of squares overflows.
    """
    with np.errstate(over="ignore"):
        return float(np.sqrt(sum(float(np.sum(np.square(g))) for g in grads.values())))


def clip_grad_norm(grads: Mapping[str, np.ndarray], max_norm: float) -> tuple[dict[str, np.ndarray], float]:
    """Scale all gradients by :math:`\\min(1, \\text{max\\_norm} / \\lVert g \\rVert)`.

    Parameters
    ----------
    grads : mapping of name to ndarray
        The gradients to clip together (pass the parameters' gradients, not those of the inputs).
    max_norm : float
        The largest global norm allowed; positive.

    Returns
    -------
    clipped : dict of ndarray
        New arrays; ``grads`` is not modified.
    norm : float
        The global norm before clipping.

    Raises
    ------
    TypeError
        If ``max_norm`` is not a number, or ``grads`` does not map names to floating arrays.
    ValueError
        If ``max_norm`` is not positive and finite, or a gradient holds NaN or inf (named), or the
        norm overflows.
    """
    check_positive("max_norm", max_norm)
    norm = global_norm(_checked(grads))
    if not np.isfinite(norm):
        raise ValueError(f"the gradients' global norm is {norm}: clipping cannot repair NaN or inf")
    scale = min(1.0, max_norm / (norm + 1e-12))
    return {name: g * scale for name, g in grads.items()}, norm


def clip_grad_value(grads: Mapping[str, np.ndarray], clip_value: float) -> dict[str, np.ndarray]:
    """Clip every entry to ``[-clip_value, clip_value]`` (returns new arrays).

    Raises
    ------
    TypeError
        If ``clip_value`` is not a number, or ``grads`` does not map names to floating arrays.
    ValueError
        If ``clip_value`` is not positive and finite, or a gradient holds NaN or inf (named).
    """
    check_positive("clip_value", clip_value)
    return {name: np.clip(g, -clip_value, clip_value) for name, g in _checked(grads).items()}
