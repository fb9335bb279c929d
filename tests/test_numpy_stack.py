"""rnnbook.numpy.stack (chapter 8): deep, bidirectional, variable-length layers composed from the NumPy layers.

Proven against torch.nn.RNN/LSTM/GRU (float64, copied weights, pack_padded_sequence for lengths), against
finite differences, and against each sequence run alone; the reverse direction is tested to run over the
reversed valid part of each sequence (and a layer that forgets to reverse its outputs back fails that test).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rnnbook.checks import NoForwardError, StateDictError
from rnnbook.gradcheck import check_gradients, relative_error
from rnnbook.numpy import GRU, LSTM, RNN
from rnnbook.numpy.stack import Direction, Stack, reverse_padded

CELLS = {"RNN": (RNN, torch.nn.RNN), "LSTM": (LSTM, torch.nn.LSTM), "GRU": (GRU, torch.nn.GRU)}
T, B, D, H = 6, 4, 3, 5
LENGTHS = np.array([6, 2, 4, 2])  # unsorted, with a repeat, one full: every chunking case


def _pair(cell_name, num_layers, bidirectional, seed=0, **options):
    ours_cls, torch_cls = CELLS[cell_name]
    torch.manual_seed(seed)
    ref = torch_cls(D, H, num_layers=num_layers, bidirectional=bidirectional, dtype=torch.float64, **options)
    ours = Stack(ours_cls, D, H, num_layers=num_layers, bidirectional=bidirectional, rng=np.random.default_rng(seed), **options)
    ours.load_state_dict(ref.state_dict())
    return ours, ref


def _states(out, is_lstm):
    return tuple(out) if is_lstm else (out,)


# --- reversal ----------------------------------------------------------------------------------------

def test_reverse_padded_reverses_each_valid_part_and_leaves_padding():
    """eq. deep-reverse: out[t, b] = X[L_b - 1 - t, b] for t < L_b, X[t, b] after."""
    X = np.arange(4 * 2, dtype=float).reshape(4, 2, 1)  # X[t, b] = 2t + b
    out = reverse_padded(X, [4, 2])
    assert out[:, 0, 0].tolist() == [6, 4, 2, 0]       # full length: plain reversal
    assert out[:, 1, 0].tolist() == [3, 1, 5, 7]       # length 2: steps 1, 0, then the padding in place
    assert np.array_equal(reverse_padded(X), X[::-1])
    assert np.array_equal(reverse_padded(out, [4, 2]), X)  # its own inverse


def test_reverse_padded_is_its_own_transpose():
    """The backward of the reversal is the reversal: <R x, y> = <x, R y> for random x, y."""
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(2, T, B, D))
    assert np.isclose(np.sum(reverse_padded(x, LENGTHS) * y), np.sum(x * reverse_padded(y, LENGTHS)), rtol=1e-13)


# --- parity with torch.nn ------------------------------------------------------------------------------

@pytest.mark.parametrize("cell_name", CELLS)
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (1, True), (2, False), (3, True)])
def test_parity_with_torch_nn_packed(cell_name, num_layers, bidirectional):
    """Outputs, final states and every gradient equal torch.nn's on a packed batch, with h0 given."""
    ours, ref = _pair(cell_name, num_layers, bidirectional)
    is_lstm = cell_name == "LSTM"
    rng = np.random.default_rng(2)
    n = num_layers * (2 if bidirectional else 1)
    X = rng.normal(size=(T, B, D))
    s0 = tuple(rng.normal(size=(n, B, H)) for _ in range(2 if is_lstm else 1))
    Xt, s0t = torch.tensor(X, requires_grad=True), tuple(torch.tensor(s, requires_grad=True) for s in s0)
    out, st = ref(pack_padded_sequence(Xt, torch.tensor(LENGTHS), enforce_sorted=False), s0t if is_lstm else s0t[0])
    Yt, _ = pad_packed_sequence(out, total_length=T)
    Y, s = ours.forward(X, LENGTHS, s0 if is_lstm else s0[0])
    assert relative_error(Y, Yt.detach()) < 1e-12
    for a, b in zip(_states(s, is_lstm), _states(st, is_lstm)):
        assert relative_error(a, b.detach()) < 1e-12
    G = rng.normal(size=Y.shape)
    Gs = [rng.normal(size=(n, B, H)) for _ in s0]
    loss = (Yt * torch.tensor(G)).sum() + sum((b * torch.tensor(g)).sum() for b, g in zip(_states(st, is_lstm), Gs))
    loss.backward()
    grads = ours.backward(G, *Gs)
    for name, p in ref.named_parameters():
        assert relative_error(grads[name], p.grad) < 1e-10, name
    assert relative_error(grads["X"], Xt.grad) < 1e-10
    for name, st0 in zip(("h0", "c0"), s0t):
        assert relative_error(grads[name], st0.grad) < 1e-10, name
    assert np.all(grads["X"][np.arange(T)[:, None] >= LENGTHS] == 0)  # padded inputs get no gradient


