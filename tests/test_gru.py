"""Tests of the GRU (chapter 4): rnnbook.numpy.GRU and rnnbook.torch.GRU, in both forms.

References: ``torch.nn.GRU`` (which computes the ``reset_after=True`` form) with copied weights,
finite differences for the hand-written backward pass, and autograd through our torch layer for
the original form of Cho et al. (2014), which ``torch.nn`` does not offer.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnbook.gradcheck import check_gradients
from rnnbook.numpy import GRU, gru_step_backward, gru_step_forward
from rnnbook.numpy.activations import sigmoid
from rnnbook.state import from_torch_nn, to_torch_nn
from rnnbook.torch import GRU as TorchGRU
from tests.conftest import CUDA, SHAPES, rel

TOL = 1e-12  # relative error max|a - b| / max|b|, float64 (the issue asks for 1e-10)


def make_data(T: int, B: int, D: int, H: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Inputs, an initial state and upstream gradients for a loss sum(dY * Y) + sum(dh_T * h_T)."""
    rng = np.random.default_rng(seed)
    return {"X": rng.normal(size=(T, B, D)), "h0": rng.normal(size=(B, H)),
            "dY": rng.normal(size=(T, B, H)), "dh_T": rng.normal(size=(B, H))}


def torch_nn_gru(D: int, H: int, seed: int = 0) -> torch.nn.GRU:
    torch.manual_seed(seed)
    return torch.nn.GRU(D, H, dtype=torch.float64)


def autograd_run(module: torch.nn.Module, data: dict[str, np.ndarray], use_h0: bool, use_dh_T: bool,
                 nn_style: bool) -> dict[str, torch.Tensor]:
    """Run ``module`` forward and backward on ``data``; return outputs and every gradient.

    ``nn_style``: the module is a ``torch.nn.GRU``, given h0 as ``(1, B, H)``; ours is given (B, H).
    Both return the final state as ``(1, B, H)`` and name parameters ``weight_ih_l0``, ....
    """
    X = torch.tensor(data["X"], requires_grad=True)
    h0 = torch.tensor(data["h0"], requires_grad=True)
    h0_arg = (h0[None] if nn_style else h0) if use_h0 else None
    Y, h_T = module(X, h0_arg)
    assert h_T.shape == (1, *data["h0"].shape)
    h_T = h_T[0]
    loss = (Y * torch.tensor(data["dY"])).sum()
    if use_dh_T:
        loss = loss + (h_T * torch.tensor(data["dh_T"])).sum()
    module.zero_grad()
    loss.backward()
    grads = {name: p.grad for name, p in module.named_parameters()}
    out = {"Y": Y, "h_T": h_T, "X": X.grad}
    out.update(from_torch_nn(grads))
    if use_h0:
        out["h0"] = h0.grad
    return out


def numpy_run(layer: GRU, data: dict[str, np.ndarray], use_h0: bool, use_dh_T: bool) -> dict[str, np.ndarray]:
    Y, h_T = layer.forward(data["X"], data["h0"] if use_h0 else None)
    grads = layer.backward(data["dY"], data["dh_T"] if use_dh_T else None)
    if not use_h0:
        del grads["h0"]
    return {"Y": Y, "h_T": h_T, **grads}


# ---------------------------------------------------------------------------------------------
# Parity with torch.nn.GRU (the reset_after=True form)
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("use_dh_T", [False, True], ids=["no-dh_T", "dh_T"])
@pytest.mark.parametrize("use_h0", [False, True], ids=["no-h0", "h0"])
@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_numpy_matches_torch_nn_gru(T: int, B: int, D: int, H: int, use_h0: bool, use_dh_T: bool) -> None:
    """Eqs. gru-reset, gru-update, gru-candidate-after, gru-state and the backward pass
    (gru-grad-state, gru-grad-gates, gru-grad-reset-after) equal torch.nn.GRU's, float64."""
    data = make_data(T, B, D, H)
    ref = torch_nn_gru(D, H)
    layer = GRU(D, H, reset_after=True)
    layer.load_state_dict(from_torch_nn(ref.state_dict()))
    got = numpy_run(layer, data, use_h0, use_dh_T)
    want = autograd_run(ref, data, use_h0, use_dh_T, nn_style=True)
    assert set(got) == set(want)
    for key in want:
        assert got[key].shape == tuple(want[key].shape), key
        assert rel(got[key], want[key]) < TOL, key


@pytest.mark.parametrize("use_h0", [False, True], ids=["no-h0", "h0"])
@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_torch_layer_matches_torch_nn_gru(T: int, B: int, D: int, H: int, use_h0: bool) -> None:
    """Our torch GRU (reset_after=True, chapter 4) equals torch.nn.GRU: outputs, state, gradients."""
    data = make_data(T, B, D, H)
    ref = torch_nn_gru(D, H)
    ours = TorchGRU(D, H, dtype=torch.float64)
    ours.load_state_dict(from_torch_nn(ref.state_dict()))
    got = autograd_run(ours, data, use_h0, True, nn_style=False)
    want = autograd_run(ref, data, use_h0, True, nn_style=True)
    assert set(got) == set(want)
    for key in want:
        assert rel(got[key], want[key]) < TOL, key


