"""Elementwise nonlinearities and their derivatives, written in terms of the outputs.

For the recurrent layers the derivative is cheapest from the value already computed in the
forward pass: :math:`\\tanh' = 1 - \\tanh^2`, :math:`\\sigma' = \\sigma (1 - \\sigma)`.
"""

from __future__ import annotations

import numpy as np

from rnnbook.checks import check_nonlinearity


def sigmoid(a: np.ndarray) -> np.ndarray:
    """:math:`\\sigma(a) = 1 / (1 + e^{-a})`, computed without overflow for large ``|a|``."""
    e = np.exp(-np.abs(a))  # in (0, 1]: never overflows
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def relu(a: np.ndarray) -> np.ndarray:
    """:math:`\\max(a, 0)`."""
    return np.maximum(a, 0.0)


def activate(a: np.ndarray, nonlinearity: str) -> np.ndarray:
    """Apply ``"tanh"`` or ``"relu"`` (the vanilla RNN's choices).

    Raises
    ------
    ValueError
        If ``nonlinearity`` is neither (a typo must not silently select relu).
    """
    return np.tanh(a) if check_nonlinearity(nonlinearity) == "tanh" else relu(a)


def activate_grad(h: np.ndarray, nonlinearity: str) -> np.ndarray:
    """The derivative :math:`\\phi'(a)` given the output :math:`h = \\phi(a)`.

    tanh: :math:`1 - h^2`; relu: :math:`1` where :math:`h > 0`, else :math:`0`.

    Raises
    ------
    ValueError
        If ``nonlinearity`` is not ``"tanh"`` or ``"relu"``.
    """
    return 1.0 - h * h if check_nonlinearity(nonlinearity) == "tanh" else (h > 0).astype(h.dtype)
