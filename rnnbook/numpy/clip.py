"""Gradient clipping for the NumPy layers (chapter 2): by global norm, or entry by entry.

Clipping by global norm rescales every gradient by the same factor, so the update keeps its
direction and only its length is capped. Clipping each entry to ``[-c, c]`` (as min-char-rnn
does) changes the direction whenever some entries are clipped and others are not.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rnnbook.checks import check_positive


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """:math:`\\sqrt{\\sum_k \\lVert g_k \\rVert_F^2}` over all arrays in ``grads``."""
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
    ValueError
        If ``max_norm`` is not positive, or the norm is NaN or infinite.
    """
    check_positive("max_norm", max_norm)
    norm = global_norm(grads)
    if not np.isfinite(norm):
        raise ValueError(f"the gradients' global norm is {norm}: clipping cannot repair NaN or inf")
    scale = min(1.0, max_norm / (norm + 1e-12))
    return {name: g * scale for name, g in grads.items()}, norm


def clip_grad_value(grads: Mapping[str, np.ndarray], clip_value: float) -> dict[str, np.ndarray]:
    """Clip every entry to ``[-clip_value, clip_value]`` (returns new arrays).

    Raises
    ------
    ValueError
        If ``clip_value`` is not positive.
    """
    check_positive("clip_value", clip_value)
    return {name: np.clip(g, -clip_value, clip_value) for name, g in grads.items()}