# ---------------------------------------------------------------------------------------------
# The original form (reset_after=False), which torch.nn does not offer
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("use_h0", [False, True], ids=["no-h0", "h0"])
@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_numpy_matches_torch_layer_autograd(T: int, B: int, D: int, H: int, use_h0: bool,
                                            reset_after: bool) -> None:
    """Hand-written backward (eq. gru-grad-reset-cho for reset_after=False) equals autograd through
    our torch layer, which implements eq. gru-candidate-cho independently, float64."""
    data = make_data(T, B, D, H, seed=1)
    layer = GRU(D, H, reset_after=reset_after, rng=np.random.default_rng(2))
    ours = TorchGRU(D, H, reset_after=reset_after, dtype=torch.float64)
    ours.load_state_dict({k: torch.from_numpy(v) for k, v in layer.state_dict().items()})
    got = numpy_run(layer, data, use_h0, True)
    want = autograd_run(ours, data, use_h0, True, nn_style=False)
    assert set(got) == set(want)
    for key in want:
        assert rel(got[key], want[key]) < TOL, key


@pytest.mark.parametrize("reset_after", [True, False])
def test_backward_matches_finite_differences(reset_after: bool) -> None:
    """The hand-written backward pass of chapter 4 (both forms) agrees with central differences
    for every parameter, the inputs and the initial state."""
    T, B, D, H = 4, 2, 3, 5
    data = make_data(T, B, D, H, seed=3)
    layer = GRU(D, H, reset_after=reset_after, rng=np.random.default_rng(4))
    X, h0 = data["X"].copy(), data["h0"].copy()

    def loss() -> float:
        Y, h_T = layer.forward(X, h0)
        return float((Y * data["dY"]).sum() + (h_T * data["dh_T"]).sum())

    layer.forward(X, h0)
    analytic = layer.backward(data["dY"], data["dh_T"])
    report = check_gradients(loss, {**layer.params, "X": X, "h0": h0}, analytic, max_entries=40)
    report.assert_ok(1e-7)


def test_step_backward_matches_finite_differences_cho_form() -> None:
    """One step of eq. gru-candidate-cho, differentiated by gru_step_backward, vs central differences."""
    rng = np.random.default_rng(5)
    B, D, H = 3, 2, 4
    params = GRU(D, H, reset_after=False, rng=rng).state_dict()
    x, h_prev, dh = rng.normal(size=(B, D)), rng.normal(size=(B, H)), rng.normal(size=(B, H))

    def loss() -> float:
        return float((gru_step_forward(x, h_prev, params, reset_after=False)[0] * dh).sum())

    _, cache = gru_step_forward(x, h_prev, params, reset_after=False)
    dx, dh_prev, grads = gru_step_backward(dh, cache, params, reset_after=False)
    check_gradients(loss, {**params, "x": x, "h_prev": h_prev},
                    {**grads, "x": dx, "h_prev": dh_prev}).assert_ok(1e-7)


def test_two_forms_are_different_functions() -> None:
    """Eqs. gru-candidate-after and gru-candidate-cho differ on the same weights: not a notation change."""
    T, B, D, H = 5, 4, 3, 6
    data = make_data(T, B, D, H, seed=6)
    after = GRU(D, H, reset_after=True, rng=np.random.default_rng(7))
    cho = GRU(D, H, reset_after=False)
    cho.load_state_dict(after.state_dict())
    Y_after, _ = after.forward(data["X"], data["h0"])
    Y_cho, _ = cho.forward(data["X"], data["h0"])
    assert np.abs(Y_after - Y_cho).max() > 1e-2
    # ... and they coincide where the reset gate has nothing to act on: with W_hn = 0 and b_hn = 0
    # both candidates are tanh(W_in x_t + b_in).
    for layer in (after, cho):
        layer.params["weight_hh"][2 * H:] = 0.0
        layer.params["bias_hh"][2 * H:] = 0.0
    assert rel(after.forward(data["X"], data["h0"])[0], cho.forward(data["X"], data["h0"])[0]) < 1e-15


