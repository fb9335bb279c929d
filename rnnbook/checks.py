"""Argument checks shared by the whole package: one validation module, no check written twice.

Bad input must fail early with a message that names the argument, the expected shape or range,
and what was given, instead of surfacing later as a broadcasting error, a NumPy warning or a
silent NaN. Wrong types raise ``TypeError``, wrong values or shapes ``ValueError`` (missing or
unexpected state-dict keys raise :class:`StateDictError`, a ``ValueError`` that is also a
``KeyError``). The array checks read only ``.shape``, ``.ndim`` and ``.dtype`` (and, for
finiteness, the values), so they serve NumPy arrays and torch tensors alike, without importing torch.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

#: The nonlinearities the vanilla RNN accepts, like ``torch.nn.RNN``'s ``nonlinearity``.
NONLINEARITIES = ("tanh", "relu")


class StateDictError(ValueError, KeyError):
    """A state dict with missing or unexpected keys: a ``ValueError``, and a ``KeyError`` too."""

    __str__ = ValueError.__str__  # KeyError would print the message in quotes


class NoForwardError(RuntimeError, ValueError):
    """``backward()`` called before any ``forward()``: a ``RuntimeError`` (calls in the wrong order),
    and a ``ValueError`` like every other bad-input error of the package."""


def given(value: Any) -> str:
    """``'float 3.0'``, ``'ndarray of shape (2, 3) and dtype int64'``: what was given."""
    if hasattr(value, "shape") and hasattr(value, "dtype") and len(value.shape) > 0:
        return f"{type(value).__name__} of shape {tuple(value.shape)} and dtype {value.dtype}"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def require_torch(module: str) -> None:
    """Raise an ``ImportError`` that says how to install PyTorch if it is missing (``module`` needs it)."""
    try:
        import torch  # noqa: F401
    except ImportError as err:
        raise ImportError(f"{module} needs PyTorch, which is not installed: install it with "
                          f"`pip install 'rnnbook[torch]'` (or see https://pytorch.org)") from err


def check_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as a Python int if it is an integer in ``[minimum, maximum]``, else raise.

    NumPy integers are accepted (and converted); bools, floats such as ``3.0`` and strings are not.

    Raises
    ------
    TypeError
        If ``value`` is not an integer.
    ValueError
        If it is outside the range.
    """
    if maximum is not None:
        expected = f"an int in [{minimum}, {maximum}]" if minimum is not None else f"an int <= {maximum}"
    else:
        expected = {None: "an int", 0: "a non-negative int", 1: "a positive int"}.get(minimum, f"an int >= {minimum}")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be {expected}, got {given(value)}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {expected}, got {value}")
    return int(value)


def check_size(name: str, value: Any) -> int:
    """Return ``value`` as an int if it is a positive integer (a layer size, a length), else raise.

    Raises
    ------
    TypeError
        If ``value`` is not an integer (bools and floats such as ``3.0`` are refused).
    ValueError
        If ``value < 1``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive int, got {given(value)}")
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {value}")
    return int(value)


def check_positive(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a positive, finite real number (a threshold, a rate).

    Raises
    ------
    TypeError
        If ``value`` is not a real number (strings, bools, complex numbers, None, arrays).
    ValueError
        If it is zero, negative, NaN or infinite.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a positive number, got {given(value)}")
    number = float(value)
    if not number > 0:  # also refuses NaN
        raise ValueError(f"{name} must be positive, got {value}")
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value}")
    return number


def check_finite_number(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a finite real number (a bias value, an offset).

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If it is NaN or infinite.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {given(value)}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value}")
    return number


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a bool (NumPy's included), else raise ``TypeError``.

    A truthy string such as ``"no"`` would otherwise be taken as True.
    """
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {given(value)}")
    return bool(value)


