"""Parity of the vanilla RNN layers (chapter 1, eq. rnn-recurrence) with torch.nn.RNN.

Each test copies torch.nn's weights into our layers (or ours into torch.nn), runs all of them on
the same float64 inputs and requires agreement to ~1e-12 relative.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnbook.numpy
import rnnbook.torch
from rnnbook.state import from_torch_nn, to_torch_nn
from tests.conftest import CUDA, SHAPES, rel

TOL = 1e-12


def _reference(D: int, H: int, nonlinearity: str, seed: int) -> torch.nn.RNN:
    torch.manual_seed(seed)
    return torch.nn.RNN(D, H, nonlinearity=nonlinearity, dtype=torch.float64)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("with_h0", [False, True])
@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_numpy_and_torch_forward_match_torch_nn(T, B, D, H, with_h0, nonlinearity):
    """Eq. rnn-recurrence: outputs and final state of both our layers equal torch.nn.RNN's."""
    ref = _reference(D, H, nonlinearity, seed=T * 100 + B)
    weights = from_torch_nn(ref.state_dict())
    X = torch.randn(T, B, D, dtype=torch.float64)
    h0 = torch.randn(B, H, dtype=torch.float64) if with_h0 else None
    with torch.no_grad():
        Y_ref, h_ref = ref(X, None if h0 is None else h0[None])
    ours_np = rnnbook.numpy.RNN(D, H, nonlinearity)
    ours_np.load_state_dict(weights)
    Y_np, h_np = ours_np.forward(X.numpy(), None if h0 is None else h0.numpy())
    ours_t = rnnbook.torch.RNN(D, H, nonlinearity, dtype=torch.float64)
    ours_t.load_state_dict(weights)
    with torch.no_grad():
        Y_t, h_t = ours_t(X, h0)
    assert Y_np.shape == (T, B, H) and h_np.shape == (B, H)
    assert tuple(Y_t.shape) == (T, B, H) and tuple(h_t.shape) == (1, B, H)  # torch.nn's (layers, B, H)
    for ours_Y, ours_h in ((Y_np, h_np), (Y_t, h_t[0])):
        assert rel(ours_Y, Y_ref) < TOL
        assert rel(ours_h, h_ref[0]) < TOL


def test_our_weights_into_torch_nn(rng):
    """The other direction: our NumPy layer's state dict, loaded into torch.nn.RNN, gives the same outputs."""
    ours = rnnbook.numpy.RNN(3, 4, rng=rng)
    ref = torch.nn.RNN(3, 4, dtype=torch.float64)
    ref.load_state_dict({k: torch.from_numpy(v) for k, v in to_torch_nn(ours.state_dict()).items()})
    X = rng.normal(size=(6, 2, 3))
    with torch.no_grad():
        Y_ref, _ = ref(torch.from_numpy(X))
    assert rel(ours.forward(X)[0], Y_ref) < TOL


def test_torch_layer_batch_first_matches_time_major():
    """batch_first only transposes the interface: (B, T, D) in, (B, T, H) out, same numbers."""
    torch.manual_seed(0)
    tm = rnnbook.torch.RNN(3, 5, dtype=torch.float64)
    bf = rnnbook.torch.RNN(3, 5, batch_first=True, dtype=torch.float64)
    bf.load_state_dict(tm.state_dict())
    X = torch.randn(7, 2, 3, dtype=torch.float64)
    Y_tm, h_tm = tm(X)
    Y_bf, h_bf = bf(X.transpose(0, 1))
    assert torch.equal(Y_bf.transpose(0, 1), Y_tm) and torch.equal(h_bf, h_tm)


def test_torch_layer_autograd_matches_torch_nn():
    """Gradients of our torch layer (autograd through our ops) equal torch.nn.RNN's."""
    torch.manual_seed(1)
    ref = torch.nn.RNN(4, 6, dtype=torch.float64)
    ours = rnnbook.torch.RNN(4, 6, dtype=torch.float64)
    ours.load_state_dict(from_torch_nn(ref.state_dict()))
    X = torch.randn(9, 3, 4, dtype=torch.float64)
    W = torch.randn(9, 3, 6, dtype=torch.float64)
    (W * ref(X)[0]).sum().backward()
    (W * ours(X)[0]).sum().backward()
    grads_ref = {k: p.grad for k, p in ref.named_parameters()}  # the same names as ours
    for name, p in ours.named_parameters():
        assert rel(p.grad, grads_ref[name]) < TOL, name