def test_update_gate_convention_is_a_relabelling() -> None:
    """h_t = (1 - z_t) n_t + z_t h_{t-1} (eq. gru-state) with the z-block of every weight and bias
    negated equals the other texts' h_t = (1 - z_t) h_{t-1} + z_t n_t, since sigma(-a) = 1 - sigma(a)."""
    T, B, D, H = 4, 3, 2, 5
    data = make_data(T, B, D, H, seed=8)
    layer = GRU(D, H, rng=np.random.default_rng(9))
    p = layer.state_dict()
    W_ir, W_iz, W_in = np.split(p["weight_ih"], 3)
    W_hr, W_hz, W_hn = np.split(p["weight_hh"], 3)
    b_ir, b_iz, b_in = np.split(p["bias_ih"], 3)
    b_hr, b_hz, b_hn = np.split(p["bias_hh"], 3)
    h, states = data["h0"], []
    for x in data["X"]:  # the other convention, written out independently
        r = sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
        z = sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
        n = np.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
        h = (1 - z) * h + z * n
        states.append(h)
    for name in p:
        p[name][H:2 * H] *= -1.0  # negate the z block
    layer.load_state_dict(p)
    Y, _ = layer.forward(data["X"], data["h0"])
    assert rel(Y, np.stack(states)) < 1e-14


# ---------------------------------------------------------------------------------------------
# Layout, state dicts, devices, batch_first
# ---------------------------------------------------------------------------------------------

def test_parameter_layout_is_torch_gru_cell() -> None:
    """Parameters have torch.nn.GRUCell's shapes (3 blocks r, z, n of H rows); the NumPy layer its
    names, the torch layer torch.nn.GRU's."""
    D, H = 3, 4
    cell = torch.nn.GRUCell(D, H)
    expected = {k: tuple(v.shape) for k, v in cell.state_dict().items()}
    assert GRU.gate_count == TorchGRU.gate_count == 3
    assert {k: v.shape for k, v in GRU(D, H).params.items()} == expected
    assert {k: tuple(v.shape) for k, v in from_torch_nn(TorchGRU(D, H).state_dict()).items()} == expected
    assert list(TorchGRU(D, H).state_dict()) == list(torch.nn.GRU(D, H).state_dict())
    assert GRU(D, H, rng=np.random.default_rng(0)).num_parameters() == sum(v.numel() for v in cell.parameters())


def test_state_dict_round_trip_with_torch_nn_gru() -> None:
    """A state dict moves numpy -> torch.nn.GRU -> our torch layer -> numpy unchanged, in either form."""
    D, H = 3, 4
    layer = GRU(D, H, reset_after=False, rng=np.random.default_rng(10))
    ref = torch.nn.GRU(D, H, dtype=torch.float64)
    ref.load_state_dict({k: torch.from_numpy(v) for k, v in to_torch_nn(layer.state_dict()).items()})
    ours = TorchGRU(D, H, dtype=torch.float64)
    ours.load_state_dict(from_torch_nn(ref.state_dict()))
    back = GRU(D, H, reset_after=True)
    back.load_state_dict(ours.state_dict())
    for name, value in layer.params.items():
        np.testing.assert_array_equal(back.params[name], value)


@pytest.mark.parametrize("reset_after", [True, False])
def test_batch_first(reset_after: bool) -> None:
    """batch_first=True is the time-major computation with axes 0 and 1 swapped."""
    torch.manual_seed(11)
    tm = TorchGRU(3, 4, reset_after=reset_after, dtype=torch.float64)
    bf = TorchGRU(3, 4, reset_after=reset_after, batch_first=True, dtype=torch.float64)
    bf.load_state_dict(tm.state_dict())
    X = torch.randn(5, 2, 3, dtype=torch.float64)
    h0 = torch.randn(2, 4, dtype=torch.float64)
    Y, h_T = tm(X, h0)
    Y_bf, h_T_bf = bf(X.transpose(0, 1), h0)
    assert Y_bf.shape == (2, 5, 4)
    assert torch.equal(Y_bf, Y.transpose(0, 1)) and torch.equal(h_T_bf, h_T)


@CUDA
@pytest.mark.parametrize("reset_after", [True, False])
def test_cuda_matches_cpu(reset_after: bool) -> None:
    """Our torch GRU on the GPU computes what it computes on the CPU (float64, gradients too)."""
    data = make_data(6, 3, 4, 5, seed=12)
    cpu = TorchGRU(4, 5, reset_after=reset_after, dtype=torch.float64)
    gpu = TorchGRU(4, 5, reset_after=reset_after, dtype=torch.float64, device="cuda")
    gpu.load_state_dict(cpu.state_dict())
    want = autograd_run(cpu, data, True, True, nn_style=False)
    X = torch.tensor(data["X"], device="cuda", requires_grad=True)
    h0 = torch.tensor(data["h0"], device="cuda", requires_grad=True)
    Y, h_T = gpu(X, h0)
    ((Y * torch.tensor(data["dY"], device="cuda")).sum()
     + (h_T * torch.tensor(data["dh_T"], device="cuda")).sum()).backward()
    got = {"Y": Y, "h_T": h_T, "X": X.grad, "h0": h0.grad}
    got.update({name: p.grad for name, p in gpu.named_parameters()})
    for key in want:
        assert got[key].device.type == "cuda"
        assert rel(got[key], want[key]) < 1e-10, key