def check_option(name: str, value: Any, options: Collection[Any]) -> Any:
    """Return ``value`` if it is one of ``options``, else raise ``ValueError`` listing them."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {tuple(options)}, got {value!r}")
    return value


def check_nonlinearity(nonlinearity: Any) -> str:
    """Return ``nonlinearity`` if it is ``"tanh"`` or ``"relu"``, else raise ``ValueError``."""
    return str(check_option("nonlinearity", nonlinearity, NONLINEARITIES))


def check_float_dtype(name: str, dtype: Any) -> np.dtype:
    """Return ``dtype`` as a NumPy floating dtype (``np.float32``, ``"float64"``...), else raise ``TypeError``."""
    try:
        result = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be a NumPy floating type such as numpy.float64, got {dtype!r}") from None
    if not np.issubdtype(result, np.floating):
        raise TypeError(f"{name} must be a floating type, got {result}")
    return result


def check_rng(rng: Any, name: str = "rng") -> np.random.Generator:
    """Return ``rng`` if it is a ``numpy.random.Generator``, else raise ``TypeError``."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"{name} must be a numpy.random.Generator, got {given(rng)} "
                        f"(make one with numpy.random.default_rng(seed))")
    return rng


def check_callable(name: str, value: Any, expected: str) -> Any:
    """Return ``value`` if it can be called, else raise ``TypeError`` saying what was ``expected``."""
    if not callable(value):
        raise TypeError(f"{name} must be {expected}, got {given(value)}")
    return value


def _is_floating(dtype: Any) -> bool:
    if isinstance(dtype, np.dtype):
        return dtype.kind == "f"  # float16/32/64/longdouble (not complex: kind "c")
    return bool(getattr(dtype, "is_floating_point", False))  # torch.dtype


def is_real_numeric(dtype: Any) -> bool:
    """Floating or integer, but not bool, complex, object or text (NumPy or torch dtypes)."""
    if isinstance(dtype, np.dtype):
        return dtype.kind in "fiu"
    if getattr(dtype, "is_complex", False) or str(dtype) == "torch.bool":
        return False
    return bool(getattr(dtype, "is_floating_point", False)) or str(dtype).startswith(("torch.int", "torch.uint"))


def as_real_array(name: str, value: Any, dtype: Any = np.float64) -> np.ndarray:
    """``value`` (a NumPy array, a torch tensor on any device, a number or nested lists) as a new
    NumPy array of ``dtype``, refusing what would convert with a loss or a warning.

    Raises
    ------
    TypeError
        If ``value`` holds complex numbers (the imaginary part would be dropped), bools, strings or
        objects.
    ValueError
        If nested lists are ragged.
    """
    if hasattr(value, "detach"):  # a torch tensor, without importing torch here
        if not is_real_numeric(value.dtype):
            raise TypeError(f"{name} must hold real numbers, got a tensor of dtype {value.dtype}")
        value = value.detach().cpu().double().numpy()
    elif not isinstance(value, np.ndarray):
        try:
            value = np.asarray(value)
        except ValueError as err:  # ragged nested lists
            raise ValueError(f"{name} must be an array of numbers, got a ragged {type(value).__name__}: {err}") from None
    if not is_real_numeric(value.dtype):
        raise TypeError(f"{name} must hold real numbers (a float or int dtype), got dtype {value.dtype}")
    return np.array(value, dtype=dtype)  # a copy: never aliases the caller's data


def count_nonfinite(x: Any) -> int:
    """How many entries of a NumPy array or torch tensor are NaN or infinite."""
    if hasattr(x, "detach"):  # torch
        return int((~x.detach().isfinite()).sum().item())
    return int(np.count_nonzero(~np.isfinite(x)))


def check_finite(x: Any, name: str, why: str = "") -> None:
    """Raise ``ValueError`` if an array or tensor holds NaN or infinity (say how many, and ``why``)."""
    bad = count_nonfinite(x)
    if bad:
        size = int(np.prod(tuple(x.shape)))
        raise ValueError(f"{name} must be finite, but {bad} of its {size} entries are NaN or inf{why}")


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


