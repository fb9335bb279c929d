"""The character model (chapter 5): NumPy CharModel against finite differences and against its torch
twin with copied weights, state carried across chunks, the NumPy optimisers against torch.optim."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnbook.checks import NoForwardError, StateDictError
from rnnbook.gradcheck import check_gradients, relative_error
from rnnbook.numpy.charlm import CharModel
from rnnbook.numpy.clip import clip_grad_norm, global_norm
from rnnbook.numpy.loss import cross_entropy
from rnnbook.numpy.optim import SGD, Adam
from rnnbook.text import StreamBatcher
from rnnbook.torch.charlm import CharModel as TorchCharModel
from rnnbook.torch.charlm import lm_loss
from rnnbook.train import LoopConfig, train

CELLS = ("rnn", "lstm", "gru")
V, H = 7, 5


def _data(rng, T=6, B=3):
    tokens = rng.integers(0, V, size=(T + 1, B))
    return tokens[:-1], tokens[1:]


def _twins(cell, seed=0):
    model = CharModel(V, H, cell, rng=np.random.default_rng(seed))
    twin = TorchCharModel(V, H, cell, dtype=torch.float64)
    twin.load_state_dict({k: torch.tensor(v) for k, v in model.state_dict().items()})
    return model, twin


def _state(cell, rng, B=3):
    h = rng.normal(size=(B, H))
    return (h, rng.normal(size=(B, H))) if cell == "lstm" else h


def _to_torch(state):
    return tuple(torch.tensor(s) for s in state) if isinstance(state, tuple) else torch.tensor(state)


@pytest.mark.parametrize("cell", CELLS)
def test_gradients_match_finite_differences(cell, rng):
    """Loss -> head -> layer backward (eqs. ce-grad and charlm-head, chapters 2-4's BPTT), every parameter."""
    model = CharModel(V, H, cell, rng=rng)
    inputs, targets = _data(rng)
    state0 = _state(cell, rng)
    loss, grads, _ = model.loss_and_grads(inputs, targets, state0)
    assert set(grads) == set(model.params)
    f = lambda: cross_entropy(model.forward(inputs, state0)[0], targets)  # noqa: E731
    assert f() == loss
    check_gradients(f, model.params, grads, max_entries=40).assert_ok(1e-6)


def test_a_wrong_head_gradient_fails_the_check(rng):
    """The check above can fail: dropping the 1/N of the loss's gradient is caught."""
    model = CharModel(V, H, "rnn", rng=rng)
    inputs, targets = _data(rng)
    _, grads, _ = model.loss_and_grads(inputs, targets)
    grads["head.weight"] = grads["head.weight"] * inputs.size
    f = lambda: cross_entropy(model.forward(inputs)[0], targets)  # noqa: E731
    assert not check_gradients(f, {"head.weight": model.params["head.weight"]}, grads).ok(1e-3)


@pytest.mark.parametrize("cell", CELLS)
def test_parity_with_the_torch_twin(cell, rng):
    """Same weights, same chunk, same carried state: same logits, loss, final state and gradients (float64)."""
    model, twin = _twins(cell)
    inputs, targets = _data(rng, T=9, B=4)
    state0 = _state(cell, rng, B=4)
    loss, grads, state = model.loss_and_grads(inputs, targets, state0)
    loss_t, state_t = lm_loss(twin, (torch.tensor(inputs), torch.tensor(targets)), _to_torch(state0))
    loss_t.backward()
    assert abs(loss - loss_t.item()) < 1e-13
    for name, p in twin.named_parameters():  # the twin's recurrent.weight_ih_l0 is our recurrent.weight_ih
        assert relative_error(grads[name.removesuffix("_l0")], p.grad) < 1e-12, name
    for a, b in zip(state if cell == "lstm" else (state,), state_t if cell == "lstm" else (state_t,)):
        assert b.shape == (1, *a.shape)  # torch.nn's (layers, B, H)
        assert relative_error(a, b[0]) < 1e-13 and not b.requires_grad  # lm_loss detaches the carried state
    logits, _ = model.forward(inputs, state0)
    assert relative_error(logits, twin(torch.tensor(inputs), _to_torch(state0))[0]) < 1e-13


@pytest.mark.parametrize("cell", CELLS)
def test_state_carried_across_chunks_equals_one_long_pass(cell, rng):
    """Two chunks with the state carried give the logits of one pass over both (stateful TBPTT's forward is exact)."""
    model = CharModel(V, H, cell, rng=rng)
    tokens = rng.integers(0, V, size=(10, 2))
    whole, _ = model.forward(tokens)
    first, state = model.forward(tokens[:4])
    second, _ = model.forward(tokens[4:], state)
    assert np.allclose(np.concatenate([first, second]), whole, rtol=0, atol=1e-14)
    reset, _ = model.forward(tokens[4:])
    assert not np.allclose(reset, whole[4:], atol=1e-6)  # without the state, the second chunk differs


class _Spy(torch.nn.Module):
    """Wraps a torch CharModel and records the state each forward starts from and ends with."""

    def __init__(self, model):
        super().__init__()
        self.model, self.started, self.ended = model, [], []

    def forward(self, inputs, state=None):
        self.started.append(state)
        logits, state = self.model(inputs, state)
        self.ended.append(tuple(s.detach().clone() for s in state))
        return logits, state


def test_training_through_the_wrap_zeroes_the_state_exactly_there():
    """train() over a StreamBatcher: the state is carried from chunk to chunk, and zeroed (None) only
    where the streams start over; the state from the end of the text never reaches its start."""
    ids = np.random.default_rng(0).integers(0, V, size=61)  # B = 2 streams of 30 steps, T = 8: 3 chunks per pass
    batches = StreamBatcher(ids, batch_size=2, chunk_len=8, device="cpu")
    assert batches.chunks_per_epoch == 3
    torch.manual_seed(0)
    spy = _Spy(TorchCharModel(V, H, "lstm"))
    history = train(spy, torch.optim.Adam(spy.parameters(), lr=0.01), lm_loss, batches, LoopConfig(steps=8))
    assert len(history.losses) == len(spy.started) == 8
    for step, state in enumerate(spy.started):
        if step % 3 == 0:  # steps 0, 3, 6: the first chunk of a pass
            assert state is None, f"step {step} starts a pass but carried a state"
        else:
            assert state is not None and all(torch.equal(s, e) for s, e in zip(state, spy.ended[step - 1]))


def test_resuming_across_the_wrap_gives_the_same_bits(tmp_path):
    """Checkpoint just before the wrap (its carried state included), resume through it: the straight run's bits."""
    ids = np.random.default_rng(0).integers(0, V, size=61)

    def run(steps, **kwargs):
        torch.manual_seed(0)
        model = TorchCharModel(V, H, "gru")
        history = train(model, torch.optim.Adam(model.parameters(), lr=0.01), lm_loss,
                        StreamBatcher(ids, 2, 8, device="cpu"), LoopConfig(steps), **kwargs)
        return model, history

    straight, straight_history = run(5)
    run(3, checkpoint=tmp_path / "c")  # the next chunk is the first of pass 2
    resumed, resumed_history = run(5, resume_from=tmp_path / "c")
    assert resumed_history.losses == straight_history.losses
    assert all(torch.equal(a, b) for a, b in zip(resumed.parameters(), straight.parameters()))


def test_state_dicts_move_between_the_twins(rng):
    model, twin = _twins("lstm")
    back = CharModel(V, H, "lstm", rng=np.random.default_rng(99))
    back.load_state_dict(twin.state_dict())
    assert all(np.array_equal(back.params[k], v) for k, v in model.params.items())
    held = back.params["head.weight"]
    back.load_state_dict(model.state_dict())
    assert back.params["head.weight"] is held  # values copied into the arrays an optimiser holds
    assert model.num_parameters() == sum(p.numel() for p in twin.parameters())
    with pytest.raises(StateDictError, match="missing \\['head.bias'\\]"):
        back.load_state_dict({k: v for k, v in model.state_dict().items() if k != "head.bias"})


def test_adam_matches_torch_adam_step_by_step(rng):
    """Eqs. adam-moments and adam-update: five steps agree with torch.optim.Adam (float64), and a
    state_dict round trip resumes exactly."""
    model, twin = _twins("gru")
    opt = Adam(model.params, lr=0.01)
    opt_t = torch.optim.Adam(twin.parameters(), lr=0.01)
    for step in range(5):
        inputs, targets = _data(rng)
        _, grads, _ = model.loss_and_grads(inputs, targets)
        opt.step(grads)
        opt_t.zero_grad()
        lm_loss(twin, (torch.tensor(inputs), torch.tensor(targets)))[0].backward()
        opt_t.step()
        if step == 2:  # a fresh optimiser loaded from the state dict continues identically
            fresh = Adam(model.params, lr=0.5)
            fresh.load_state_dict(opt.state_dict())
            opt = fresh
    for name, p in twin.named_parameters():
        assert relative_error(model.params[name.removesuffix("_l0")], p) < 1e-12, name


def test_sgd_and_clipping_bound_the_update(rng):
    """SGD at lr=1 after clipping the global norm to c moves the parameters by exactly min(c, ||g||)."""
    model = CharModel(V, H, "lstm", rng=rng)
    before = np.concatenate([p.ravel().copy() for p in model.params.values()])
    _, grads, _ = model.loss_and_grads(*_data(rng))
    clipped, norm = clip_grad_norm({k: grads[k] for k in model.params}, 1e-3)
    assert norm == pytest.approx(global_norm({k: grads[k] for k in model.params})) and norm > 1e-2
    SGD(model.params, lr=1.0).step(clipped)
    after = np.concatenate([p.ravel() for p in model.params.values()])
    assert np.linalg.norm(after - before) == pytest.approx(1e-3, rel=1e-6)


def test_training_by_hand_learns_a_repeating_text():
    """A few hundred Adam steps on a periodic stream bring the loss far below log V (nothing learnt)."""
    rng = np.random.default_rng(0)
    text = np.tile(np.arange(V), 40)
    streams = text.reshape(2, -1).T                      # (T_total, B=2)
    model = CharModel(V, 16, "gru", rng=rng)
    opt, state, losses = Adam(model.params, lr=0.02), None, []
    for epoch in range(6):
        for t in range(0, streams.shape[0] - 11, 10):
            loss, grads, state = model.loss_and_grads(streams[t:t + 10], streams[t + 1:t + 11], state)
            opt.step(clip_grad_norm({k: grads[k] for k in model.params}, 5.0)[0])
            losses.append(loss)
        state = None
    assert losses[0] > 0.8 * np.log(V) and np.mean(losses[-5:]) < 0.1


def test_bad_inputs_are_named(rng):
    model = CharModel(V, H, "rnn", rng=rng)
    with pytest.raises(TypeError, match=r"inputs must be an integer array of shape \(T, B\).*got ndarray of shape \(3, 2\) and dtype float64"):
        model.forward(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"inputs must be character indices in \[0, 7\), got values from 0 to 7"):
        model.forward(np.array([[0, 7]]))
    with pytest.raises(ValueError, match=r"inputs must be an integer array of shape \(T, B\).*got shape \(4,\)"):
        model.forward(np.arange(4))
    with pytest.raises(ValueError, match=r"targets must be an integer array of shape \(3, 2\).*got shape \(2, 3\)"):
        model.loss_and_grads(np.zeros((3, 2), dtype=int), np.zeros((2, 3), dtype=int))
    with pytest.raises(NoForwardError, match="backward\\(\\) needs a forward\\(\\) first"):
        CharModel(V, H, rng=rng).backward(np.zeros((1, 1, V)))
    model.forward(np.zeros((3, 2), dtype=int))
    with pytest.raises(ValueError, match=r"dlogits must have the shape of the last logits \(T, B, V\) = \(3, 2, 7\)"):
        model.backward(np.zeros((3, 2, 6)))
    with pytest.raises(ValueError, match="cell must be one of \\('rnn', 'lstm', 'gru'\\), got 'transformer'"):
        CharModel(V, H, "transformer")
    with pytest.raises(TypeError, match="inputs must be an integer tensor"):
        TorchCharModel(V, H)(torch.zeros(3, 2))
    with pytest.raises(StateDictError, match="missing \\['head.bias'\\]"):
        Adam(model.params).step({k: v for k, v in model.params.items() if k != "head.bias"})
    with pytest.raises(ValueError, match="betas must be a pair of numbers in \\[0, 1\\)"):
        Adam(model.params, betas=(0.9, 1.0))


def test_torch_twin_runs_on_the_model_device_from_numpy_batches(rng):
    """lm_loss takes NumPy batches (what the text streams yield) and moves them to the model's device."""
    twin = TorchCharModel(V, H, "lstm")
    inputs, targets = _data(rng)
    loss, (h, c) = lm_loss(twin, (inputs, targets))
    assert loss.dim() == 0 and h.shape == (1, 3, H) and not h.requires_grad
    ref = F.cross_entropy(twin(torch.tensor(inputs))[0].reshape(-1, V), torch.tensor(targets).reshape(-1))
    assert torch.equal(loss, ref)
