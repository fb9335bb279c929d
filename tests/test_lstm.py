"""The LSTM of chapter 3: our NumPy and torch layers against torch.nn.LSTM and finite differences.

Every parity test runs in float64 with weights copied from a ``torch.nn.LSTM`` through
``rnnbook.state``, and measures the relative error max|ours - reference| / max|reference|
(``rel``, over the shared ``SHAPES``: T = 1, B = 1, D != H both ways).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnbook.gradcheck import check_gradients
from rnnbook.numpy import LSTM, lstm_step_backward, lstm_step_forward
from rnnbook.state import from_torch_nn, to_torch_nn
from rnnbook.torch import LSTM as TorchLSTM
from tests.conftest import CUDA, SHAPES, rel

PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
TOL = 1e-10  # float64 parity: the same arithmetic in a different order


def reference(D: int, H: int, seed: int = 0, batch_first: bool = False) -> torch.nn.LSTM:
    torch.manual_seed(seed)
    return torch.nn.LSTM(D, H, dtype=torch.float64, batch_first=batch_first)


def numpy_like(ref: torch.nn.LSTM) -> LSTM:
    layer = LSTM(ref.input_size, ref.hidden_size, rng=np.random.default_rng(99))
    layer.load_state_dict(from_torch_nn(ref.state_dict()))
    return layer


def data(T: int, B: int, D: int, H: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"X": rng.standard_normal((T, B, D)), "h0": rng.standard_normal((B, H)),
            "c0": rng.standard_normal((B, H)), "dY": rng.standard_normal((T, B, H)),
            "dh_T": rng.standard_normal((B, H)), "dc_T": rng.standard_normal((B, H))}


def torch_nn_run(ref: torch.nn.LSTM, d: dict[str, np.ndarray], with_state0: bool, with_final_grads: bool):
    """torch.nn.LSTM's outputs, final states and autograd gradients for the loss
    L = sum(Y * dY) [+ sum(h_T * dh_T) + sum(c_T * dc_T)], whose dL/dY is dY."""
    ref.zero_grad()
    X = torch.tensor(d["X"], requires_grad=True)
    B, H = d["h0"].shape
    h0 = torch.tensor(d["h0"] if with_state0 else np.zeros((B, H)))[None].requires_grad_()
    c0 = torch.tensor(d["c0"] if with_state0 else np.zeros((B, H)))[None].requires_grad_()
    Y, (h_T, c_T) = ref(X, (h0, c0))
    loss = (Y * torch.tensor(d["dY"])).sum()
    if with_final_grads:
        loss = loss + (h_T[0] * torch.tensor(d["dh_T"])).sum() + (c_T[0] * torch.tensor(d["dc_T"])).sum()
    loss.backward()
    grads = {name: getattr(ref, f"{name}_l0").grad for name in PARAMS}
    grads.update(X=X.grad, h0=h0.grad[0], c0=c0.grad[0])
    return Y, h_T[0], c_T[0], grads


# --- the NumPy layer against torch.nn.LSTM -------------------------------------------------------

@pytest.mark.parametrize("with_final_grads", [False, True], ids=["no-dT", "dT"])
@pytest.mark.parametrize("with_state0", [False, True], ids=["zero-state", "state0"])
@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_numpy_lstm_matches_torch_nn(T, B, D, H, with_state0, with_final_grads):
    """Eqs. lstm-i to lstm-h (forward) and lstm-do to lstm-dparams (backward) of chapter 3:
    outputs, (h_T, c_T) and the gradients of every parameter, X, h0 and c0 equal torch.nn.LSTM's."""
    ref = reference(D, H)
    d = data(T, B, D, H)
    Y_ref, h_ref, c_ref, g_ref = torch_nn_run(ref, d, with_state0, with_final_grads)

    lstm = numpy_like(ref)
    Y, (h_T, c_T) = lstm.forward(d["X"], (d["h0"], d["c0"]) if with_state0 else None)
    grads = lstm.backward(d["dY"], *((d["dh_T"], d["dc_T"]) if with_final_grads else ()))

    assert Y.shape == (T, B, H) and h_T.shape == c_T.shape == (B, H)
    assert rel(Y, Y_ref) < TOL
    assert rel(h_T, h_ref) < TOL
    assert rel(c_T, c_ref) < TOL
    assert set(grads) == {*PARAMS, "X", "h0", "c0"}
    for name, g in g_ref.items():
        assert grads[name].shape == tuple(g.shape), name
        assert rel(grads[name], g) < TOL, name


