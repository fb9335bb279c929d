"""Backpropagation through time (chapter 2): the hand-written backward, the checker, truncation, clipping."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnbook.numpy
import rnnbook.torch
from rnnbook.gradcheck import check_gradients, error_bound, numerical_gradient
from rnnbook.numpy.clip import clip_grad_norm, clip_grad_value, global_norm
from rnnbook.state import to_torch_nn
from rnnbook.tbptt import truncated_bptt
from rnnbook.torch.clip import clip_grad_norm_, clip_grad_value_
from tests.conftest import SHAPES, rel

PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _autograd_reference(layer, X, h0, dY, dh_T):
    """torch.nn.RNN with the layer's weights; the gradient of sum(dY * Y) + sum(dh_T * h_T)."""
    ref = torch.nn.RNN(layer.input_size, layer.hidden_size, nonlinearity=layer.nonlinearity, dtype=torch.float64)
    ref.load_state_dict({k: torch.from_numpy(v) for k, v in to_torch_nn(layer.params).items()})
    Xt = torch.tensor(X, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True) if h0 is not None else None
    Y, h_T = ref(Xt, h0t)
    loss = (torch.from_numpy(dY) * Y).sum()
    if dh_T is not None:
        loss = loss + (torch.from_numpy(dh_T) * h_T[0]).sum()
    loss.backward()
    grads = {k: p.grad.numpy() for k, p in zip(PARAMS, (ref.weight_ih_l0, ref.weight_hh_l0, ref.bias_ih_l0, ref.bias_hh_l0))}
    grads["X"] = Xt.grad.numpy()
    if h0t is not None:
        grads["h0"] = h0t.grad[0].numpy()
    return grads


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
@pytest.mark.parametrize("with_h0", [False, True])
@pytest.mark.parametrize("with_dh_T", [False, True])
@pytest.mark.parametrize("T,B,D,H", SHAPES)
def test_numpy_backward_matches_torch_autograd(T, B, D, H, with_h0, with_dh_T, nonlinearity):
    """Eqs. bptt-dh, bptt-delta, bptt-params, bptt-inputs: every gradient equals autograd's to 1e-10."""
    rng = np.random.default_rng(T * 1000 + B * 100 + D * 10 + H)
    layer = rnnbook.numpy.RNN(D, H, nonlinearity, rng=rng)
    X = rng.normal(size=(T, B, D))
    h0 = rng.normal(size=(B, H)) if with_h0 else None
    dY, dh_T = rng.normal(size=(T, B, H)), (rng.normal(size=(B, H)) if with_dh_T else None)
    layer.forward(X, h0)
    ours = layer.backward(dY, dh_T)
    ref = _autograd_reference(layer, X, h0, dY, dh_T)
    assert set(ours) == set(PARAMS) | {"X", "h0"}
    for name, g in ref.items():
        if np.abs(g).max() == 0:  # e.g. a relu layer whose units are all off
            assert np.abs(ours[name]).max() == 0, name
        else:
            assert rel(ours[name], g) < 1e-10, name


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_numpy_backward_matches_finite_differences(nonlinearity):
    """The hand-written gradients agree with central differences for every array, inputs included."""
    rng = np.random.default_rng(0)
    layer = rnnbook.numpy.RNN(3, 5, nonlinearity, rng=rng)
    X, h0 = rng.normal(size=(6, 2, 3)), rng.normal(size=(2, 5))
    dY, dh_T = rng.normal(size=(6, 2, 5)), rng.normal(size=(2, 5))

    def loss():
        Y, h_T = layer.forward(X, h0)
        return float((dY * Y).sum() + (dh_T * h_T).sum())

    loss()
    grads = layer.backward(dY, dh_T)
    report = check_gradients(loss, {**layer.params, "X": X, "h0": h0}, grads)
    report.assert_ok(1e-7)