@pytest.mark.parametrize("cell_name", CELLS)
def test_parity_with_torch_nn_without_lengths(cell_name):
    ours, ref = _pair(cell_name, 2, True, seed=3)
    X = np.random.default_rng(3).normal(size=(T, B, D))
    Y, _ = ours.forward(X)
    Yt, _ = ref(torch.tensor(X))
    assert relative_error(Y, Yt.detach()) < 1e-12


def test_relu_rnn_and_cho_gru_options_pass_through():
    ours, ref = _pair("RNN", 2, True, seed=4, nonlinearity="relu")
    X = np.random.default_rng(4).normal(size=(T, B, D))
    Y, h = ours.forward(X)
    Yt, ht = ref(torch.tensor(X))
    assert relative_error(Y, Yt.detach()) < 1e-12 and relative_error(h, ht.detach()) < 1e-12
    gru = Stack(GRU, D, H, reset_after=False, rng=np.random.default_rng(0))
    assert gru.directions[0][0].layer.reset_after is False


def test_state_dict_keys_are_torch_nn_keys_and_round_trip():
    ours, ref = _pair("LSTM", 2, True)
    assert sorted(ours.state_dict()) == sorted(ref.state_dict())
    other = Stack(LSTM, D, H, num_layers=2, bidirectional=True, rng=np.random.default_rng(9))
    other.load_state_dict(ours.state_dict())
    X = np.random.default_rng(5).normal(size=(T, B, D))
    assert np.array_equal(other.forward(X, LENGTHS)[0], ours.forward(X, LENGTHS)[0])


# --- finite differences --------------------------------------------------------------------------------

@pytest.mark.parametrize("cell_name", CELLS)
def test_gradients_match_finite_differences(cell_name):
    """Every parameter, the inputs and the initial states of a 2-layer bidirectional stack with lengths."""
    cell = CELLS[cell_name][0]
    is_lstm = cell is LSTM
    rng = np.random.default_rng(6)
    Tg, Bg, Dg, Hg = 4, 3, 2, 3
    lengths = np.array([4, 1, 3])
    deep = Stack(cell, Dg, Hg, num_layers=2, bidirectional=True, rng=rng)
    X = rng.normal(size=(Tg, Bg, Dg))
    s0 = [rng.normal(size=(4, Bg, Hg)) for _ in range(2 if is_lstm else 1)]
    G = rng.normal(size=(Tg, Bg, 2 * Hg))
    Gs = [rng.normal(size=(4, Bg, Hg)) for _ in s0]
    params = {f"{name}_l{l}" + ("_reverse" if d else ""): direction.params[name]
              for l, layer in enumerate(deep.directions) for d, direction in enumerate(layer) for name in direction.params}

    def loss():
        Y, s = deep.forward(X, lengths, tuple(s0) if is_lstm else s0[0])
        return float(np.sum(Y * G) + sum(np.sum(a * g) for a, g in zip(_states(s, is_lstm), Gs)))

    loss()
    grads = deep.backward(G, *Gs)
    arrays = {**params, "X": X, "h0": s0[0], **({"c0": s0[1]} if is_lstm else {})}
    report = check_gradients(loss, arrays, grads, max_entries=5)
    report.assert_ok(1e-7)


