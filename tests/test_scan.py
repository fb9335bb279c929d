"""Chapter 12: the parallel scans equal the sequential loop; minGRU/minLSTM's two modes agree (float64, with gradients)."""

import math

import numpy as np
import pytest
import torch

from rnnbook.numpy import scan as nps
from rnnbook.torch import scan as ts

LENGTHS = [1, 2, 3, 5, 8, 13, 64, 100]


def _coefficients(T, rng, shape=(2, 3)):
    return rng.uniform(0.0, 1.0, (T, *shape)), rng.normal(size=(T, *shape)), rng.normal(size=shape)


def test_combine_is_associative_and_has_identity():
    """Eq. scan-combine: (x . y) . z == x . (y . z), and (1, 0) is the identity, for arbitrary reals."""
    rng = np.random.default_rng(0)
    x, y, z = [(rng.normal(size=4), rng.normal(size=4)) for _ in range(3)]
    left, right = nps.combine(nps.combine(x, y), z), nps.combine(x, nps.combine(y, z))
    np.testing.assert_allclose(left[0], right[0], rtol=1e-13)
    np.testing.assert_allclose(left[1], right[1], rtol=1e-13)
    ident = (np.ones(4), np.zeros(4))
    for side in (nps.combine(ident, x), nps.combine(x, ident)):
        np.testing.assert_array_equal(side[0], x[0])
        np.testing.assert_array_equal(side[1], x[1])


def test_combine_is_not_commutative():
    """The order matters: swapping the two maps gives another map (so a scan must keep time order)."""
    x, y = (np.array([2.0]), np.array([1.0])), (np.array([3.0]), np.array([5.0]))
    assert nps.combine(x, y)[1] != nps.combine(y, x)[1]


@pytest.mark.parametrize("T", LENGTHS)
def test_numpy_scans_equal_the_loop(T):
    """Hillis-Steele and Blelloch give h_1..h_T of eq. scan-linear, with and without h0, for T not a power of two too."""
    rng = np.random.default_rng(T)
    a, b, h0 = _coefficients(T, rng)
    for h_init in (h0, None):
        ref = nps.linear_recurrence(a, b, h_init)
        loop = np.zeros_like(h0) if h_init is None else h_init
        for t in range(T):                       # the definition, written out once more
            loop = a[t] * loop + b[t]
        np.testing.assert_allclose(ref[-1], loop, rtol=1e-14, atol=1e-14)
        for scan in (nps.hillis_steele_scan, nps.blelloch_scan):
            h, _ = scan(a, b, h_init)
            np.testing.assert_allclose(h, ref, rtol=1e-12, atol=1e-12)
    assert not np.shares_memory(a, nps.hillis_steele_scan(a, b)[0])   # the inputs are not overwritten


@pytest.mark.parametrize("T", LENGTHS + [1024])
def test_scan_costs(T):
    """Work and depth as the docstrings state: HS sum_d (T - 2^d) in ceil(log2 T) rounds; Blelloch 2(N - 1) + T in 2 log2 N + 1."""
    a, b, _ = _coefficients(T, np.random.default_rng(0), shape=(1,))
    _, hs = nps.hillis_steele_scan(a, b)
    depth = math.ceil(math.log2(T)) if T > 1 else 0
    assert hs == nps.ScanCost(sum(T - 2 ** d for d in range(depth)), depth)
    _, bl = nps.blelloch_scan(a, b)
    N = 1 << (T - 1).bit_length()
    assert bl == nps.ScanCost(2 * (N - 1) + T, 2 * int(math.log2(N)) + 1)
    if T >= 64:
        assert bl.work < hs.work            # work-efficient: O(T) against O(T log T)
        assert hs.depth < bl.depth          # but twice the rounds


def test_numpy_scan_bad_input():
    a = np.ones((4, 2))
    with pytest.raises(ValueError, match="same shape"):
        nps.hillis_steele_scan(a, np.ones((4, 3)))
    with pytest.raises(TypeError, match="floating-point"):
        nps.blelloch_scan(np.ones((4, 2), dtype=int), a)
    with pytest.raises(ValueError, match=r"h0 must be .*shape \(2,\)"):
        nps.linear_recurrence(a, a, np.ones(3))
    with pytest.raises(ValueError, match="T >= 1"):
        nps.linear_recurrence(np.ones((0, 2)), np.ones((0, 2)))