def test_gradcheck_flags_a_wrong_gradient():
    """The checker must fail, by 1e-2 to 1 as gradcheck's docstrings say, for the classic BPTT bug: dropping the gradient that flows from h_t to h_{t+1}."""
    rng = np.random.default_rng(1)
    layer = rnnbook.numpy.RNN(2, 4, rng=rng)
    X, dY = rng.normal(size=(5, 3, 2)), rng.normal(size=(5, 3, 4))

    def loss():
        return float((dY * layer.forward(X)[0]).sum())

    loss()
    wrong = {name: np.zeros_like(p) for name, p in layer.params.items()}
    for t in range(5):  # each step's own output only: no recurrent term
        _, _, g = rnnbook.numpy.rnn_step_backward(dY[t], layer.caches[t], layer.params)
        for name in wrong:
            wrong[name] += g[name]
    report = check_gradients(loss, layer.params, wrong)
    assert not report.ok(1e-6)
    # gradcheck's docstrings: a right gradient ~1e-8 or better, this classic bug 1e-2 to 1
    assert 1e-2 < report.max_rel_error <= 1.0, report.checks
    with pytest.raises(AssertionError, match="weight_hh: relative error"):
        report.assert_ok(1e-6)
    scaled = {name: 1.001 * g for name, g in layer.backward(dY).items() if name in layer.params}
    assert not check_gradients(loss, layer.params, scaled).ok(1e-6)  # even a 0.1% error is caught


def test_gradcheck_samples_large_arrays_and_validates():
    x = np.linspace(-1.0, 1.0, 1000)
    report = check_gradients(lambda: float(np.sum(x ** 2)), {"x": x}, {"x": 2 * x}, max_entries=10)
    assert report.checks[0].checked == 10 and report.checks[0].size == 1000 and report.ok(1e-8)
    assert np.array_equal(x, np.linspace(-1.0, 1.0, 1000))  # restored exactly
    with pytest.raises(TypeError, match="x must be a float64 ndarray"):
        numerical_gradient(lambda: 0.0, x.astype(np.float32))
    with pytest.raises(KeyError, match="no analytic gradient for 'x'"):
        check_gradients(lambda: 0.0, {"x": x}, {})
    with pytest.raises(ValueError, match=r"analytic\['x'\] has shape \(3,\)"):
        check_gradients(lambda: 0.0, {"x": x}, {"x": np.zeros(3)})
    assert error_bound(2.2e-16) == "< 1e-15" and error_bound(0.0) == "= 0" and error_bound(3e-11) == "< 1e-10"


def test_backward_input_errors():
    layer = rnnbook.numpy.RNN(2, 3)
    with pytest.raises(RuntimeError, match="needs a forward"):
        layer.backward(np.zeros((4, 1, 3)))
    layer.forward(np.zeros((4, 2, 2)))
    with pytest.raises(ValueError, match=r"dY must have the shape of the last forward's outputs \(T, B, H\) = \(4, 2, 3\), got \(5, 2, 3\)"):
        layer.backward(np.zeros((5, 2, 3)))
    with pytest.raises(ValueError, match=r"dh_T must have shape \(B, H\) = \(2, 3\)"):
        layer.backward(np.zeros((4, 2, 3)), np.zeros(3))


def _echo_setup(T=12, B=3, H=5):
    torch.manual_seed(0)
    layer = rnnbook.torch.RNN(1, H, dtype=torch.float64)
    head = torch.nn.Linear(H, 1, dtype=torch.float64)
    X = torch.randn(T, B, 1, dtype=torch.float64)
    target = torch.randn(T, B, 1, dtype=torch.float64)
    return layer, head, X, target


def _grads(*modules):
    return [p.grad.clone() for m in modules for p in m.parameters()]


def _zero(*modules):
    for m in modules:
        for p in m.parameters():
            p.grad = None


def _sse(pred, target):
    return ((pred - target) ** 2).sum()


@pytest.mark.parametrize("k", [12, 13, 100])
def test_truncation_at_least_the_length_is_full_bptt(k):
    """TBPTT(k, k) with k >= T computes exactly the full-BPTT gradient."""
    layer, head, X, target = _echo_setup()
    full_loss = _sse(head(layer(X)[0]), target)
    full_loss.backward()
    full = _grads(layer, head)
    _zero(layer, head)
    loss = truncated_bptt(layer, head, X, target, _sse, k1=k)
    assert loss == pytest.approx(full_loss.item(), rel=1e-14)
    for a, b in zip(_grads(layer, head), full):
        assert torch.equal(a, b)


