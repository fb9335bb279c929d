"""Moving one state dict between our layers and ``torch.nn``.

Two naming schemes meet here. The cell scheme of ``torch.nn.RNNCell`` / ``LSTMCell`` / ``GRUCell``:
``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh``, used by the NumPy layers (one layer, one
direction each). The layer scheme of ``torch.nn.RNN`` / ``LSTM`` / ``GRU``, used by our torch layers
too: a suffix for the layer and direction, ``weight_ih_l0``, ``weight_ih_l0_reverse``,
``weight_ih_l1``, ... These functions translate between them, nothing else; on the way they check
that each value is real and finite (the layers' ``load_state_dict`` checks the shapes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, TypeVar

from rnnbook.checks import StateDictError, check_bool, check_int, check_param_value, given

#: The type of a state dict's values (arrays or tensors): passed through untouched.
V = TypeVar("V")
#: The four parameters of every layer, in ``torch.nn`` order.
PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
_KEY = re.compile(r"(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?")


def _check_mapping(name: str, value: Any) -> None:
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a mapping of parameter names to arrays, got {given(value)}")


def suffix(layer: int = 0, reverse: bool = False) -> str:
    """``"_l0"``, ``"_l1_reverse"``, ...: what ``torch.nn`` appends to a cell's parameter names.

    Raises
    ------
    TypeError, ValueError
        If ``layer`` is not a non-negative int or ``reverse`` not a bool.
    """
    return f"_l{check_int('layer', layer, minimum=0)}" + ("_reverse" if check_bool("reverse", reverse) else "")


def from_torch_nn(state_dict: Mapping[str, V], layer: int = 0, reverse: bool = False) -> dict[str, V]:
    """Take one layer and direction of a ``torch.nn.RNN/LSTM/GRU`` state dict, with cell names.

    ``{"weight_ih_l0": W, ...}`` becomes ``{"weight_ih": W, ...}`` (``layer=1, reverse=True`` takes
    ``weight_ih_l1_reverse`` and so on). Values are passed through untouched (tensors stay tensors).

    Raises
    ------
    rnnbook.checks.StateDictError
        If a parameter of that layer and direction is missing (a ``ValueError`` and a ``KeyError``).
    TypeError, ValueError
        If ``state_dict`` is not a mapping, ``layer`` is not a non-negative int, ``reverse`` is not
        a bool, or a value is complex, bool, non-numeric, NaN or inf.
    """
    _check_mapping("state_dict", state_dict)
    end = suffix(layer, reverse)
    out = {}
    for name in PARAM_NAMES:
        key = name + end
        if key not in state_dict:
            raise StateDictError(f"state_dict has no {key!r}; its keys are {sorted(state_dict)}")
        check_param_value(f"state_dict[{key!r}]", state_dict[key])
        out[name] = state_dict[key]
    return out


def to_torch_nn(params: Mapping[str, Any], layer: int = 0, reverse: bool = False) -> dict[str, Any]:
    """Rename a cell's parameters ``{"weight_ih": W, ...}`` to ``{"weight_ih_l0": W, ...}`` (or the
    names of another ``layer`` and direction).

    Raises
    ------
    rnnbook.checks.StateDictError
        If one of ``weight_ih, weight_hh, bias_ih, bias_hh`` is missing.
    TypeError, ValueError
        If ``params`` is not a mapping, ``layer`` is not a non-negative int, ``reverse`` not a bool,
        or a value is complex, bool, non-numeric, NaN or inf.
    """
    _check_mapping("params", params)
    end = suffix(layer, reverse)
    missing = [n for n in PARAM_NAMES if n not in params]
    if missing:
        raise StateDictError(f"params is missing {missing}; expected keys {list(PARAM_NAMES)}")
    for name in PARAM_NAMES:
        check_param_value(f"params[{name!r}]", params[name])
    return {name + end: params[name] for name in PARAM_NAMES}


def split_torch_nn(state_dict: Mapping[str, V]) -> list[list[dict[str, V]]]:
    """Every layer and direction of a ``torch.nn.RNN/LSTM/GRU`` state dict, with cell names:
    ``out[layer][0]`` is the forward direction, ``out[layer][1]`` the reverse one (if bidirectional).

    Raises
    ------
    rnnbook.checks.StateDictError
        If a key is not a ``torch.nn`` layer key, or the layers and directions are incomplete.
    TypeError, ValueError
        As :func:`from_torch_nn`.
    """
    _check_mapping("state_dict", state_dict)
    found = set()
    for key in state_dict:
        match = _KEY.fullmatch(str(key))
        if match is None:
            raise StateDictError(f"state_dict key {key!r} is not a torch.nn layer key like 'weight_ih_l0' or 'bias_hh_l1_reverse'")
        found.add((int(match[2]), match[3] is not None))
    if not found:
        raise StateDictError("state_dict is empty; expected keys like 'weight_ih_l0'")
    num_layers = max(layer for layer, _ in found) + 1
    directions = (False, True) if any(reverse for _, reverse in found) else (False,)
    return [[from_torch_nn(state_dict, layer, reverse) for reverse in directions] for layer in range(num_layers)]


def join_torch_nn(layers: list[list[Mapping[str, Any]]]) -> dict[str, Any]:
    """The inverse of :func:`split_torch_nn`: ``layers[k][d]`` (cell names) into one ``torch.nn`` state dict.

    Raises
    ------
    TypeError, ValueError
        If ``layers`` is not a non-empty list of lists of one or two parameter dicts each, all of the
        same length, or a value is bad (as :func:`to_torch_nn`).
    """
    if not isinstance(layers, (list, tuple)) or not layers or not all(
            isinstance(dirs, (list, tuple)) and len(dirs) in (1, 2) for dirs in layers):
        raise TypeError(f"layers must be a non-empty list (one item per layer) of lists of 1 or 2 parameter dicts "
                        f"(forward, then reverse), got {given(layers)}")
    if len({len(dirs) for dirs in layers}) != 1:
        raise ValueError(f"layers must all have the same number of directions, got {[len(dirs) for dirs in layers]}")
    out: dict[str, Any] = {}
    for k, dirs in enumerate(layers):
        for d, params in enumerate(dirs):
            out.update(to_torch_nn(params, k, reverse=d == 1))
    return out


def rename_keys(state_dict: Mapping[str, V], old: str, new: str, prefix: str = "") -> dict[str, V]:
    """A copy of ``state_dict`` whose keys ``prefix + name + old`` become ``prefix + name + new`` for
    the four parameter names (e.g. ``old=""``, ``new="_l0"``: cell names to layer-0 names).

    Keys already in the new form, or not parameters, are kept as they are; a key whose renamed form
    is already present is kept too (a loader then reports the clash as an unexpected key).

    Raises
    ------
    TypeError
        If ``state_dict`` is not a mapping.
    """
    _check_mapping("state_dict", state_dict)
    out = dict(state_dict)
    for name in PARAM_NAMES:
        src, dst = prefix + name + old, prefix + name + new
        if src in out and dst not in out:
            out[dst] = out.pop(src)
    return out
