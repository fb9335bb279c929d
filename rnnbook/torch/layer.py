"""What every torch recurrent layer of rnnbook shares: parameters and input checks.

The parameters have the names, shapes and gate-block layout of the matching ``torch.nn`` cell
(``weight_ih`` (G*H, D), ``weight_hh`` (G*H, H), ``bias_ih`` and ``bias_hh`` (G*H,)), so
``load_state_dict`` takes a ``torch.nn.*Cell`` state dict as it is, or a ``torch.nn.RNN/LSTM/GRU``
one through :func:`rnnbook.state.from_torch_nn`. Every state dict loaded (directly, or as part of a
larger model) is checked first by :func:`rnnbook.checks.check_state_dict`: NaN, inf, complex or
bool weights are refused with a clear error, and NumPy arrays are accepted.

Unlike the NumPy reference layers, these layers do not scan inputs for NaN or inf (neither does
``torch.nn``): on a GPU that would synchronise with the host at every call. A non-finite loss is
caught by :func:`rnnbook.train.train_regressor` instead.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from typing import Any

from rnnbook.checks import (check_bool, check_sequence, check_size, check_state,
                            check_state_dict, param_shapes)


def _check_state_dict_hook(module: RecurrentModule, state_dict: dict[str, Any], prefix: str, *_: Any) -> None:
    """Before ``load_state_dict`` copies anything (into this layer alone, or as part of a model):
    each value of ours checked, and NumPy values made tensors. Keys are checked by
    :meth:`RecurrentModule.load_state_dict` (torch does not tell a hook whether loading is strict)."""
    ours = {key[len(prefix):]: value for key, value in state_dict.items() if key.startswith(prefix)}
    for name, value in check_state_dict(ours, module.param_shapes(), strict=False).items():
        if not isinstance(value, Tensor):
            state_dict[prefix + name] = torch.as_tensor(value)


class RecurrentModule(nn.Module):
    """Base of the torch layers.

    Parameters
    ----------
    input_size, hidden_size : int
        D and H.
    batch_first : bool, default False
        If True, inputs and outputs are ``(B, T, ·)`` instead of time-major ``(T, B, ·)``.
    device, dtype :
        Where and in what precision the parameters are created (``torch.nn`` conventions).

    Raises
    ------
    TypeError, ValueError
        If a size is not a positive int, ``batch_first`` is not a bool, or ``dtype`` is not a
        floating torch dtype.
    """

    gate_count = 1  # G: how many H-sized blocks are stacked in each weight matrix

    def __init__(self, input_size: int, hidden_size: int, batch_first: bool = False,
                 device: torch.device | str | None = None, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = check_size("hidden_size", hidden_size)
        self.batch_first = check_bool("batch_first", batch_first)
        if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
            raise TypeError(f"dtype must be None or a floating torch dtype such as torch.float32, got {dtype!r}")
        GH = self.gate_count * self.hidden_size
        kw: dict[str, Any] = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(GH, self.input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(GH, self.hidden_size, **kw))
        self.bias_ih = nn.Parameter(torch.empty(GH, **kw))
        self.bias_hh = nn.Parameter(torch.empty(GH, **kw))
        self.reset_parameters()
        self.register_load_state_dict_pre_hook(_check_state_dict_hook)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of each parameter, in ``torch.nn`` order and layout."""
        return param_shapes(self.gate_count, self.input_size, self.hidden_size)

    def reset_parameters(self) -> None:
        """Uniform in :math:`[-1/\\sqrt{H}, 1/\\sqrt{H}]`, as ``torch.nn`` initialises."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -k, k)

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        """Copy parameters from ``state_dict`` (tensors, or NumPy arrays), as ``nn.Module`` does.

        Raises
        ------
        rnnbook.checks.StateDictError
            If ``strict`` and a key is missing or unexpected (a ``ValueError``, and a ``KeyError``).
        TypeError
            If ``state_dict`` is not a mapping, or a value is complex, bool or not numeric.
        ValueError
            If a value's shape differs from :meth:`param_shapes`, or it holds NaN or inf.
        """
        if strict:
            check_state_dict(state_dict, self.param_shapes())
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    def _time_major(self, X: Tensor) -> tuple[Tensor, int, int]:
        """Check ``X`` and return it time-major with ``(T, B)``."""
        if not isinstance(X, Tensor):
            raise TypeError(f"X must be a torch.Tensor, got {type(X).__name__}")
        if self.batch_first and X.dim() == 3:
            X = X.transpose(0, 1)
        T, B = check_sequence(X, self.input_size, "X (time-major view)" if self.batch_first else "X")
        self._check_like_weights(X, "X")
        return X, T, B

    def _initial_state(self, h0: Tensor | None, B: int, like: Tensor, name: str = "h0") -> Tensor:
        """Zeros of shape (B, H) if ``h0`` is None, else ``h0`` after checking it."""
        if h0 is None:
            return like.new_zeros(B, self.hidden_size)
        if not isinstance(h0, Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(h0).__name__}")
        check_state(h0, B, self.hidden_size, name)
        self._check_like_weights(h0, name)
        return h0

    def _check_like_weights(self, x: Tensor, name: str) -> None:
        w = self.weight_ih
        if x.dtype != w.dtype:
            raise TypeError(f"{name} has dtype {x.dtype} but the layer's parameters are {w.dtype}; "
                            f"convert one of them (e.g. layer.to({x.dtype}))")
        if x.device != w.device:
            raise ValueError(f"{name} is on {x.device} but the layer's parameters are on {w.device}; "
                             f"move one of them (e.g. layer.to({str(x.device)!r}))")

    def extra_repr(self) -> str:
        """The sizes and options that ``repr(layer)`` shows, as ``torch.nn``'s layers do."""
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}, batch_first={self.batch_first}"