def test_truncation_matches_hand_chunked_bptt_and_differs_from_full():
    """TBPTT(4, 4) equals chunks of 4 with a detached carried state, and is not the full gradient;
    TBPTT(4, 8) lies between (its loss is the same: the forward pass is never truncated)."""
    layer, head, X, target = _echo_setup()
    h, hand_loss = None, 0.0
    for s in range(0, 12, 4):
        Y, h = layer(X[s:s + 4], h)
        loss = _sse(head(Y), target[s:s + 4])
        loss.backward()
        h, hand_loss = h.detach(), hand_loss + loss.item()
    hand = _grads(layer, head)
    _zero(layer, head)
    loss44 = truncated_bptt(layer, head, X, target, _sse, k1=4)
    tb44 = _grads(layer, head)
    for a, b in zip(tb44, hand):
        assert torch.allclose(a, b, rtol=1e-13, atol=0)
    _zero(layer, head)
    loss48 = truncated_bptt(layer, head, X, target, _sse, k1=4, k2=8)
    tb48 = _grads(layer, head)
    _zero(layer, head)
    truncated_bptt(layer, head, X, target, _sse, k1=12)
    full = _grads(layer, head)
    w_hh = 1  # index of weight_hh among the parameters
    d44, d48 = (torch.linalg.norm(g[w_hh] - full[w_hh]).item() for g in (tb44, tb48))
    assert d44 > 1e-6 and d48 < d44
    assert loss44 == pytest.approx(loss48, rel=1e-12) == pytest.approx(hand_loss, rel=1e-12)


def test_truncation_argument_errors():
    layer, head, X, target = _echo_setup()
    with pytest.raises(ValueError, match="k1 must be a positive int, got 0"):
        truncated_bptt(layer, head, X, target, _sse, k1=0)
    with pytest.raises(ValueError, match="k2 must be a multiple of k1=4 and at least k1, got 6"):
        truncated_bptt(layer, head, X, target, _sse, k1=4, k2=6)
    with pytest.raises(ValueError, match="targets must have T=12 steps"):
        truncated_bptt(layer, head, X, target[:5], _sse, k1=4)


def test_numpy_clipping_by_global_norm_keeps_direction():
    """Eq. clip-norm: g * min(1, c / ||g||); the direction is kept, only the length is capped."""
    rng = np.random.default_rng(0)
    g = {"a": rng.normal(size=(3, 4)), "b": rng.normal(size=5)}
    norm = global_norm(g)
    clipped, before = clip_grad_norm(g, max_norm=0.5)
    assert before == pytest.approx(norm) and global_norm(clipped) == pytest.approx(0.5, rel=1e-9)
    flat, flat_c = (np.concatenate([v.ravel() for v in d.values()]) for d in (g, clipped))
    assert flat_c @ flat / (np.linalg.norm(flat_c) * np.linalg.norm(flat)) == pytest.approx(1.0, abs=1e-12)
    same, _ = clip_grad_norm(g, max_norm=10 * norm)  # below the threshold: unchanged
    assert all(np.array_equal(same[k], g[k]) for k in g)
    by_value = clip_grad_value(g, 0.1)
    assert max(np.abs(v).max() for v in by_value.values()) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="max_norm must be positive, got 0"):
        clip_grad_norm(g, 0)
    with pytest.raises(ValueError, match="clipping cannot repair NaN"):
        clip_grad_norm({"a": np.array([np.nan])}, 1.0)


