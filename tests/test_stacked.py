"""Deep, bidirectional and variable-length torch layers (issue 12) against torch.nn, and alone.

- Parity: a ``torch.nn.RNN/LSTM/GRU`` state dict loads into ours as it is, and both compute the
  same outputs, final states and gradients (float64, relative error below 1e-10), for several
  layers, both directions, ``batch_first``, and packed sequences (sorted or not).
- Padding: each sequence of a padded batch gets exactly the outputs and final state it gets alone.
- Reversal: the reverse direction's output at step t depends on x_t, ..., x_{L-1} and nothing else
  (a "bidirectional" layer that runs backwards but does not put its outputs back in time order fails).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnbook.numpy
import rnnbook.torch
from rnnbook.checks import StateDictError
from rnnbook.state import from_torch_nn, join_torch_nn, split_torch_nn
from tests.conftest import CUDA, rel

TOL = 1e-10
CELLS = ["RNN", "LSTM", "GRU"]
D, H = 3, 4
LENGTHS = [5, 2, 4, 1]  # unsorted on purpose, with a length-1 sequence
T, B = max(LENGTHS), len(LENGTHS)
f64 = torch.float64


def pair(cell: str, seed: int = 0, **options) -> tuple[torch.nn.Module, rnnbook.torch.layer.RecurrentModule]:
    """A torch.nn layer and ours, with the torch.nn state dict loaded into ours as it is."""
    torch.manual_seed(seed)
    ref = getattr(torch.nn, cell)(D, H, dtype=f64, **options)
    ours = getattr(rnnbook.torch, cell)(D, H, dtype=f64, **options)
    assert list(ours.state_dict()) == list(ref.state_dict())  # same names, same order
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def initial_state(cell: str, n: int, requires_grad: bool = True):
    make = lambda: torch.randn(n, B, H, dtype=f64, requires_grad=requires_grad)  # noqa: E731
    return (make(), make()) if cell == "LSTM" else make()


def leaves(state) -> list[torch.Tensor]:
    return list(state) if isinstance(state, tuple) else [state]


def run(module, X, state0, dY, dstate, **kw):
    """Outputs, final states and the gradients of sum(Y * dY) + sum(state * dstate)."""
    Y, state = module(X, state0, **kw)
    Y_data = Y.data if isinstance(Y, torch.nn.utils.rnn.PackedSequence) else Y
    loss = (Y_data * dY).sum() + sum((s * d).sum() for s, d in zip(leaves(state), dstate))
    inputs = [X.data if isinstance(X, torch.nn.utils.rnn.PackedSequence) else X, *leaves(state0)]
    params = dict(module.named_parameters())
    grads = torch.autograd.grad(loss, inputs + list(params.values()))
    named = {"X": grads[0], **{f"state0[{i}]": g for i, g in enumerate(grads[1:len(inputs)])},
             **dict(zip(params, grads[len(inputs):]))}
    return Y_data, leaves(state), named


def compare(ours_run, ref_run) -> dict[str, float]:
    (Y, states, grads), (Y_ref, states_ref, grads_ref) = ours_run, ref_run
    assert Y.shape == Y_ref.shape and [s.shape for s in states] == [s.shape for s in states_ref]
    assert set(grads) == set(grads_ref)
    errors = {"outputs": rel(Y, Y_ref), "states": max(rel(s, r) for s, r in zip(states, states_ref)),
              "grads": max(rel(grads[k], grads_ref[k]) for k in grads_ref)}
    assert max(errors.values()) < TOL, errors
    return errors


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_parity_with_torch_nn(cell, num_layers, bidirectional, batch_first):
    """Our layers with torch.nn's state dict: same outputs, final states (L*dirs, B, H) and gradients."""
    ref, ours = pair(cell, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    n, dirs = num_layers * (2 if bidirectional else 1), 2 if bidirectional else 1
    shape = (B, T, D) if batch_first else (T, B, D)
    X = torch.randn(*shape, dtype=f64, requires_grad=True)
    state0 = initial_state(cell, n)
    dY = torch.randn(*shape[:2], dirs * H, dtype=f64)
    dstate = [torch.randn(n, B, H, dtype=f64) for _ in leaves(state0)]
    compare(run(ours, X, state0, dY, dstate), run(ref, X, state0, dY, dstate))


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_packed_parity_with_torch_nn(cell, bidirectional, enforce_sorted, batch_first):
    """A PackedSequence (pack_padded_sequence, sorted or not) into two stacked layers: the same packed
    outputs, final states and gradients as torch.nn; and ``lengths=`` on the padded batch agrees."""
    ref, ours = pair(cell, seed=1, num_layers=2, bidirectional=bidirectional, batch_first=batch_first)
    lengths = sorted(LENGTHS, reverse=True) if enforce_sorted else LENGTHS
    n, dirs = 2 * (2 if bidirectional else 1), 2 if bidirectional else 1
    padded = torch.randn(*((B, T, D) if batch_first else (T, B, D)), dtype=f64)
    X = pack_padded_sequence(padded, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=enforce_sorted)
    X.data.requires_grad_(True)
    state0 = initial_state(cell, n)
    dY = torch.randn(X.data.shape[0], dirs * H, dtype=f64)
    dstate = [torch.randn(n, B, H, dtype=f64) for _ in leaves(state0)]
    ours_run = run(ours, X, state0, dY, dstate)
    compare(ours_run, run(ref, X, state0, dY, dstate))
    Y_packed, state = ours(X, state0)
    assert torch.equal(Y_packed.batch_sizes, X.batch_sizes)
    Y_lengths, state_lengths = ours(padded, state0, lengths=lengths)
    Y_unpacked, _ = pad_packed_sequence(Y_packed, batch_first=batch_first, total_length=T)
    assert rel(Y_lengths, Y_unpacked) < TOL
    assert all(rel(a, b) < TOL for a, b in zip(leaves(state_lengths), leaves(state)))


@CUDA
@pytest.mark.parametrize("cell", CELLS)
def test_packed_parity_on_cuda(cell):
    """On a GPU (torch.nn then runs cuDNN), float64: the same packed outputs, states and gradients,
    and ``lengths`` given as a CUDA tensor works too."""
    ref, ours = pair(cell, seed=7, num_layers=2, bidirectional=True)
    ref, ours = ref.cuda(), ours.cuda()
    padded = torch.randn(T, B, D, dtype=f64, device="cuda")
    X = pack_padded_sequence(padded, torch.tensor(LENGTHS), enforce_sorted=False)
    X.data.requires_grad_(True)
    state0 = tuple(s.cuda() for s in leaves(initial_state(cell, 4, requires_grad=False)))
    state0 = state0 if cell == "LSTM" else state0[0]
    dY = torch.randn(X.data.shape[0], 2 * H, dtype=f64, device="cuda")
    dstate = [torch.randn(4, B, H, dtype=f64, device="cuda") for _ in leaves(state0)]
    compare(run(ours, X, state0, dY, dstate), run(ref, X, state0, dY, dstate))
    with torch.no_grad():
        Y, _ = ours(padded, state0, lengths=torch.tensor(LENGTHS, device="cuda"))
        assert Y.device.type == "cuda" and torch.all(Y[LENGTHS[1]:, 1] == 0)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_each_padded_sequence_gets_what_it_gets_alone(cell, num_layers, bidirectional):
    """Padding (here random values, not zeros) changes nothing: sequence b of the batch gets the
    outputs and final state it gets alone, and zeros past its end."""
    torch.manual_seed(2)
    ours = getattr(rnnbook.torch, cell)(D, H, dtype=f64, num_layers=num_layers, bidirectional=bidirectional)
    n = num_layers * (2 if bidirectional else 1)
    X = torch.randn(T, B, D, dtype=f64)
    state0 = initial_state(cell, n, requires_grad=False)
    with torch.no_grad():
        Y, state = ours(X, state0, lengths=torch.tensor(LENGTHS))
        for b, L in enumerate(LENGTHS):
            alone0 = tuple(s[:, b:b + 1] for s in state0) if cell == "LSTM" else state0[:, b:b + 1]
            Y_alone, state_alone = ours(X[:L, b:b + 1], alone0)
            assert rel(Y[:L, b:b + 1], Y_alone) < 1e-13
            assert torch.all(Y[L:, b] == 0)
            for s, s_alone in zip(leaves(state), leaves(state_alone)):
                assert rel(s[:, b:b + 1], s_alone) < 1e-13


def one_step_cell(cell: str, params: dict) -> torch.nn.Module:
    step = getattr(torch.nn, f"{cell}Cell")(D, H, dtype=f64)
    step.load_state_dict(params)
    return step


@pytest.mark.parametrize("cell", CELLS)
def test_reverse_direction_reads_each_sequence_backwards(cell):
    """The reverse half of the output at step t is computed from x_t, ..., x_{L-1} only (L the
    sequence's own length): at the last valid step it is one cell step from the zero state on
    x_{L-1}, and its gradient reaches exactly the inputs x_t..x_{L-1}. The forward half at t
    reaches exactly x_0..x_t. A layer that reverses the inputs but not the outputs fails both."""
    torch.manual_seed(3)
    ours = getattr(rnnbook.torch, cell)(D, H, dtype=f64, bidirectional=True)
    X = torch.randn(T, B, D, dtype=f64, requires_grad=True)
    Y, _ = ours(X, lengths=LENGTHS)
    step = one_step_cell(cell, from_torch_nn(ours.state_dict(), layer=0, reverse=True))
    for b, L in enumerate(LENGTHS):
        h = step(X[L - 1, b:b + 1].detach())
        h = h[0] if cell == "LSTM" else h
        assert rel(Y[L - 1, b:b + 1, H:], h) < 1e-13
        for t in range(L):
            for half, reached in ((slice(0, H), range(0, t + 1)), (slice(H, 2 * H), range(t, L))):
                (g,) = torch.autograd.grad(Y[t, b, half].sum(), X, retain_graph=True)
                touched = [s for s in range(T) if g[s].abs().sum() > 0]
                assert touched == list(reached), (cell, b, t, half, touched)
                assert torch.all(g[:, [c for c in range(B) if c != b]] == 0)


@pytest.mark.parametrize("cell", CELLS)
def test_reverse_state_is_after_reading_x0(cell):
    """The reverse direction's final state is its state after reading x_0 (a whole sequence reversed),
    for a sequence shorter than the batch too: equal to a one-direction layer on the reversed sequence."""
    torch.manual_seed(4)
    ours = getattr(rnnbook.torch, cell)(D, H, dtype=f64, bidirectional=True)
    backward_only = getattr(rnnbook.torch, cell)(D, H, dtype=f64)
    backward_only.load_state_dict(from_torch_nn(ours.state_dict(), layer=0, reverse=True))
    X = torch.randn(T, B, D, dtype=f64)
    with torch.no_grad():
        _, state = ours(X, lengths=LENGTHS)
        for b, L in enumerate(LENGTHS):
            Y_rev, state_rev = backward_only(X[:L, b:b + 1].flip(0))
            for s, s_rev in zip(leaves(state), leaves(state_rev)):
                assert rel(s[1, b:b + 1], s_rev[0]) < 1e-13


def test_dropout_only_between_layers_and_only_in_training():
    torch.manual_seed(5)
    X = torch.randn(T, B, D, dtype=f64)
    deep = rnnbook.torch.GRU(D, H, dtype=f64, num_layers=2, dropout=0.5)
    plain = rnnbook.torch.GRU(D, H, dtype=f64, num_layers=2)
    plain.load_state_dict(deep.state_dict())
    with torch.no_grad():
        assert not torch.equal(deep(X)[0], plain(X)[0])                     # training: dropped
        assert torch.equal(deep.eval()(X)[0], plain(X)[0])                  # eval: no dropout
        single = rnnbook.torch.GRU(D, H, dtype=f64, dropout=0.5)            # one layer: nothing between
        assert torch.equal(single.train()(X)[0], single.eval()(X)[0])
    assert "dropout=0.5" in repr(deep) and "num_layers=2" in repr(deep)


def test_state_dicts_both_ways_and_per_layer():
    """rnnbook.state: a 2-layer bidirectional torch.nn.LSTM's keys, per layer and direction, into the
    NumPy layers and back; our state dict into torch.nn as it is; cell names for one layer only."""
    torch.manual_seed(6)
    ref = torch.nn.LSTM(D, H, num_layers=2, bidirectional=True, dtype=f64)
    layers = split_torch_nn(ref.state_dict())
    assert [len(dirs) for dirs in layers] == [2, 2] and torch.equal(layers[1][1]["weight_ih"], ref.weight_ih_l1_reverse)
    assert list(join_torch_nn(layers)) == list(ref.state_dict())
    # layer 0 of both directions as NumPy layers: the reverse one on the reversed input
    X = torch.randn(T, B, D, dtype=f64)
    with torch.no_grad():
        one = torch.nn.LSTM(D, H, bidirectional=True, dtype=f64)
        one.load_state_dict({k: v for k, v in ref.state_dict().items() if "_l0" in k})
        Y_ref, _ = one(X)
    forward, backward = (rnnbook.numpy.LSTM(D, H) for _ in range(2))
    forward.load_state_dict(layers[0][0])
    backward.load_state_dict(layers[0][1])
    Y_f, _ = forward.forward(X.numpy())
    Y_b, _ = backward.forward(X.numpy()[::-1].copy())
    assert rel(np.concatenate([Y_f, Y_b[::-1]], axis=2), Y_ref) < 1e-13
    # ours into torch.nn as it is
    ours = rnnbook.torch.LSTM(D, H, dtype=f64, num_layers=2, bidirectional=True)
    back = torch.nn.LSTM(D, H, num_layers=2, bidirectional=True, dtype=f64)
    back.load_state_dict(ours.state_dict())
    with torch.no_grad():
        assert rel(back(X)[0], ours(X)[0]) < 1e-13
    # cell names: a one-layer one-direction layer takes them (NumPy's state dict), a deeper one refuses
    cell_style = rnnbook.numpy.LSTM(D, H).state_dict()
    rnnbook.torch.LSTM(D, H, dtype=f64).load_state_dict(cell_style)
    with pytest.raises(StateDictError, match=r"missing \[.*'weight_ih_l0'.*unexpected \[.*'weight_ih'"):
        ours.load_state_dict(cell_style)
    # and the NumPy layer takes a one-layer torch.nn / rnnbook.torch state dict as it is
    rnnbook.numpy.LSTM(D, H).load_state_dict(rnnbook.torch.LSTM(D, H).state_dict())


# ---------------------------------------------------------------------------- bad input
def _lstm(**kw):
    return rnnbook.torch.LSTM(D, H, dtype=f64, **kw)


X_BAD = torch.zeros(T, B, D, dtype=f64)
BAD = [
    ("lengths of the wrong batch", lambda: _lstm()(X_BAD, lengths=[3, 2]), ValueError, r"lengths.*\(4,\).*\(2,\)"),
    ("a length of zero", lambda: _lstm()(X_BAD, lengths=[5, 0, 2, 1]), ValueError, r"lengths must be in \[1, 5\].*got 0 at position 1"),
    ("a length past T", lambda: _lstm()(X_BAD, lengths=[6, 1, 2, 1]), ValueError, r"lengths must be in \[1, 5\].*got 6"),
    ("float lengths", lambda: _lstm()(X_BAD, lengths=torch.tensor([5.0, 1, 2, 1])), TypeError, r"lengths must be .* ints"),
    ("lengths and a PackedSequence", lambda: _lstm()(pack_padded_sequence(X_BAD, [5, 2, 2, 1]), lengths=[5, 2, 2, 1]),
     ValueError, "lengths must be None when X is a PackedSequence"),
    ("h0 for one layer into two", lambda: rnnbook.torch.GRU(D, H, dtype=f64, num_layers=2)(X_BAD, torch.zeros(1, B, H, dtype=f64)),
     ValueError, r"h0 must have shape \(num_layers \* num_directions, B, H\) = \(2, 4, 4\), got \(1, 4, 4\)"),
    ("(B, H) into a bidirectional layer", lambda: rnnbook.torch.RNN(D, H, dtype=f64, bidirectional=True)(X_BAD, torch.zeros(B, H, dtype=f64)),
     ValueError, r"h0 must have shape .* = \(2, 4, 4\), got \(4, 4\)"),
    ("c0 of the wrong layers", lambda: _lstm(num_layers=2)(X_BAD, (torch.zeros(2, B, H, dtype=f64), torch.zeros(1, B, H, dtype=f64))),
     ValueError, r"c0 must have shape .* = \(2, 4, 4\)"),
    ("dropout 1", lambda: _lstm(num_layers=2, dropout=1.0), ValueError, r"dropout must be in \[0, 1\), got 1.0"),
    ("dropout < 0", lambda: _lstm(num_layers=2, dropout=-0.1), ValueError, r"dropout must be in \[0, 1\), got -0.1"),
    ("dropout text", lambda: _lstm(dropout="0.5"), TypeError, r"dropout must be a number in \[0, 1\)"),
    ("num_layers 0", lambda: _lstm(num_layers=0), ValueError, "num_layers must be a positive int"),
    ("bidirectional text", lambda: _lstm(bidirectional="yes"), TypeError, "bidirectional must be a bool"),
    ("split a non-torch.nn key", lambda: split_torch_nn({"weight_ih": 0}), StateDictError, "'weight_ih' is not a torch.nn layer key"),
    ("from_torch_nn a missing reverse", lambda: from_torch_nn(torch.nn.RNN(D, H).state_dict(), reverse=True),
     StateDictError, "no 'weight_ih_l0_reverse'"),
]


@pytest.mark.parametrize("call,error,match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_unsorted_lengths_need_no_sorting_here():
    """torch.nn needs sorted lengths for enforce_sorted=True (pack_padded_sequence refuses others and
    names the option); our ``lengths=`` takes any order (the padding test above uses unsorted ones)."""
    with pytest.raises(RuntimeError, match="enforce_sorted"):
        pack_padded_sequence(X_BAD, torch.tensor(LENGTHS), enforce_sorted=True)