# --- each sequence as if alone; the reverse direction really reversed ------------------------------------

@pytest.mark.parametrize("cell_name", CELLS)
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (1, True), (2, True)])
def test_each_sequence_gets_what_it_gets_alone(cell_name, num_layers, bidirectional):
    """In a padded batch, sequence b's outputs and final states equal those of running it alone, unpadded."""
    cell = CELLS[cell_name][0]
    deep = Stack(cell, D, H, num_layers=num_layers, bidirectional=bidirectional, rng=np.random.default_rng(7))
    rng = np.random.default_rng(8)
    X = rng.normal(size=(T, B, D))
    X[np.arange(T)[:, None] >= LENGTHS] = 1e3  # absurd padding: it must not leak anywhere
    Y, s = deep.forward(X, LENGTHS)
    for b, L in enumerate(LENGTHS):
        Y_b, s_b = deep.forward(X[:L, b:b + 1])
        assert np.allclose(Y[:L, b], Y_b[:, 0], rtol=0, atol=1e-14)
        assert np.all(Y[L:, b] == 0)
        for a, a_b in zip(_states(s, cell is LSTM), _states(s_b, cell is LSTM)):
            assert np.allclose(a[:, b], a_b[:, 0], rtol=0, atol=1e-14)


def _forgets_to_reverse_outputs(direction, X, lengths):
    """The bug to catch: reverse the inputs, run, but return the outputs in reversed time order."""
    Y, _ = Direction(direction.layer).forward(reverse_padded(X, lengths), lengths)
    return Y


def _flips_whole_padded_batch(direction, X, lengths):
    """The other bug to catch: X[::-1] over the padded length, so short sequences start on padding."""
    Y, _ = Direction(direction.layer).forward(X[::-1])
    return Y[::-1] * (np.arange(len(X))[:, None, None] < lengths[:, None])


def test_reverse_direction_runs_over_the_reversed_valid_part():
    """Output t of the reverse direction is the layer's state after reading x_{L-1}, ..., x_t (D2L's bug fails)."""
    layer = GRU(D, H, rng=np.random.default_rng(10))
    back = Direction(layer, reverse=True)
    X = np.random.default_rng(11).normal(size=(T, B, D))
    Y, h = back.forward(X, LENGTHS)
    for b, L in enumerate(LENGTHS):
        for t in range(L):
            expected, _ = layer.forward(X[t:L, b:b + 1][::-1])   # x_{L-1}, ..., x_t
            assert np.allclose(Y[t, b], expected[-1, 0], rtol=0, atol=1e-14)
        assert np.allclose(h[0][b], Y[0, b], rtol=0, atol=1e-14)  # the final state is the output at t = 0
    for bug in (_forgets_to_reverse_outputs, _flips_whole_padded_batch):
        assert relative_error(bug(back, X, LENGTHS), Y) > 1e-2, bug.__name__


def test_padding_changes_nothing_and_gets_no_gradient():
    deep = Stack(LSTM, D, H, num_layers=2, bidirectional=True, rng=np.random.default_rng(12))
    rng = np.random.default_rng(13)
    X = rng.normal(size=(T, B, D))
    Y1, (h1, c1) = deep.forward(X, LENGTHS)
    X2 = X.copy()
    X2[np.arange(T)[:, None] >= LENGTHS] = rng.normal(size=X2[np.arange(T)[:, None] >= LENGTHS].shape)
    Y2, (h2, c2) = deep.forward(X2, LENGTHS)
    assert np.array_equal(Y1, Y2) and np.array_equal(h1, h2) and np.array_equal(c1, c2)


# --- bad input --------------------------------------------------------------------------------------

@pytest.mark.parametrize("lengths, error, match", [
    ([6.0, 2.0, 4.0, 2.0], TypeError, "ints"),
    ([6, 2, 4], ValueError, r"one length per sequence, shape \(4,\)"),
    ([6, 0, 4, 2], ValueError, r"in \[1, 6\].*got 0 at position 1"),
    ([7, 2, 4, 2], ValueError, r"in \[1, 6\].*got 7 at position 0"),
    ([[6, 2, 4, 2]], TypeError, "1-D"),
])
def test_bad_lengths_are_refused(lengths, error, match):
    deep = Stack(RNN, D, H, rng=np.random.default_rng(0))
    with pytest.raises(error, match=match):
        deep.forward(np.zeros((T, B, D)), lengths)
    with pytest.raises(error, match=match):
        reverse_padded(np.zeros((T, B, D)), lengths)


