"""Argument checks shared by the NumPy and the torch layers.

Bad input must fail early with a message that names the argument, the expected shape or range,
and what was given, instead of surfacing later as a broadcasting error or a silent NaN. The checks
read only ``.shape``, ``.ndim`` and ``.dtype``, so they serve NumPy arrays and torch tensors alike.
"""

from __future__ import annotations

from typing import Any

import numpy as np

NONLINEARITIES = ("tanh", "relu")


def check_size(name: str, value: Any) -> int:
    """Return ``value`` if it is a positive int (a layer size), else raise.

    Raises
    ------
    TypeError
        If ``value`` is not an int (bools are refused too).
    ValueError
        If ``value < 1``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive int, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return int(value)


def check_positive(name: str, value: Any) -> float:
    """Return ``value`` if it is a positive number (a threshold, a rate), else raise ``ValueError``.

    NaN is refused too (``not nan > 0``).
    """
    if not value > 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value


def check_nonlinearity(nonlinearity: Any) -> str:
    """Return ``nonlinearity`` if it is ``"tanh"`` or ``"relu"``, else raise ``ValueError``."""
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")
    return str(nonlinearity)


def _is_floating(dtype: Any) -> bool:
    if isinstance(dtype, np.dtype):
        return bool(np.issubdtype(dtype, np.floating))
    return bool(getattr(dtype, "is_floating_point", False))  # torch.dtype


def check_sequence(X: Any, input_size: int, name: str = "X") -> tuple[int, int]:
    """Check a time-major input sequence of shape ``(T, B, input_size)``; return ``(T, B)``.

    Raises
    ------
    TypeError
        If ``X`` is not an array or tensor of a floating dtype.
    ValueError
        If ``X`` is not 3-D, has an empty time or batch axis, or its last axis is not ``input_size``.
    """
    if not hasattr(X, "shape") or not hasattr(X, "dtype"):
        raise TypeError(f"{name} must be an array of shape (T, B, {input_size}), got {type(X).__name__}")
    if not _is_floating(X.dtype):
        raise TypeError(f"{name} must have a floating dtype, got {X.dtype}")
    shape = tuple(X.shape)
    if len(shape) != 3:
        raise ValueError(
            f"{name} must have shape (T, B, {input_size}) (time-major), got {len(shape)}-D shape {shape}"
        )
    T, B, D = shape
    if T < 1 or B < 1:
        raise ValueError(f"{name} must have at least one time step and one sequence, got shape {shape}")
    if D != input_size:
        raise ValueError(f"{name} must have shape (T, B, {input_size}): last axis is {D}, expected input_size={input_size}")
    return T, B


def check_state(h: Any, batch: int, hidden_size: int, name: str = "h0") -> None:
    """Check a recurrent state of shape ``(B, H)``.

    Raises
    ------
    TypeError
        If ``h`` is not an array or tensor of a floating dtype.
    ValueError
        If its shape is not ``(batch, hidden_size)``.
    """
    if not hasattr(h, "shape") or not hasattr(h, "dtype"):
        raise TypeError(f"{name} must be an array of shape ({batch}, {hidden_size}), got {type(h).__name__}")
    if not _is_floating(h.dtype):
        raise TypeError(f"{name} must have a floating dtype, got {h.dtype}")
    if tuple(h.shape) != (batch, hidden_size):
        raise ValueError(f"{name} must have shape (B, H) = ({batch}, {hidden_size}), got {tuple(h.shape)}")


def check_finite(x: np.ndarray, name: str) -> None:
    """Raise ``ValueError`` if a NumPy array holds NaN or infinity (and say how many)."""
    bad = ~np.isfinite(x)
    if bad.any():
        raise ValueError(f"{name} must be finite, but {int(bad.sum())} of its {x.size} entries are NaN or inf")


def check_state_pair(state: Any, name: str = "state0") -> tuple[Any, Any]:
    """Return the two members ``(h, c)`` of an LSTM state, after checking it is a pair.

    The members' shapes are checked by the caller (with :func:`check_state`), which knows ``B``.

    Raises
    ------
    TypeError
        If ``state`` is not a tuple or list of exactly two items.
    """
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        if isinstance(state, (tuple, list)):
            got = f"a {type(state).__name__} of length {len(state)}"
        else:
            got = f"a single {type(state).__name__}" + (f" of shape {tuple(state.shape)}" if hasattr(state, "shape") else "")
        raise TypeError(f"{name} must be None or a pair (h0, c0) of arrays of shape (B, H) each, got {got}")
    return state[0], state[1]
