"""Moving one state dict between our layers and ``torch.nn``.

Our layers (``rnnbook.numpy`` and ``rnnbook.torch``) name their parameters exactly like
``torch.nn.RNNCell`` / ``LSTMCell`` / ``GRUCell``: ``weight_ih``, ``weight_hh``, ``bias_ih``,
``bias_hh``. The multi-step modules ``torch.nn.RNN`` / ``LSTM`` / ``GRU`` add a layer suffix:
``weight_ih_l0`` and so on. These two functions translate between the forms, nothing else; on the way they check that each
value is real and finite (the layers' ``load_state_dict`` checks the shapes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from rnnbook.checks import StateDictError, check_int, check_param_value, given

#: The type of a state dict's values (arrays or tensors): passed through untouched.
V = TypeVar("V")
#: The four parameters of every layer, in ``torch.nn`` order.
PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _check_mapping(name: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping of parameter names to arrays, got {given(value)}")


def from_torch_nn(state_dict: Mapping[str, V], layer: int = 0) -> dict[str, V]:
    """Take layer ``layer`` of a ``torch.nn.RNN/LSTM/GRU`` state dict, renamed for our layers.

    ``{"weight_ih_l0": W, ...}`` becomes ``{"weight_ih": W, ...}``. Values are passed through
    untouched (tensors stay tensors); our layers' ``load_state_dict`` converts them.

    Raises
    ------
    rnnbook.checks.StateDictError
        If a parameter of that layer is missing, or the state dict is bidirectional
        (``..._reverse`` keys), which our single-direction layers cannot hold (a ``ValueError``
        and a ``KeyError``).
    TypeError, ValueError
        If ``state_dict`` is not a mapping, ``layer`` is not a non-negative int, or a value is
        complex, bool, non-numeric, NaN or inf.
    """
    _check_mapping("state_dict", state_dict)
    layer = check_int("layer", layer, minimum=0)
    if any(str(k).endswith("_reverse") for k in state_dict):
        raise StateDictError("state_dict is of a bidirectional module (it has '_reverse' keys); rnnbook layers are one-directional")
    out = {}
    for name in PARAM_NAMES:
        key = f"{name}_l{layer}"
        if key not in state_dict:
            raise StateDictError(f"state_dict has no {key!r}; its keys are {sorted(state_dict)}")
        check_param_value(f"state_dict[{key!r}]", state_dict[key])
        out[name] = state_dict[key]
    return out


def to_torch_nn(params: Mapping[str, Any], layer: int = 0) -> dict[str, Any]:
    """Rename our parameters ``{"weight_ih": W, ...}`` to ``{"weight_ih_l0": W, ...}``.

    Raises
    ------
    rnnbook.checks.StateDictError
        If one of ``weight_ih, weight_hh, bias_ih, bias_hh`` is missing.
    TypeError, ValueError
        If ``params`` is not a mapping, ``layer`` is not a non-negative int, or a value is
        complex, bool, non-numeric, NaN or inf.
    """
    _check_mapping("params", params)
    layer = check_int("layer", layer, minimum=0)
    missing = [n for n in PARAM_NAMES if n not in params]
    if missing:
        raise StateDictError(f"params is missing {missing}; expected keys {list(PARAM_NAMES)}")
    for name in PARAM_NAMES:
        check_param_value(f"params[{name!r}]", params[name])
    return {f"{name}_l{layer}": params[name] for name in PARAM_NAMES}
