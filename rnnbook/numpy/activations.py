"""Elementwise nonlinearities and their derivatives, written in terms of the outputs.

For the recurrent layers the derivative is cheapest from the value already computed in the
forward pass: :math:`\\tanh' = 1 - \\tanh^2`, :math:`\\sigma' = \\sigma (1 - \\sigma)`.

Near saturation, :math:`|h| \\to 1`, write :math:`1 - h^2` as :math:`(1 - h)(1 + h)`: both factors
are exact in floating point (Sterbenz), so the result is :math:`1 - h^2` correctly rounded to 1 ulp,
as exact as the rounded :math:`h` allows, and what ``torch``'s own ``tanh`` backward computes.
``1 - h * h`` rounds :math:`h^2` to an ulp *of 1* first, and was off by up to
:math:`3.7 \\times 10^{-9}` relative for :math:`a \\in [0, 15]` (issue 9; ``tests/test_rnn.py``).

What no formula in :math:`h` can recover is the rounding of :math:`h` itself: it makes
:math:`1 - h^2` uncertain by about :math:`\\varepsilon / (1 - h^2)` relative
(:math:`\\varepsilon = 2.2 \\times 10^{-16}`), for ``torch.nn`` as for us. In a saturated layer this
shows in single gradient entries (about :math:`10^{-11}` with weights six times the default scale),
not in the max-normalised :func:`rnnbook.gradcheck.relative_error` that the parity tests bound by
:math:`10^{-12}`: the entries that pass through saturated units are the small ones.
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

    tanh: :math:`1 - h^2`, computed as :math:`(1 - h)(1 + h)` (see the module docstring);
    relu: :math:`1` where :math:`h > 0`, else :math:`0`.

    Raises
    ------
    ValueError
        If ``nonlinearity`` is not ``"tanh"`` or ``"relu"``.
    """
    return (1.0 - h) * (1.0 + h) if check_nonlinearity(nonlinearity) == "tanh" else (h > 0).astype(h.dtype)
