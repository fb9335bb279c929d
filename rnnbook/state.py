"""Moving one state dict between our layers and ``torch.nn``.

Our layers (``rnnbook.numpy`` and ``rnnbook.torch``) name their parameters exactly like
``torch.nn.RNNCell`` / ``LSTMCell`` / ``GRUCell``: ``weight_ih``, ``weight_hh``, ``bias_ih``,
``bias_hh``. The multi-step modules ``torch.nn.RNN`` / ``LSTM`` / ``GRU`` add a layer suffix:
``weight_ih_l0`` and so on. These two functions translate between the forms, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

V = TypeVar("V")
PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def from_torch_nn(state_dict: Mapping[str, V], layer: int = 0) -> dict[str, V]:
    """Take layer ``layer`` of a ``torch.nn.RNN/LSTM/GRU`` state dict, renamed for our layers.

    ``{"weight_ih_l0": W, ...}`` becomes ``{"weight_ih": W, ...}``. Values are passed through
    untouched (tensors stay tensors); our layers' ``load_state_dict`` converts them.

    Raises
    ------
    KeyError
        If a parameter of that layer is missing, or the state dict is bidirectional
        (``..._reverse`` keys), which our single-direction layers cannot hold.
    """
    if any(k.endswith("_reverse") for k in state_dict):
        raise KeyError("state_dict is of a bidirectional module; rnnbook layers are one-directional")
    out = {}
    for name in PARAM_NAMES:
        key = f"{name}_l{layer}"
        if key not in state_dict:
            raise KeyError(f"state_dict has no {key!r}; its keys are {sorted(state_dict)}")
        out[name] = state_dict[key]
    return out


def to_torch_nn(params: Mapping[str, Any], layer: int = 0) -> dict[str, Any]:
    """Rename our parameters ``{"weight_ih": W, ...}`` to ``{"weight_ih_l0": W, ...}``.

    Raises
    ------
    KeyError
        If one of ``weight_ih, weight_hh, bias_ih, bias_hh`` is missing.
    """
    missing = [n for n in PARAM_NAMES if n not in params]
    if missing:
        raise KeyError(f"params is missing {missing}; expected keys {list(PARAM_NAMES)}")
    return {f"{name}_l{layer}": params[name] for name in PARAM_NAMES}