def test_step_functions_match_torch_nn_lstm_cell():
    """Eqs. lstm-i to lstm-h for one step, and its chain rule, equal torch.nn.LSTMCell's."""
    torch.manual_seed(0)
    cell = torch.nn.LSTMCell(3, 4, dtype=torch.float64)
    params = {k: v.detach().numpy() for k, v in cell.state_dict().items()}
    rng = np.random.default_rng(2)
    x, h_prev, c_prev = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    dh, dc = rng.standard_normal((2, 4)), rng.standard_normal((2, 4))

    h, c, cache = lstm_step_forward(x, h_prev, c_prev, params)
    dx, dh_prev, dc_prev, grads = lstm_step_backward(dh, dc, cache, params)

    xt, ht, ct = (torch.tensor(a, requires_grad=True) for a in (x, h_prev, c_prev))
    h_ref, c_ref = cell(xt, (ht, ct))
    ((h_ref * torch.tensor(dh)).sum() + (c_ref * torch.tensor(dc)).sum()).backward()
    assert rel(h, h_ref) < TOL and rel(c, c_ref) < TOL
    assert rel(dx, xt.grad) < TOL and rel(dh_prev, ht.grad) < TOL and rel(dc_prev, ct.grad) < TOL
    for name in PARAMS:
        assert rel(grads[name], getattr(cell, name).grad) < TOL, name


# --- finite differences -----------------------------------------------------------------------------

@pytest.mark.parametrize("T,B,D,H", [(1, 2, 3, 2), (5, 3, 2, 4)])
def test_numpy_lstm_backward_matches_finite_differences(T, B, D, H):
    """Eqs. lstm-do to lstm-dparams: the hand-written backward equals central differences of the loss
    L = sum(Y * dY) + sum(h_T * dh_T) + sum(c_T * dc_T), for every parameter, X, h0 and c0."""
    lstm = LSTM(D, H, rng=np.random.default_rng(3))
    d = data(T, B, D, H, seed=4)
    arrays = {**lstm.params, "X": d["X"], "h0": d["h0"], "c0": d["c0"]}  # perturbed in place

    def loss() -> float:
        Y, (h_T, c_T) = lstm.forward(d["X"], (d["h0"], d["c0"]))
        return float((Y * d["dY"]).sum() + (h_T * d["dh_T"]).sum() + (c_T * d["dc_T"]).sum())

    loss()
    analytic = lstm.backward(d["dY"], d["dh_T"], d["dc_T"])
    report = check_gradients(loss, arrays, analytic, max_entries=40)
    assert {c.name for c in report.checks} == {*PARAMS, "X", "h0", "c0"}
    report.assert_ok(tol=1e-7)


# --- our torch layer against torch.nn.LSTM -------------------------------------------------------

def torch_ours_run(layer: TorchLSTM, d: dict[str, np.ndarray], device: str = "cpu"):
    """Our torch layer's outputs and autograd gradients for the loss of :func:`torch_nn_run` (with dT)."""
    layer.zero_grad()
    X, h0, c0 = (torch.tensor(d[k], device=device, requires_grad=True) for k in ("X", "h0", "c0"))
    Y, (h_T, c_T) = layer(X, (h0, c0))
    dY, dh_T, dc_T = (torch.tensor(d[k], device=device) for k in ("dY", "dh_T", "dc_T"))
    ((Y * dY).sum() + (h_T * dh_T).sum() + (c_T * dc_T).sum()).backward()
    grads = {name: getattr(layer, name).grad for name in PARAMS}
    grads.update(X=X.grad, h0=h0.grad, c0=c0.grad)
    assert h_T.shape == c_T.shape == (1, *d["h0"].shape)  # torch.nn's (layers, B, H)
    return Y, h_T[0], c_T[0], grads


@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_torch_lstm_matches_torch_nn_and_numpy(T, B, D, H):
    """Eqs. lstm-i to lstm-h in tensor ops: outputs, states and autograd gradients equal torch.nn.LSTM's,
    and the outputs equal the NumPy layer's."""
    ref = reference(D, H)
    d = data(T, B, D, H)
    Y_ref, h_ref, c_ref, g_ref = torch_nn_run(ref, d, with_state0=True, with_final_grads=True)
    ours = TorchLSTM(D, H, dtype=torch.float64)
    ours.load_state_dict(from_torch_nn(ref.state_dict()))
    Y, h_T, c_T, grads = torch_ours_run(ours, d)
    assert rel(Y, Y_ref) < TOL and rel(h_T, h_ref) < TOL and rel(c_T, c_ref) < TOL
    for name, g in g_ref.items():
        assert rel(grads[name], g) < TOL, name
    Y_np, _ = numpy_like(ref).forward(d["X"], (d["h0"], d["c0"]))
    assert rel(Y, Y_np) < TOL


