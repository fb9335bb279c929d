"""Bad input gets a clear error naming the argument, the expected shape, and what was given."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnbook.numpy
import rnnbook.torch
from rnnbook.state import from_torch_nn, to_torch_nn


@pytest.fixture
def layers():
    return rnnbook.numpy.RNN(3, 4, rng=np.random.default_rng(0)), rnnbook.torch.RNN(3, 4)


@pytest.mark.parametrize("make", [np.zeros, torch.zeros])
def test_input_of_wrong_rank_or_size(layers, make):
    """A 2-D input or a wrong feature size names X, the expected (T, B, D) and the shape given."""
    layer = layers[0] if make is np.zeros else layers[1]
    f = layer.forward if make is np.zeros else layer
    with pytest.raises(ValueError, match=r"X must have shape \(T, B, 3\).*2-D shape \(5, 3\)"):
        f(make((5, 3)))
    with pytest.raises(ValueError, match=r"last axis is 2, expected input_size=3"):
        f(make((5, 1, 2)))
    with pytest.raises(ValueError, match=r"at least one time step"):
        f(make((0, 1, 3)))


def test_wrong_h0_shape(layers):
    """The NumPy layer's h0 is (B, H): torch.nn's (layers, B, H) form is refused with the expected shape
    named. The torch layer takes torch.nn's form, and (B, H) when it has one layer and direction."""
    np_layer, t_layer = layers
    with pytest.raises(ValueError, match=r"h0 must have shape \(B, H\) = \(2, 4\), got \(1, 2, 4\)"):
        np_layer.forward(np.zeros((5, 2, 3)), np.zeros((1, 2, 4)))
    with pytest.raises(ValueError, match=r"h0 must have shape \(num_layers \* num_directions, B, H\) = \(1, 2, 4\) "
                                         r"or \(B, H\) = \(2, 4\), got \(2, 5\)"):
        t_layer(torch.zeros(5, 2, 3), torch.zeros(2, 5))


def test_integer_and_non_array_inputs_are_type_errors(layers):
    np_layer, t_layer = layers
    with pytest.raises(TypeError, match="X must have a floating dtype, got int64"):
        np_layer.forward(np.zeros((5, 2, 3), dtype=np.int64))
    with pytest.raises(TypeError, match="X must be an array"):
        np_layer.forward([[[0.0, 0.0, 0.0]]])
    with pytest.raises(TypeError, match="X must be a torch.Tensor or a PackedSequence, got ndarray"):
        t_layer(np.zeros((5, 2, 3)))


def test_nan_input_is_refused_not_propagated(layers):
    """A NaN in the input is an error in the NumPy layer, not a silent NaN in the output."""
    X = np.zeros((5, 2, 3))
    X[2, 1, 0] = np.nan
    with pytest.raises(ValueError, match="X must be finite, but 1 of its 30 entries"):
        layers[0].forward(X)


def test_torch_dtype_and_device_mismatch(layers):
    _, t_layer = layers
    with pytest.raises(TypeError, match=r"X has dtype torch.float64 but the layer's parameters are torch.float32"):
        t_layer(torch.zeros(5, 2, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match=r"h0 has dtype torch.float64"):
        t_layer(torch.zeros(5, 2, 3), torch.zeros(2, 4, dtype=torch.float64))


@pytest.mark.parametrize("cls", [rnnbook.numpy.RNN, rnnbook.torch.RNN])
def test_constructor_arguments(cls):
    with pytest.raises(ValueError, match="hidden_size must be a positive int, got 0"):
        cls(3, 0)
    with pytest.raises(TypeError, match="input_size must be a positive int, got float 3.0"):
        cls(3.0, 4)
    with pytest.raises(TypeError, match="input_size must be a positive int, got bool"):
        cls(True, 4)
    with pytest.raises(ValueError, match=r"nonlinearity must be one of \('tanh', 'relu'\), got 'sigmoid'"):
        cls(3, 4, "sigmoid")


def test_batch_first_error_names_the_time_major_view():
    layer = rnnbook.torch.RNN(3, 4, batch_first=True)
    with pytest.raises(ValueError, match=r"X \(time-major view\).*last axis is 5"):
        layer(torch.zeros(2, 6, 5))


def test_load_state_dict_errors():
    layer = rnnbook.numpy.RNN(3, 4)
    layer.load_state_dict(torch.nn.RNN(3, 4).state_dict())  # one layer: taken as it is
    nn_state = torch.nn.RNN(3, 4, num_layers=2).state_dict()
    with pytest.raises(KeyError, match="with rnnbook.state.from_torch_nn"):
        layer.load_state_dict(nn_state)
    bad = from_torch_nn(torch.nn.RNN(3, 5).state_dict())
    with pytest.raises(ValueError, match=r"state_dict\['weight_ih'\] must have shape \(4, 3\), got \(5, 3\)"):
        layer.load_state_dict(bad)


def test_state_conversion_errors():
    with pytest.raises(KeyError, match="no 'weight_ih_l0_reverse'"):
        from_torch_nn(torch.nn.RNN(3, 4).state_dict(), reverse=True)
    with pytest.raises(KeyError, match="no 'weight_ih_l1'"):
        from_torch_nn(torch.nn.RNN(3, 4).state_dict(), layer=1)
    with pytest.raises(KeyError, match=r"missing \['bias_hh'\]"):
        to_torch_nn({"weight_ih": 0, "weight_hh": 0, "bias_ih": 0})


def test_numpy_layer_bad_rng_and_dtype():
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator, got int"):
        rnnbook.numpy.RNN(3, 4, rng=0)
    with pytest.raises(TypeError, match="dtype must be a floating type, got int32"):
        rnnbook.numpy.RNN(3, 4, dtype=np.int32)


def test_clipping_thresholds_must_be_positive_numbers():
    """Zero, negative and NaN thresholds are refused by name, in NumPy and torch alike."""
    from rnnbook.numpy.clip import clip_grad_norm, clip_grad_value
    from rnnbook.torch.clip import clip_grad_norm_, clip_grad_value_

    g = {"w": np.ones(3)}
    p = [torch.nn.Parameter(torch.ones(3))]
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="max_norm must be positive"):
            clip_grad_norm(g, bad)
        with pytest.raises(ValueError, match="clip_value must be positive"):
            clip_grad_value(g, bad)
        with pytest.raises(ValueError, match="max_norm must be positive"):
            clip_grad_norm_(p, bad)
        with pytest.raises(ValueError, match="clip_value must be positive"):
            clip_grad_value_(p, bad)


@pytest.mark.parametrize("value", ["1.0", None, 1j, True, [1.0]])
def test_positive_thresholds_of_the_wrong_type_are_type_errors(value):
    """Issue 9, defect 6: '>' not supported between 'str' and 'int' was all a string threshold got."""
    from rnnbook.numpy.clip import clip_grad_norm, clip_grad_value
    from rnnbook.train import TrainConfig

    g = {"w": np.ones(3)}
    calls = [("max_norm", lambda: clip_grad_norm(g, value)), ("clip_value", lambda: clip_grad_value(g, value)),
             ("lr", lambda: TrainConfig(lr=value))]
    if value is not None:  # TrainConfig(max_norm=None) means no clipping
        calls.append(("max_norm", lambda: TrainConfig(max_norm=value)))
    for name, call in calls:
        with pytest.raises(TypeError, match=f"{name} must be a positive number, got "):
            call()