def test_float32_layers_agree_with_torch_nn():
    """In float32 (the GPU's usual precision) agreement is to float32 resolution."""
    torch.manual_seed(2)
    ref = torch.nn.RNN(3, 16)
    ours = rnnbook.torch.RNN(3, 16)
    ours.load_state_dict(from_torch_nn(ref.state_dict()))
    X = torch.randn(20, 4, 3)
    with torch.no_grad():
        assert rel(ours(X)[0], ref(X)[0]) < 1e-5
    ours_np = rnnbook.numpy.RNN(3, 16, dtype=np.float32)
    ours_np.load_state_dict(from_torch_nn(ref.state_dict()))
    Y_np, _ = ours_np.forward(X.numpy())
    assert Y_np.dtype == np.float32
    with torch.no_grad():
        assert rel(Y_np, ref(X)[0]) < 1e-5


@CUDA
def test_torch_layer_on_cuda_matches_cpu():
    """On a GPU our layer agrees with torch.nn.RNN (cuDNN) and with itself on the CPU."""
    torch.manual_seed(3)
    ref = torch.nn.RNN(5, 32, dtype=torch.float64).cuda()
    ours = rnnbook.torch.RNN(5, 32, dtype=torch.float64, device="cuda")
    ours.load_state_dict(from_torch_nn(ref.state_dict()))
    X = torch.randn(30, 8, 5, dtype=torch.float64, device="cuda")
    with torch.no_grad():
        Y_gpu, _ = ours(X)
        assert rel(Y_gpu, ref(X)[0]) < TOL
        assert rel(Y_gpu, ours.cpu()(X.cpu())[0]) < TOL


def test_state_dict_round_trip_is_exact(rng):
    """torch.nn.RNN -> our NumPy layer -> our torch layer (cell names) -> torch.nn.RNN (as it is) keeps every bit."""
    ref = torch.nn.RNN(3, 4, dtype=torch.float64)
    a = rnnbook.numpy.RNN(3, 4)
    a.load_state_dict(from_torch_nn(ref.state_dict()))
    b = rnnbook.torch.RNN(3, 4, dtype=torch.float64)
    b.load_state_dict({k: torch.from_numpy(v) for k, v in a.state_dict().items()})
    back = b.state_dict()
    assert list(back) == list(ref.state_dict())
    for key, value in ref.state_dict().items():
        assert torch.equal(back[key], value), key


def test_numpy_layer_initialisation_is_seeded_and_in_range():
    """Weights are U(-1/sqrt(H), 1/sqrt(H)) like torch.nn, and the same rng seed gives the same layer."""
    a = rnnbook.numpy.RNN(3, 16, rng=np.random.default_rng(5))
    b = rnnbook.numpy.RNN(3, 16, rng=np.random.default_rng(5))
    for name, p in a.params.items():
        assert np.array_equal(p, b.params[name])
        assert np.abs(p).max() <= 0.25 and np.abs(p).max() > 0.2  # 1/sqrt(16) = 0.25
    assert a.num_parameters() == 16 * 3 + 16 * 16 + 2 * 16


def test_load_state_dict_copies(rng):
    """The layer owns its parameters: changing the source afterwards does not change the layer."""
    src = rnnbook.numpy.RNN(2, 3, rng=rng).state_dict()
    layer = rnnbook.numpy.RNN(2, 3)
    layer.load_state_dict(src)
    src["weight_hh"][:] = 0.0
    assert np.abs(layer.params["weight_hh"]).max() > 0


def test_step_functions_refuse_an_unknown_nonlinearity():
    """Issue 9, defect 4: nonlinearity="sigmoid" used to compute relu in the public step functions."""
    layer = rnnbook.numpy.RNN(3, 4, rng=np.random.default_rng(0))
    x, h = np.ones((2, 3)), np.zeros((2, 4))
    with pytest.raises(ValueError, match=r"nonlinearity must be one of \('tanh', 'relu'\), got 'sigmoid'"):
        rnnbook.numpy.rnn_step_forward(x, h, layer.params, "sigmoid")
    _, cache = rnnbook.numpy.rnn_step_forward(x, h, layer.params)
    with pytest.raises(ValueError, match="got 'sigmoid'"):
        rnnbook.numpy.rnn_step_backward(h, cache, layer.params, "sigmoid")