def test_lengths_may_be_a_list_array_or_torch_tensor():
    X = np.random.default_rng(0).normal(size=(T, B, D))
    deep = Stack(GRU, D, H, rng=np.random.default_rng(0))
    Y = deep.forward(X, LENGTHS)[0]
    for form in (LENGTHS.tolist(), torch.tensor(LENGTHS), LENGTHS.astype(np.int32)):
        assert np.array_equal(deep.forward(X, form)[0], Y)


def test_bad_construction_and_states_are_refused():
    with pytest.raises(TypeError, match="cell must be"):
        Stack(torch.nn.LSTM, D, H)
    with pytest.raises(TypeError, match="cell must be"):
        Stack(LSTM(D, H), D, H)
    with pytest.raises(ValueError, match="num_layers"):
        Stack(LSTM, D, H, num_layers=0)
    with pytest.raises(TypeError, match="bidirectional"):
        Stack(LSTM, D, H, bidirectional=1)
    with pytest.raises(TypeError, match="layer must be"):
        Direction(torch.nn.GRU(D, H))
    deep = Stack(LSTM, D, H, num_layers=2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"h0 must have shape \(2, 4, 5\)"):
        deep.forward(np.zeros((T, B, D)), state0=(np.zeros((1, B, H)), np.zeros((2, B, H))))
    with pytest.raises(TypeError, match="pair"):
        deep.forward(np.zeros((T, B, D)), state0=np.zeros((2, B, H)))
    with pytest.raises(ValueError, match=r"shape \(T, B, 3\)"):
        deep.forward(np.zeros((T, B, 2)))
    with pytest.raises(TypeError, match="reverse_padded|X must be"):
        reverse_padded([[1.0]], [1])


def test_backward_errors():
    deep = Stack(GRU, D, H, bidirectional=True, rng=np.random.default_rng(0))
    with pytest.raises(NoForwardError, match="forward"):
        deep.backward(np.zeros((T, B, 2 * H)))
    deep.forward(np.zeros((T, B, D)), LENGTHS)
    with pytest.raises(ValueError, match=r"dY must have shape \(6, 4, 10\)"):
        deep.backward(np.zeros((T, B, H)))
    with pytest.raises(TypeError, match="dc_n"):
        deep.backward(np.zeros((T, B, 2 * H)), None, np.zeros((2, B, H)))
    with pytest.raises(ValueError, match="NaN|finite"):
        deep.backward(np.full((T, B, 2 * H), np.nan))


def test_load_state_dict_names_missing_and_unexpected_keys():
    deep = Stack(GRU, D, H, bidirectional=True, rng=np.random.default_rng(0))
    sd = torch.nn.GRU(D, H, num_layers=2, dtype=torch.float64).state_dict()
    with pytest.raises(StateDictError, match=r"missing \['bias_hh_l0_reverse'.*unexpected \['bias_hh_l1'"):
        deep.load_state_dict(sd)
    with pytest.raises(TypeError, match="mapping"):
        deep.load_state_dict([1, 2])


def test_chunks_are_the_packed_format():
    """Rows computed per step equal pack_padded_sequence's batch_sizes; no padded step is computed."""
    direction = Direction(LSTM(D, H, rng=np.random.default_rng(0)), reverse=True)
    X = np.random.default_rng(1).normal(size=(T, B, D))
    direction.forward(X, LENGTHS)
    rows = np.zeros(T, dtype=int)
    for start, end, active in direction.chunks:
        rows[start:end] = len(active)
        assert np.all(LENGTHS[active] >= end)
    packed = pack_padded_sequence(torch.tensor(X), torch.tensor(LENGTHS), enforce_sorted=False)
    assert rows.tolist() == packed.batch_sizes.tolist() and rows.sum() == LENGTHS.sum()