def test_torch_clipping_matches_torch_nn_utils():
    """Our in-place clipping equals torch.nn.utils.clip_grad_norm_ / clip_grad_value_."""
    torch.manual_seed(0)
    a, b = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    b.load_state_dict(a.state_dict())
    for m in (a, b):
        (m(torch.ones(2, 4)) ** 2).sum().mul(10).backward()
    ours = clip_grad_norm_(a.parameters(), 0.3)
    theirs = torch.nn.utils.clip_grad_norm_(b.parameters(), 0.3)
    assert torch.allclose(ours, theirs)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.allclose(p.grad, q.grad, rtol=1e-6)
    clip_grad_value_(a.parameters(), 0.01)
    torch.nn.utils.clip_grad_value_(b.parameters(), 0.01)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p.grad, q.grad)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_changing_inputs_or_outputs_after_forward_cannot_change_the_gradients(kind):
    """Issue 9, defect 2: the RNN's returned h_T was the array backward read (dW_hh moved by 1.17).

    The layers copy X and the initial state, and keep their caches read-only: writes to the
    caller's arrays or to the returned outputs change nothing, and a write to an array that
    backward reads (the RNN's h_T) raises instead of silently changing the gradients.
    """
    rng = np.random.default_rng(0)
    layer = getattr(rnnbook.numpy, kind)(3, 4, rng=rng)
    X, h0, dY = rng.normal(size=(6, 2, 3)), rng.normal(size=(2, 4)), rng.normal(size=(6, 2, 4))
    state0 = (h0, h0.copy()) if kind == "LSTM" else h0
    Y, final = layer.forward(X, state0)
    expected = layer.backward(dY)
    X[:] = 7.0
    h0[:] = -3.0
    Y[:] = 0.0
    for h in (final if kind == "LSTM" else (final,)):
        if h.flags.writeable:
            h[:] = 5.0
        else:
            with pytest.raises(ValueError, match="read-only"):
                h[:] = 5.0
    for cache in layer.caches:
        for array in cache:
            with pytest.raises(ValueError, match="read-only"):
                array[...] = 0.0
    again = layer.backward(dY)
    for name, g in expected.items():
        assert np.array_equal(again[name], g), name


def _np_grads(bad):
    return {"weight_ih": np.ones((2, 2)), "weight_hh": np.array([1.0, bad, 2.0])}


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_clipping_refuses_non_finite_gradients_in_both_backends(bad):
    """Issue 9, defect 5: one policy for both backends and both kinds of clipping, as
    torch.nn.utils.clip_grad_norm_(..., error_if_nonfinite=True): a ValueError naming the gradient,
    and nothing changed (torch's own default turned inf into NaN and zeros)."""
    for clip in (lambda g: clip_grad_norm(g, 1.0), lambda g: clip_grad_value(g, 1.0)):
        with pytest.raises(ValueError, match=r"grads\['weight_hh'\] must be finite, but 1 of its 3 entries.*cannot repair"):
            clip(_np_grads(bad))
    for clip_ in (lambda p: clip_grad_norm_(p, 1.0), lambda p: clip_grad_value_(p, 1.0)):
        params = [torch.nn.Parameter(torch.ones(2, 2)), torch.nn.Parameter(torch.ones(3))]
        params[0].grad = torch.full((2, 2), 10.0)
        params[1].grad = torch.tensor([1.0, bad, 2.0])
        with pytest.raises(ValueError, match=r"parameters\[1\]\.grad \(shape \(3,\)\) must be finite"):
            clip_(params)
        assert torch.equal(params[0].grad, torch.full((2, 2), 10.0))  # not scaled before the error
    reference = [torch.nn.Parameter(torch.ones(3))]
    reference[0].grad = torch.tensor([1.0, bad, 2.0])
    with pytest.raises(RuntimeError, match="non-finite"):  # the behaviour we follow, in torch itself
        torch.nn.utils.clip_grad_norm_(reference, 1.0, error_if_nonfinite=True)


def test_truncated_bptt_refuses_empty_sequences_and_lists():
    """Issue 9, defects 4 and 6: an empty sequence returned loss 0.0; lists failed deep inside."""
    layer, head = rnnbook.torch.RNN(2, 3), torch.nn.Linear(3, 1)
    mse = torch.nn.functional.mse_loss
    with pytest.raises(ValueError, match=r"X must have at least one time step, got shape \(0, 4, 2\)"):
        truncated_bptt(layer, head, torch.zeros(0, 4, 2), torch.zeros(0, 4, 1), mse, k1=2)
    with pytest.raises(TypeError, match="X must be a torch.Tensor.*got list"):
        truncated_bptt(layer, head, torch.zeros(5, 4, 2).tolist(), torch.zeros(5, 4, 1), mse, k1=2)
    with pytest.raises(TypeError, match="targets must be a torch.Tensor.*got ndarray"):
        truncated_bptt(layer, head, torch.zeros(5, 4, 2), np.zeros((5, 4, 1)), mse, k1=2)