def test_torch_lstm_batch_first_matches_torch_nn():
    """batch_first=True: (B, T, D) in, (B, T, H) out, the same numbers as torch.nn.LSTM(batch_first=True)."""
    ref = reference(3, 4, batch_first=True)
    ours = TorchLSTM(3, 4, batch_first=True, dtype=torch.float64)
    ours.load_state_dict(from_torch_nn(ref.state_dict()))
    X = torch.randn(2, 5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    Y_ref, (h_ref, c_ref) = ref(X)
    Y, (h_T, c_T) = ours(X)
    assert Y.shape == (2, 5, 4)
    assert rel(Y, Y_ref) < TOL and rel(h_T, h_ref) < TOL and rel(c_T, c_ref) < TOL


@CUDA
def test_torch_lstm_on_cuda_matches_cpu():
    """Eqs. lstm-i to lstm-h on the GPU: float64 outputs and gradients equal torch.nn.LSTM's on the CPU."""
    ref = reference(3, 5)
    d = data(6, 2, 3, 5)
    Y_ref, h_ref, c_ref, g_ref = torch_nn_run(ref, d, with_state0=True, with_final_grads=True)
    ours = TorchLSTM(3, 5, device="cuda", dtype=torch.float64)
    ours.load_state_dict(from_torch_nn(ref.state_dict()))
    Y, h_T, c_T, grads = torch_ours_run(ours, d, device="cuda")
    assert Y.device.type == "cuda"
    assert rel(Y, Y_ref) < 1e-9 and rel(h_T, h_ref) < 1e-9 and rel(c_T, c_ref) < 1e-9
    for name, g in g_ref.items():
        assert rel(grads[name], g) < 1e-9, name


# --- state dicts, parameter counts, the forget bias ----------------------------------------------

def test_state_dict_round_trip_is_exact():
    """A torch.nn.LSTM state dict goes into both our layers (the NumPy one with cell names) and comes
    back unchanged, bit for bit."""
    ref = reference(3, 4, seed=7)
    sd = ref.state_dict()
    np_layer = numpy_like(ref)
    torch_layer = TorchLSTM(3, 4, dtype=torch.float64)
    torch_layer.load_state_dict(from_torch_nn(sd))
    for back in (to_torch_nn(np_layer.state_dict()), torch_layer.state_dict()):
        fresh = torch.nn.LSTM(3, 4, dtype=torch.float64)
        fresh.load_state_dict({k: torch.as_tensor(v) for k, v in back.items()})
        for k, v in sd.items():
            assert torch.equal(fresh.state_dict()[k], v), k


def test_parameter_count_is_four_times_the_rnn():
    """Chapter 3's count 4 (H D + H^2 + 2 H): both layers and torch.nn.LSTM agree."""
    D, H = 5, 7
    expected = 4 * (H * D + H * H + 2 * H)
    assert LSTM(D, H, rng=np.random.default_rng(0)).num_parameters() == expected
    assert sum(p.numel() for p in TorchLSTM(D, H).parameters()) == expected
    assert sum(p.numel() for p in torch.nn.LSTM(D, H).parameters()) == expected


def test_set_forget_bias_sets_the_forget_block_only():
    """The forget gate's total bias b_if + b_hf (rows H:2H) becomes the value; other gates are untouched."""
    H = 3
    np_layer = LSTM(2, H, rng=np.random.default_rng(0))
    torch_layer = TorchLSTM(2, H, dtype=torch.float64)
    before = [np_layer.state_dict(), from_torch_nn({k: v.detach().numpy().copy() for k, v in torch_layer.state_dict().items()})]
    np_layer.set_forget_bias(1.0)
    torch_layer.set_forget_bias(1.0)
    after = [np_layer.params, from_torch_nn({k: v.detach().numpy() for k, v in torch_layer.state_dict().items()})]
    keep = np.r_[0:H, 2 * H:4 * H]
    for b, a in zip(before, after):
        np.testing.assert_array_equal(a["bias_ih"][H:2 * H] + a["bias_hh"][H:2 * H], np.ones(H))
        for name in ("bias_ih", "bias_hh"):
            np.testing.assert_array_equal(a[name][keep], b[name][keep])
        np.testing.assert_array_equal(a["weight_ih"], b["weight_ih"])


# --- bad input ---------------------------------------------------------------------------------------

def test_numpy_bad_inputs_are_refused_with_a_clear_message():
    """Wrong shapes and types fail early, naming the argument, the expected shape and what was given."""
    lstm = LSTM(3, 4, rng=np.random.default_rng(0))
    X, state = np.zeros((5, 2, 3)), np.zeros((2, 4))
    with pytest.raises(ValueError, match=r"X must have shape \(T, B, 3\): last axis is 6"):
        lstm.forward(np.zeros((5, 2, 6)))
    with pytest.raises(ValueError, match=r"X must have shape \(T, B, 3\) \(time-major\), got 2-D"):
        lstm.forward(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"h0 must have shape \(B, H\) = \(2, 4\), got \(2, 5\)"):
        lstm.forward(X, (np.zeros((2, 5)), state))
    with pytest.raises(ValueError, match=r"c0 must have shape \(B, H\) = \(2, 4\), got \(4,\)"):
        lstm.forward(X, (state, np.zeros(4)))
    with pytest.raises(TypeError, match=r"state0 must be None or a pair \(h0, c0\).*got a single ndarray of shape \(2, 4\)"):
        lstm.forward(X, state)
    with pytest.raises(TypeError, match=r"state0 must be None or a pair.*got a tuple of length 3"):
        lstm.forward(X, (state, state, state))
    bad = state.copy()
    bad[1, 2] = np.inf
    with pytest.raises(ValueError, match=r"c0 must be finite, but 1 of its 8 entries are NaN or inf"):
        lstm.forward(X, (state, bad))
    with pytest.raises(RuntimeError, match="needs a forward"):
        LSTM(3, 4).backward(np.zeros((5, 2, 4)))
    lstm.forward(X)
    with pytest.raises(ValueError, match=r"dY must have the shape of the last forward's outputs \(T, B, H\) = \(5, 2, 4\), got \(4, 2, 4\)"):
        lstm.backward(np.zeros((4, 2, 4)))
    with pytest.raises(ValueError, match=r"dY must have shape \(T, B, 4\): last axis is 3"):
        lstm.backward(np.zeros((5, 2, 3)))
    with pytest.raises(ValueError, match=r"dc_T must have shape \(B, H\) = \(2, 4\), got \(1, 4\)"):
        lstm.backward(np.zeros((5, 2, 4)), state, np.zeros((1, 4)))


def test_torch_bad_inputs_are_refused_with_a_clear_message():
    """The torch layer refuses the same bad shapes, and dtypes that differ from its parameters'."""
    lstm = TorchLSTM(3, 4)
    X, state = torch.zeros(5, 2, 3), torch.zeros(2, 4)
    with pytest.raises(ValueError, match=r"X must have shape \(T, B, 3\): last axis is 6"):
        lstm(torch.zeros(5, 2, 6))
    with pytest.raises(ValueError, match=r"h0 must have shape \(num_layers \* num_directions, B, H\) = \(1, 2, 4\) "
                                         r"or \(B, H\) = \(2, 4\), got \(2, 2, 4\)"):
        lstm(X, (torch.zeros(2, 2, 4), state))  # two layers' states into one layer
    with pytest.raises(ValueError, match=r"c0 must have shape .* = \(1, 2, 4\) or \(B, H\) = \(2, 4\), got \(2, 3\)"):
        lstm(X, (state, torch.zeros(2, 3)))
    with pytest.raises(TypeError, match=r"state0 must be None or a pair \(h0, c0\).*got a single Tensor"):
        lstm(X, state)
    with pytest.raises(TypeError, match=r"c0 must be a floating torch.Tensor of shape \(1, 2, 4\), got ndarray"):
        lstm(X, (state, np.zeros((2, 4))))
    with pytest.raises(TypeError, match=r"X has dtype torch.float64 but the layer's parameters are torch.float32"):
        lstm(X.double())


def test_half_a_state_and_a_nan_forget_bias_are_refused():
    """Issue 9, defect 4: state0=(h0, None) silently used zeros for c0; set_forget_bias(nan) was accepted."""
    X, h0 = np.zeros((3, 2, 3)), np.zeros((2, 4))
    with pytest.raises(TypeError, match=r"state0 must be None or a pair \(h0, c0\).*got None for c0"):
        LSTM(3, 4).forward(X, (h0, None))
    with pytest.raises(TypeError, match=r"got None for c0"):
        TorchLSTM(3, 4)(torch.zeros(3, 2, 3), (torch.zeros(2, 4), None))
    for layer in (LSTM(3, 4), TorchLSTM(3, 4)):
        with pytest.raises(ValueError, match="value must be finite, got nan"):
            layer.set_forget_bias(float("nan"))