@pytest.mark.parametrize("T", [1, 7, 200])
def test_log_scan_equals_loop(T):
    """Eq. scan-log: the log-space scan is the loop, float64, with and without h0, gradients included."""
    g = torch.Generator().manual_seed(T)
    a = torch.rand(T, 2, 3, generator=g, dtype=torch.float64) * 0.9 + 0.05
    b = torch.rand(T, 2, 3, generator=g, dtype=torch.float64) + 0.1
    h0 = torch.rand(2, 3, generator=g, dtype=torch.float64) + 0.1
    for h_init in (h0, None):
        ref = ts.linear_recurrence(a, b, h_init)
        out = torch.exp(ts.log_scan(a.log(), b.log(), None if h_init is None else h_init.log()))
        torch.testing.assert_close(out, ref, rtol=1e-12, atol=0)
        np.testing.assert_allclose(ref.numpy(), nps.linear_recurrence(a.numpy(), b.numpy(),
                                                                       None if h_init is None else h_init.numpy()),
                                   rtol=1e-14)
    la, lb = a.log().requires_grad_(), b.log().requires_grad_()
    assert torch.autograd.gradcheck(lambda x, y: ts.log_scan(x, y), (la[:5], lb[:5]))


def test_log_scan_bad_input():
    x = torch.zeros(3, 2)
    with pytest.raises(ValueError, match="same shape"):
        ts.log_scan(x, torch.zeros(3, 4))
    with pytest.raises(TypeError, match="log_a must be a floating-point tensor"):
        ts.log_scan(torch.zeros(3, 2, dtype=torch.long), x)
    with pytest.raises(ValueError, match=r"log_h0 must be a tensor of shape \(2,\)"):
        ts.log_scan(x, x, torch.zeros(3))


@pytest.mark.parametrize("scale", [1.0, 30.0])
@pytest.mark.parametrize("cell", [ts.MinGRU, ts.MinLSTM])
def test_modes_agree_with_gradients(cell, scale):
    """Sequential (step by step) and parallel (log-space scan) minGRU/minLSTM agree in float64: outputs,
    final state and the gradients of a loss with respect to inputs, h0 and every parameter; also with
    saturated gates (weights scaled by 30: pre-activations far beyond softplus's linear threshold of 20)."""
    torch.manual_seed(0)
    layer = cell(3, 5, dtype=torch.float64)
    with torch.no_grad():
        layer.linear.weight.mul_(scale)
    X = torch.randn(40, 2, 3, dtype=torch.float64, requires_grad=True)
    h0 = (torch.rand(1, 2, 5, dtype=torch.float64) + 0.1).requires_grad_()
    w = torch.randn(40, 2, 5, dtype=torch.float64)
    results = {}
    for mode in ts.MODES:
        layer.mode = mode
        Y, hT = layer(X, h0)
        grads = torch.autograd.grad((w * Y).sum() + hT.sum(), [X, h0, *layer.parameters()])
        results[mode] = (Y, hT, grads)
    (Ys, hs, gs), (Yp, hp, gp) = results["sequential"], results["parallel"]
    torch.testing.assert_close(Yp, Ys, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(hp, hs, rtol=1e-10, atol=1e-12)
    for a, b in zip(gp, gs):   # entries near zero from cancelling saturated terms: absolute tolerance 1e-12 of the largest
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12 * float(b.abs().max()) + 1e-15)
    assert (Ys > 0).all()                                   # g keeps the state positive


@pytest.mark.parametrize("cell", [ts.MinGRU, ts.MinLSTM])
def test_generation_carries_state(cell):
    """Running the sequence in chunks (generation: one step at a time, the state carried) equals one
    parallel pass over all of it; a zero initial state (h0=None) too."""
    torch.manual_seed(1)
    layer = cell(4, 6, dtype=torch.float64)
    X = torch.randn(12, 3, 4, dtype=torch.float64)
    Y, hT = layer(X)
    layer.mode = "sequential"
    h, outs = None, []
    for t in range(12):
        y, h = layer(X[t:t + 1], h)
        outs.append(y)
    torch.testing.assert_close(torch.cat(outs), Y, rtol=1e-11, atol=1e-13)
    torch.testing.assert_close(h, hT, rtol=1e-11, atol=1e-13)


def test_mingru_closed_form():
    """One step from h0 by hand: h_1 = (1 - z) h0 + z g(h~), in both modes."""
    layer = ts.MinGRU(1, 1, dtype=torch.float64)
    with torch.no_grad():
        layer.linear.weight.copy_(torch.tensor([[1.0], [2.0]]))
        layer.linear.bias.zero_()
    x, h0 = torch.tensor([[[0.5]]], dtype=torch.float64), torch.tensor([[[0.3]]], dtype=torch.float64)
    z = 1 / (1 + math.exp(-0.5))
    expected = (1 - z) * 0.3 + z * (1.0 + 0.5)            # g(1.0) = 1.5
    for mode in ts.MODES:
        layer.mode = mode
        assert layer(x, h0)[0].item() == pytest.approx(expected, rel=1e-14)