def test_load_state_dict_refuses_non_finite_and_complex_weights():
    """Issue 9, defect 4: NaN/inf weights were accepted; complex ones lost their imaginary part with a warning."""
    good = rnnbook.numpy.RNN(3, 4, rng=np.random.default_rng(0)).state_dict()
    for layer in (rnnbook.numpy.RNN(3, 4), rnnbook.torch.RNN(3, 4, dtype=torch.float64)):
        convert = (lambda v: v) if isinstance(layer, rnnbook.numpy.RNN) else torch.as_tensor
        for value, error, message in ((np.inf, ValueError, "weight_hh(_l0)?'\\] must be finite, but 1 of"),
                                      (np.nan, ValueError, "weight_hh(_l0)?'\\] must be finite"),
                                      (1j, TypeError, "weight_hh(_l0)?'\\] must hold real numbers.*complex")):
            W = good["weight_hh"].astype(type(value) if isinstance(value, complex) else np.float64)
            W[0, 0] = value
            with pytest.raises(error, match=message):
                layer.load_state_dict({k: convert(v) for k, v in {**good, "weight_hh": W}.items()})
    with pytest.raises(ValueError, match="weight_hh_l0'\\] must be finite"):  # rnnbook.state too
        from_torch_nn({**to_torch_nn(good), "weight_hh_l0": np.full((4, 4), np.nan)})


def test_tanh_derivative_keeps_the_digits_near_saturation():
    """Issue 9, defect 7: phi'(a) = 1 - h^2 from the rounded h = tanh(a), for a up to 15 (1 - h ~ 1e-13).

    The reference is 1 - h^2 of the same float64 h, computed exactly (fractions), rounded once. Ours,
    (1 - h)(1 + h), is within an ulp of it, as torch's own tanh backward is; the old 1 - h*h was
    off by up to ~4e-9, which this test would catch.
    """
    from rnnbook.numpy.activations import activate_grad

    from fractions import Fraction

    h = np.tanh(np.linspace(0.0, 15.0, 3001))
    exact = np.array([float(1 - Fraction(v) ** 2) for v in h])  # exact rational arithmetic, rounded once
    ulp = np.finfo(np.float64).eps
    assert rel(activate_grad(h, "tanh") / exact, np.ones_like(h)) <= ulp
    torch_grad = torch.ops.aten.tanh_backward(torch.ones(h.size, dtype=torch.float64), torch.from_numpy(h))
    assert rel(activate_grad(h, "tanh") / torch_grad.numpy(), np.ones_like(h)) <= ulp
    assert np.max(np.abs((1.0 - h * h) / exact - 1)) > 1e-9  # the form it replaced loses digits


def test_saturated_layer_parity_is_limited_by_the_rounding_of_h_for_both():
    """Weights 6x the default scale saturate the units (|h| up to 1 - 1e-8). Ours and torch.nn.RNN
    stay within the parity tolerance of each other and are equally close to an extended-precision
    run of our layer: the remaining error is the forward's rounding, not our backward."""
    torch.manual_seed(0)
    ref = torch.nn.RNN(8, 16, dtype=torch.float64)
    with torch.no_grad():
        for p in ref.parameters():
            p.mul_(6.0)
    rng = np.random.default_rng(0)
    X, dY = rng.normal(size=(20, 4, 8)), rng.normal(size=(20, 4, 16))
    ours, hi = rnnbook.numpy.RNN(8, 16), rnnbook.numpy.RNN(8, 16, dtype=np.longdouble)
    ours.load_state_dict(from_torch_nn(ref.state_dict()))
    hi.load_state_dict(from_torch_nn(ref.state_dict()))
    Y, _ = ours.forward(X)
    assert 1 - np.abs(Y).max() < 1e-7
    grads = ours.backward(dY)
    hi.forward(X.astype(np.longdouble))
    exact = {k: v.astype(np.float64) for k, v in hi.backward(dY.astype(np.longdouble)).items()}
    Xt = torch.tensor(X, requires_grad=True)
    (torch.from_numpy(dY) * ref(Xt)[0]).sum().backward()
    theirs = {**from_torch_nn({k: p.grad for k, p in ref.named_parameters()}), "X": Xt.grad}
    for name, g in theirs.items():
        assert rel(grads[name], g) < TOL, name
        assert rel(grads[name], exact[name]) < 1e-13 and rel(g, exact[name]) < 1e-13, name
