"""What every NumPy recurrent layer shares: parameter creation, layout and state dicts.

A layer with ``G`` gate blocks (1 for the vanilla RNN, 4 for the LSTM, 3 for the GRU) holds
exactly the parameters of the matching ``torch.nn`` cell, stacked the same way::

    weight_ih  (G*H, D)    weight_hh  (G*H, H)    bias_ih  (G*H,)    bias_hh  (G*H,)

so a state dict moves between this layer, ``rnnbook.torch`` and ``torch.nn`` unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from rnnbook.checks import (NoForwardError, as_real_array, check_finite, check_float_dtype, check_rng, check_sequence, check_size,
                            check_state, check_state_dict, param_shapes)
from rnnbook.state import rename_keys


class RecurrentLayer:
    """Base of the NumPy layers: holds ``params`` and moves them in and out.

    Parameters
    ----------
    input_size : int
        D, the size of each input vector :math:`x_t`.
    hidden_size : int
        H, the size of the hidden state :math:`h_t`.
    rng : numpy.random.Generator, optional
        Where the initial weights are drawn from; pass one for reproducible layers.
    dtype : numpy dtype, default float64
        float64 for gradient checks and parity tests; float32 is allowed.

    Notes
    -----
    Weights start uniform in :math:`[-1/\\sqrt{H}, 1/\\sqrt{H}]`, as in ``torch.nn``.
    """

    gate_count = 1  # G: how many H-sized blocks are stacked in each weight matrix

    def __init__(self, input_size: int, hidden_size: int, *, rng: np.random.Generator | None = None,
                 dtype: Any = np.float64) -> None:
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = check_size("hidden_size", hidden_size)
        self.dtype = check_float_dtype("dtype", dtype)
        rng = np.random.default_rng() if rng is None else check_rng(rng)
        k = 1.0 / np.sqrt(self.hidden_size)
        self.params: dict[str, np.ndarray] = {
            name: rng.uniform(-k, k, size=shape).astype(self.dtype)
            for name, shape in self.param_shapes().items()
        }
        self._caches: list[tuple] = []  # one per step of the last forward(); each starts with x_t (B, D)

    def _remember(self, cache: tuple) -> None:
        """Keep one step's cache for :meth:`backward`, its arrays made read-only.

        The arrays are the layer's own (inputs and initial states are copied on the way in), but
        one of them may also be returned (the RNN's final state is in its last cache): a write to
        it would silently change the gradients, so it raises instead.
        """
        for array in cache:
            array.flags.writeable = False
        self._caches.append(cache)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of each parameter, in ``torch.nn`` order and layout."""
        return param_shapes(self.gate_count, self.input_size, self.hidden_size)

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of the parameters, keyed like a ``torch.nn.*Cell`` state dict."""
        return {name: value.copy() for name, value in self.params.items()}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Replace the parameters with copies of ``state_dict``'s (NumPy arrays or torch tensors).

        A single-layer ``torch.nn.RNN/LSTM/GRU`` state dict (``weight_ih_l0``, ..., as our torch
        layers name them too) is taken as it is; for another layer or direction of a deeper one, use
        :func:`rnnbook.state.from_torch_nn` first. Integer values are converted to the layer's dtype; nothing else is converted silently.

        Raises
        ------
        rnnbook.checks.StateDictError
            If a key is missing or unexpected (a ``ValueError``, and a ``KeyError``).
        TypeError
            If a value is complex, bool or not numeric (its imaginary part would be dropped).
        ValueError
            If a value's shape differs from :meth:`param_shapes`, or it holds NaN or inf.
        """
        checked = check_state_dict(rename_keys(state_dict, "_l0", ""), self.param_shapes())
        self.params = {name: as_real_array(f"state_dict[{name!r}]", value, self.dtype) for name, value in checked.items()}

    @property
    def caches(self) -> list[tuple]:
        """The per-step caches of the last ``forward()`` (what each step's backward needs), read-only."""
        return list(self._caches)

    def _own(self, value: Any, name: str) -> np.ndarray:
        """A finite copy of ``value`` in the layer's dtype: later changes to the caller's array
        change nothing here (a float64 value too large for float32 is refused, not made inf)."""
        with np.errstate(over="ignore"):
            value = np.array(value, dtype=self.dtype)
        check_finite(value, name)
        return value

    def _check_input(self, X: Any) -> tuple[np.ndarray, int, int]:
        """``X`` checked to be (T, B, D) and finite, as this layer's dtype; with ``(T, B)``."""
        T, B = check_sequence(X, self.input_size, "X")
        return self._own(X, "X"), T, B

    def _check_state(self, h: Any, B: int, name: str) -> np.ndarray:
        """Zeros of shape (B, H) if ``h`` is None, else a copy of ``h`` checked to be (B, H) and finite."""
        if h is None:
            return np.zeros((B, self.hidden_size), dtype=self.dtype)
        check_state(h, B, self.hidden_size, name)
        return self._own(h, name)

    def _check_upstream(self, dY: Any) -> tuple[np.ndarray, int, int]:
        """``dY`` checked against the outputs (T, B, H) of the last :meth:`forward`; with ``(T, B)``."""
        if not self._caches:
            raise NoForwardError("backward() needs a forward() first: there is nothing to backpropagate through")
        T, B, H = len(self._caches), self._caches[0][0].shape[0], self.hidden_size
        check_sequence(dY, H, "dY")
        if tuple(dY.shape) != (T, B, H):
            raise ValueError(f"dY must have the shape of the last forward's outputs (T, B, H) = {(T, B, H)}, got {tuple(dY.shape)}")
        check_finite(dY, "dY")
        return np.asarray(dY, dtype=self.dtype), T, B

    def num_parameters(self) -> int:
        """The number of scalars in all parameters."""
        return sum(p.size for p in self.params.values())

    def __repr__(self) -> str:
        return f"{type(self).__name__}(input_size={self.input_size}, hidden_size={self.hidden_size}, dtype={self.dtype})"