def test_g_and_log_g():
    x = torch.linspace(-30, 30, 601, dtype=torch.float64)
    reference = torch.where(x >= 0, torch.log(x.clamp(min=0) + 0.5), x - torch.log1p(torch.exp(x)))  # log sigmoid(x) = x - log(1 + e^x)
    torch.testing.assert_close(ts.log_g(x), reference, rtol=1e-14, atol=1e-14)
    torch.testing.assert_close(torch.log(ts.g(x[x > -5])), ts.log_g(x[x > -5]), rtol=1e-13, atol=1e-13)
    assert (ts.g(x) > 0).all()
    assert ts.g(torch.tensor(0.0)).item() == 0.5 == torch.sigmoid(torch.tensor(0.0)).item()  # continuous at 0


def test_min_layers_bad_input():
    layer = ts.MinGRU(3, 4)
    with pytest.raises(ValueError, match=r"X must have shape \(T, B, 3\)"):
        layer(torch.zeros(5, 2, 4))
    with pytest.raises(TypeError, match="X must be a floating-point tensor"):
        layer(torch.zeros(5, 2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match=r"h0 must be a tensor of shape \(1, 2, 4\)"):
        layer(torch.zeros(5, 2, 3), torch.ones(2, 4))
    with pytest.raises(ValueError, match="h0 must be positive"):
        layer(torch.zeros(5, 2, 3), torch.zeros(1, 2, 4))
    with pytest.raises(ValueError, match="mode"):
        ts.MinLSTM(3, 4, mode="fast")
    with pytest.raises(ValueError, match="cell"):
        ts.MinCharModel(5, 4, "gru")


def test_min_char_model_parameters_and_modes():
    """The model runs tokens in both modes alike; the parameter counts are the docstrings'."""
    torch.manual_seed(2)
    model = ts.MinCharModel(10, 8, "minlstm", dtype=torch.float64)
    tokens = torch.randint(0, 10, (9, 3))
    logits, state = model(tokens)
    model.recurrent.mode = "sequential"
    torch.testing.assert_close(model(tokens)[0], logits)
    assert logits.shape == (9, 3, 10) and state.shape == (1, 3, 8)
    assert sum(p.numel() for p in model.recurrent.parameters()) == 3 * (10 * 8 + 8)
    assert sum(p.numel() for p in ts.MinGRU(10, 8).parameters()) == 2 * (10 * 8 + 8)


def test_numpy_mingru_against_torch_and_finite_differences():
    """rnnbook.numpy.mingru (hand-written backward, eq. scan-mingru) against rnnbook.torch.scan.MinGRU in
    both modes, float64: states and every gradient; one weight entry also by central differences."""
    from rnnbook.numpy.mingru import mingru_backward, mingru_forward

    torch.manual_seed(3)
    layer = ts.MinGRU(4, 5, dtype=torch.float64)
    with torch.no_grad():
        layer.linear.weight.mul_(3.0)          # both branches of g and saturated gates occur
    params = {"weight": layer.linear.weight.detach().numpy().copy(), "bias": layer.linear.bias.detach().numpy().copy()}
    X = torch.randn(25, 3, 4, dtype=torch.float64, requires_grad=True)
    h0 = (torch.rand(1, 3, 5, dtype=torch.float64) + 0.1).requires_grad_()
    dh = np.random.default_rng(0).normal(size=(25, 3, 5))
    h, cache = mingru_forward(params, X.detach().numpy(), h0[0].detach().numpy())
    dX, dh0, grads = mingru_backward(params, dh, cache)
    for mode in ts.MODES:
        layer.mode = mode
        Y, _ = layer(X, h0)
        gX, gh0, gW, gb = torch.autograd.grad((Y * torch.from_numpy(dh)).sum(), [X, h0, *layer.parameters()])
        np.testing.assert_allclose(h, Y.detach().numpy(), rtol=1e-11, atol=1e-13)
        for ours, theirs in ((dX, gX), (dh0, gh0[0]), (grads["weight"], gW), (grads["bias"], gb)):
            np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-9, atol=1e-11)
    eps, (i, j) = 1e-6, (7, 2)
    loss = lambda p: float((mingru_forward(p, X.detach().numpy(), h0[0].detach().numpy())[0] * dh).sum())
    plus = {k: v.copy() for k, v in params.items()}
    minus = {k: v.copy() for k, v in params.items()}
    plus["weight"][i, j] += eps
    minus["weight"][i, j] -= eps
    assert (loss(plus) - loss(minus)) / (2 * eps) == pytest.approx(grads["weight"][i, j], rel=1e-6, abs=1e-8)
    with pytest.raises(ValueError, match=r"X must be an array of shape \(T, B, 4\)"):
        mingru_forward(params, np.zeros((3, 2, 5)), np.ones((2, 5)))