def test_float32_layer() -> None:
    """A float32 NumPy GRU stays float32 and agrees with float64 to single precision."""
    data = make_data(5, 2, 3, 4, seed=13)
    g64 = GRU(3, 4, rng=np.random.default_rng(14))
    g32 = GRU(3, 4, dtype=np.float32)
    g32.load_state_dict(g64.state_dict())
    Y32, h32 = g32.forward(data["X"].astype(np.float32))
    grads = g32.backward(data["dY"].astype(np.float32))
    assert Y32.dtype == h32.dtype == np.float32
    assert all(g.dtype == np.float32 for g in grads.values())
    assert rel(Y32, g64.forward(data["X"])[0]) < 1e-5


# ---------------------------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------------------------

def test_numpy_bad_arguments() -> None:
    """Bad sizes, flags and inputs fail early with a message naming the argument and the shape."""
    with pytest.raises(TypeError, match="reset_after must be a bool"):
        GRU(3, 4, reset_after="yes")
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        GRU(3, 0)
    with pytest.raises(TypeError, match="input_size must be a positive int"):
        GRU(3.0, 4)
    gru = GRU(3, 4, rng=np.random.default_rng(0))
    with pytest.raises(RuntimeError, match="needs a forward"):
        gru.backward(np.zeros((1, 1, 4)))
    with pytest.raises(ValueError, match=r"X must have shape \(T, B, 3\).*got 2-D shape \(2, 3\)"):
        gru.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"last axis is 5, expected input_size=3"):
        gru.forward(np.zeros((2, 1, 5)))
    with pytest.raises(TypeError, match="X must have a floating dtype"):
        gru.forward(np.zeros((2, 1, 3), dtype=int))
    with pytest.raises(TypeError, match=r"X must be an array of shape \(T, B, 3\), got list"):
        gru.forward([[[0.0, 0.0, 0.0]]])
    with pytest.raises(ValueError, match=r"h0 must have shape \(B, H\) = \(1, 4\), got \(4,\)"):
        gru.forward(np.zeros((2, 1, 3)), np.zeros(4))
    X = np.zeros((2, 1, 3))
    X[1, 0, 2] = np.nan
    with pytest.raises(ValueError, match="X must be finite, but 1 of its 6 entries"):
        gru.forward(X)
    gru.forward(np.zeros((2, 1, 3)))
    with pytest.raises(ValueError, match=r"dY must have the shape .* \(2, 1, 4\), got \(3, 1, 4\)"):
        gru.backward(np.zeros((3, 1, 4)))
    with pytest.raises(ValueError, match=r"dh_T must have shape \(B, H\) = \(1, 4\), got \(1, 5\)"):
        gru.backward(np.zeros((2, 1, 4)), np.zeros((1, 5)))
    with pytest.raises(ValueError, match=r"state_dict\['weight_hh'\] must have shape \(12, 4\), got \(4, 4\)"):
        gru.load_state_dict({**gru.state_dict(), "weight_hh": np.zeros((4, 4))})


def test_torch_bad_arguments() -> None:
    """The torch layer names the bad argument: flag, tensor type, shape, dtype."""
    with pytest.raises(TypeError, match="reset_after must be a bool"):
        TorchGRU(3, 4, reset_after=1)
    gru = TorchGRU(3, 4)
    with pytest.raises(TypeError, match="X must be a torch.Tensor or a PackedSequence, got ndarray"):
        gru(np.zeros((2, 1, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"last axis is 2, expected input_size=3"):
        gru(torch.zeros(2, 1, 2))
    with pytest.raises(TypeError, match="X has dtype torch.float64 but the layer's parameters are torch.float32"):
        gru(torch.zeros(2, 1, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match=r"h0 must have shape \(num_layers \* num_directions, B, H\) = \(1, 1, 4\) "
                                         r"or \(B, H\) = \(1, 4\), got \(2, 1, 4\)"):
        gru(torch.zeros(2, 1, 3), torch.zeros(2, 1, 4))


def test_step_functions_refuse_a_non_bool_reset_after() -> None:
    """Issue 9, defect 4: reset_after="no" was truthy, so it silently meant True."""
    layer = GRU(3, 4, rng=np.random.default_rng(0))
    x, h = np.ones((2, 3)), np.zeros((2, 4))
    with pytest.raises(TypeError, match="reset_after must be a bool, got str 'no'"):
        gru_step_forward(x, h, layer.params, "no")
    _, cache = gru_step_forward(x, h, layer.params)
    with pytest.raises(TypeError, match="reset_after must be a bool, got str 'no'"):
        gru_step_backward(h, cache, layer.params, "no")