def check_state_pair(state: Any, name: str = "state0") -> tuple[Any, Any]:
    """Return the two members ``(h, c)`` of an LSTM state, after checking it is a pair of arrays.

    The members' shapes are checked by the caller (with :func:`check_state`), which knows ``B``.

    Raises
    ------
    TypeError
        If ``state`` is not a tuple or list of exactly two items, or a member is None (pass
        ``state0=None`` for zero states: half a state is not silently completed with zeros).
    """
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        if isinstance(state, (tuple, list)):
            got = f"a {type(state).__name__} of length {len(state)}"
        else:
            got = f"a single {type(state).__name__}" + (f" of shape {tuple(state.shape)}" if hasattr(state, "shape") else "")
        raise TypeError(f"{name} must be None or a pair (h0, c0) of arrays of shape (B, H) each, got {got}")
    for member, value in zip(("h0", "c0"), state):
        if value is None:
            raise TypeError(f"{name} must be None or a pair (h0, c0) of arrays of shape (B, H) each, "
                            f"got None for {member} (pass {name}=None for zero states)")
    return state[0], state[1]


def check_probability(name: str, value: Any) -> float:
    """Return ``value`` as a float if it is a real number in ``[0, 1)`` (a dropout rate).

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If it is outside ``[0, 1)`` or NaN.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, 1), got {given(value)}")
    if not 0.0 <= float(value) < 1.0:  # also refuses NaN
        raise ValueError(f"{name} must be in [0, 1), got {value}")
    return float(value)


def check_lengths(lengths: Any, batch: int, steps: int, name: str = "lengths") -> np.ndarray:
    """Check the valid lengths of a padded batch: ``batch`` integers in ``[1, steps]``; return them
    as an int64 NumPy array (a torch tensor, on any device, or a list is read into one).

    Raises
    ------
    TypeError
        If ``lengths`` is not a 1-D sequence, array or tensor of integers.
    ValueError
        If it does not hold one length per sequence, or a length is outside ``[1, steps]``.
    """
    if hasattr(lengths, "detach"):  # a torch tensor, perhaps on a GPU
        lengths = lengths.detach().cpu().numpy()
    if isinstance(lengths, (list, tuple)) and all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) for n in lengths):
        lengths = np.asarray(lengths, dtype=np.int64)
    if not isinstance(lengths, np.ndarray) or lengths.dtype.kind not in "iu":
        raise TypeError(f"{name} must be a 1-D sequence, array or tensor of ints (one length per sequence), got {given(lengths)}")
    if lengths.shape != (batch,):
        raise ValueError(f"{name} must hold one length per sequence, shape ({batch},), got shape {lengths.shape}")
    bad = (lengths < 1) | (lengths > steps)
    if bad.any():
        raise ValueError(f"{name} must be in [1, {steps}] (the padded number of steps), "
                         f"got {lengths[bad][0]} at position {int(np.flatnonzero(bad)[0])}")
    return lengths.astype(np.int64)


def _check_matrix(name: str, value: Any, shape: str) -> None:
    """A floating 2-D array or tensor (one time step of a batch), else TypeError/ValueError."""
    if not hasattr(value, "shape") or not hasattr(value, "dtype") or not _is_floating(value.dtype):
        raise TypeError(f"{name} must be a floating array of shape {shape}, got {given(value)}")
    if len(value.shape) != 2:
        raise ValueError(f"{name} must have shape {shape}, got {tuple(value.shape)}")


def param_shapes(gate_count: int, input_size: int, hidden_size: int) -> dict[str, tuple[int, ...]]:
    """The shape of each parameter of a layer with ``gate_count`` gate blocks, as in ``torch.nn``."""
    GH = gate_count * hidden_size
    return {"weight_ih": (GH, input_size), "weight_hh": (GH, hidden_size), "bias_ih": (GH,), "bias_hh": (GH,)}


def check_step(x: Any, h_prev: Any, params: Any, gate_count: int, c_prev: Any = None,
               reset_after: Any = True) -> None:
    """Check the arguments of a public step function: ``x`` (B, D), ``h_prev`` (B, H), the
    ``params`` of a layer with ``gate_count`` gate blocks, ``c_prev`` (B, H) for the LSTM
    (``gate_count=4``) and the GRU's ``reset_after``.

    Raises
    ------
    TypeError, ValueError
        If an argument is not a floating array of the shape the others imply, ``params`` lacks a
        key or has a wrong shape, or ``reset_after`` is not a bool.
    """
    _check_matrix("x", x, "(B, D)")
    B, D = x.shape
    _check_matrix("h_prev", h_prev, f"(B, H) with B = {B}")
    H = h_prev.shape[1]
    check_state(h_prev, B, H, "h_prev")
    if gate_count == 4:
        check_state(c_prev, B, H, "c_prev")
    check_bool("reset_after", reset_after)
    if not isinstance(params, Mapping):
        raise TypeError(f"params must be a dict of weight_ih, weight_hh, bias_ih, bias_hh, got {given(params)}")
    for key, shape in param_shapes(gate_count, D, H).items():
        if key not in params:
            raise StateDictError(f"params must have the key {key!r}; it has {sorted(params)}")
        if tuple(getattr(params[key], "shape", ())) != shape:
            raise ValueError(f"params[{key!r}] must have shape {shape} for D={D}, H={H}, "
                             f"got {given(params[key])}")


def check_step_backward(dh: Any, cache: Any, length: int, dc: Any = None, reset_after: Any = True) -> None:
    """Check the arguments of a public step backward: ``cache`` as its forward returned it (a tuple
    of ``length`` arrays, ``h_prev`` second), ``dh`` (and the LSTM's ``dc``) shaped like ``h_prev``.

    Raises
    ------
    TypeError, ValueError
        If ``cache`` is not such a tuple, ``dh`` or ``dc`` has another shape than ``h_prev`` (a
        smaller one would broadcast silently), or ``reset_after`` is not a bool.
    """
    if not isinstance(cache, tuple) or len(cache) != length:
        got = f"a tuple of length {len(cache)}" if isinstance(cache, tuple) else given(cache)
        raise TypeError(f"cache must be the tuple of {length} arrays the step's forward returned, got {got}")
    B, H = cache[1].shape
    _check_matrix("dh", dh, f"(B, H) = ({B}, {H})")
    check_state(dh, B, H, "dh")
    if length == 8:  # the LSTM
        check_state(dc, B, H, "dc")
    check_bool("reset_after", reset_after)


def check_state_dict(state_dict: Any, shapes: Mapping[str, tuple[int, ...]], strict: bool = True) -> dict[str, Any]:
    """Check a state dict against the parameter ``shapes`` of a layer; return its checked values.

    Tensors are returned as they are (on their device); anything else becomes a float64 NumPy array.

    Raises
    ------
    TypeError
        If ``state_dict`` is not a mapping, or a value is not real-valued (complex, bool, text).
    StateDictError
        If (with ``strict``) a key is missing or unexpected.
    ValueError
        If a value has the wrong shape, or holds NaN or inf.
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"state_dict must be a mapping of parameter names to arrays, got {given(state_dict)}")
    missing = sorted(set(shapes) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(shapes))
    if strict and (missing or unexpected):
        hint = (" (a torch.nn.RNN/LSTM/GRU state dict of more layers or directions? build the layer alike, "
                "or take one layer and direction with rnnbook.state.from_torch_nn)") if any(
            re.search(r"_l\d+(_reverse)?$", str(k)) for k in unexpected) else ""
        raise StateDictError(f"state_dict keys must be {list(shapes)}: missing {missing}, unexpected {unexpected}{hint}")
    checked = {}
    for name, shape in shapes.items():
        if name not in state_dict:
            continue
        key = f"state_dict[{name!r}]"
        value = check_param_value(key, state_dict[name])
        if tuple(value.shape) != shape:
            raise ValueError(f"{key} must have shape {shape}, got {tuple(value.shape)}")
        checked[name] = value
    return checked


def check_param_value(name: str, value: Any) -> Any:
    """A parameter's value checked to be real and finite: tensors as they are, anything else as a
    float64 NumPy array.

    Raises
    ------
    TypeError
        If it is complex (the imaginary part would be dropped), bool or not numeric.
    ValueError
        If it holds NaN or inf.
    """
    if hasattr(value, "detach"):
        if not is_real_numeric(value.dtype):
            raise TypeError(f"{name} must hold real numbers, got a tensor of dtype {value.dtype}")
    else:
        value = as_real_array(name, value)
    check_finite(value, name)
    return value
