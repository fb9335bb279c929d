"""The one training loop (rnnbook.train): train_regressor (chapters 2-4), train (chapter 5), and the
delayed-echo task (chapter 2)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch

import rnnbook.numpy
import rnnbook.torch
from rnnbook.data import delayed_echo
from rnnbook.train import (LoopConfig, RandomBatches, SequenceRegressor, TrainConfig, evaluate, show_progress, train,
                           train_regressor)


def _sum_task(rng):
    """Predict the sum of a short sequence: easy, so a working loop must make progress."""
    X = rng.normal(size=(5, 16, 1)).astype(np.float32)
    return X, X.sum(axis=0)


def _model(seed=0, **kw):
    torch.manual_seed(seed)
    return SequenceRegressor(rnnbook.torch.RNN(1, 8, **kw))


def test_training_reduces_the_loss_and_is_reproducible():
    a = train_regressor(_model(), _sum_task, TrainConfig(steps=150, lr=0.02))
    b = train_regressor(_model(), _sum_task, TrainConfig(steps=150, lr=0.02))
    assert a.losses == b.losses and a.grad_norms == b.grad_norms       # same seeds, same run
    assert a.final_loss() < 0.1 * np.mean(a.losses[:5])
    assert len(a.losses) == 150 and a.seconds > 0 and a.seconds_per_step == a.seconds / 150


def test_clipping_bounds_every_update():
    """With SGD at lr=1 and max_norm=c, no update moves the parameters further than c."""
    model = _model()
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    history = train_regressor(model, _sum_task, TrainConfig(steps=1, lr=1.0, optimizer="sgd", max_norm=1e-3))
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert history.grad_norms[0] > 1e-2                                  # clipping was needed...
    assert torch.linalg.vector_norm(after - before).item() <= 1e-3 * (1 + 1e-5)   # ...and applied


def test_training_stops_at_a_non_finite_loss():
    def nan_batches(rng):
        X, y = _sum_task(rng)
        return X, np.full_like(y, np.nan)

    history = train_regressor(_model(), nan_batches, TrainConfig(steps=50))
    assert len(history.losses) == 1 and np.isnan(history.losses[0])


def test_regressor_follows_the_layer_dtype_and_checks_it():
    model = SequenceRegressor(rnnbook.torch.RNN(2, 4, dtype=torch.float64), out_features=3)
    assert model(torch.zeros(6, 5, 2, dtype=torch.float64)).shape == (5, 3)
    assert model.head.weight.dtype == torch.float64
    with pytest.raises(ValueError, match="time-major"):
        SequenceRegressor(rnnbook.torch.RNN(2, 4, batch_first=True))
    with pytest.raises(TypeError, match="hidden_size"):
        SequenceRegressor(torch.nn.Linear(2, 4))


@pytest.mark.parametrize("kwargs, message", [
    ({"steps": 0}, "steps must be a positive int"),
    ({"lr": -1.0}, "lr must be positive"),
    ({"optimizer": "rmsprop"}, r"optimizer must be one of \('adam', 'sgd'\), got 'rmsprop'"),
    ({"max_norm": 0.0}, "max_norm must be positive, got 0.0"),
])
def test_train_config_rejects_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**kwargs)


def test_delayed_echo_is_the_input_shifted():
    """y_t = x_{t-d}, and 0 for the first d steps."""
    X, Y = delayed_echo(3, 10, 4, np.random.default_rng(0))
    assert X.shape == Y.shape == (10, 3, 1)
    assert np.array_equal(Y[4:], X[:6]) and not Y[:4].any()
    X0, Y0 = delayed_echo(2, 5, 0, np.random.default_rng(0))
    assert np.array_equal(X0, Y0)
    for bad in (10, -1):
        with pytest.raises(ValueError, match=rf"delay must be an int in \[0, 9\], got {bad}"):
            delayed_echo(3, 10, bad, np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"delay must be an int in \[0, 9\], got float 2.0"):
        delayed_echo(3, 10, 2.0, np.random.default_rng(0))


def test_targets_of_the_wrong_shape_are_refused_not_broadcast():
    """Issue 9, defect 4: targets (B,) against predictions (B, 1) trained on a broadcast (B, B) loss."""
    def flat_targets(rng):
        X, y = _sum_task(rng)
        return X, y[:, 0]

    with pytest.raises(ValueError, match=r"targets y must have the shape of the model's predictions \(16, 1\), got \(16,\)"):
        train_regressor(_model(), flat_targets, TrainConfig(steps=2))


def test_seed_must_be_an_int_and_numpy_ints_are_converted():
    """Issue 9, defect 4: TrainConfig(seed=None) ran unseeded; a NumPy integer is fine (and becomes an int)."""
    with pytest.raises(TypeError, match="seed must be a non-negative int, got NoneType None"):
        TrainConfig(seed=None)
    config = TrainConfig(seed=np.int64(3), steps=np.int64(2))
    assert type(config.seed) is int and config.seed == 3 and type(config.steps) is int


def test_models_that_cannot_be_trained_are_named():
    """Issue 9, defect 6: no parameters gave a bare StopIteration; a NumPy layer failed deep inside."""

    class Empty(torch.nn.Module):
        hidden_size = 4

    with pytest.raises(ValueError, match="model must have parameters to train, got a Empty with none"):
        train_regressor(Empty(), _sum_task, TrainConfig(steps=2))
    with pytest.raises(ValueError, match="recurrent must have parameters"):
        SequenceRegressor(Empty())
    with pytest.raises(TypeError, match=r"recurrent must be a torch.nn.Module, got RNN.*use rnnbook.torch.RNN instead"):
        SequenceRegressor(rnnbook.numpy.RNN(1, 8))


def test_training_stops_at_a_non_finite_gradient_before_updating():
    """With clipping on, a finite loss with an infinite gradient is recorded and stops the run before
    any update (clipping cannot repair it). Without clipping the step is taken, as an unclipped run
    does, and the NaN weights it makes stop the run at the next loss."""

    class InfiniteGradient(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.clone()

        @staticmethod
        def backward(ctx, g):
            return torch.full_like(g, float("inf"))

    class Exploding(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = _model()

        def forward(self, X):
            return InfiniteGradient.apply(self.inner(X))

    model = Exploding()
    before = [p.detach().clone() for p in model.parameters()]
    history = train_regressor(model, _sum_task, TrainConfig(steps=5, max_norm=1.0))
    assert len(history.losses) == 1 and np.isfinite(history.losses[0]) and not np.isfinite(history.grad_norms[0])
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters()))
    history = train_regressor(Exploding(), _sum_task, TrainConfig(steps=5, max_norm=None))
    assert len(history.losses) == 2 and np.isfinite(history.losses[0]) and np.isnan(history.losses[1])


# The one loop, rnnbook.train.train (chapter 5): validation, schedule, progress bar, carried state.

def _lm_setup(steps=6, **config):
    from rnnbook.torch.charlm import CharModel
    torch.manual_seed(0)
    model = CharModel(5, 8, "gru")

    def make_batch(rng):
        tokens = rng.integers(0, 5, size=(4, 3))
        return tokens[:-1], tokens[1:]

    return model, torch.optim.Adam(model.parameters(), lr=0.05), RandomBatches(make_batch, seed=0), LoopConfig(steps, **config)


def test_the_loop_carries_the_state_and_evaluates_at_intervals():
    from rnnbook.torch.charlm import lm_loss
    model, opt, batches, config = _lm_setup(steps=6, eval_every=3)
    calls = []  # (training?, carry received, carry returned)

    def recording_loss(model, batch, carry):
        loss, new_carry = lm_loss(model, batch, carry)
        calls.append((model.training, carry, new_carry))
        return loss, new_carry

    validation = [(np.zeros((3, 2), dtype=int), np.ones((3, 2), dtype=int))] * 2
    history = train(model, opt, recording_loss, batches, config, validation=validation)
    steps = [(carry, new) for training, carry, new in calls if training]
    evals = [(carry, new) for training, carry, new in calls if not training]
    assert len(steps) == 6 and len(evals) == 2 * 2                         # 6 steps, 2 evaluations of 2 batches
    assert steps[0][0] is None and all(steps[k][0] is steps[k - 1][1] for k in range(1, 6))  # carried, even
    assert [c is None for c, _ in evals] == [True, False, True, False]     # across evaluations, which start afresh
    assert history.val_steps == [3, 6] and len(history.val_losses) == 2
    assert history.val_losses[-1] == evaluate(model, lm_loss, validation)  # the last evaluation: the final model
    assert model.training                                                  # evaluation left train mode on


def test_the_schedule_sets_the_learning_rate_of_every_step():
    from rnnbook.torch.charlm import lm_loss
    model, opt, batches, config = _lm_setup(steps=5)
    history = train(model, opt, lm_loss, batches, config, schedule=lambda step: 0.1 * 0.5 ** step)
    assert history.lrs == [0.1 * 0.5 ** k for k in range(5)] and opt.param_groups[0]["lr"] == 0.1 * 0.5 ** 4
    with pytest.raises(ValueError, match="schedule\\(0\\) must be positive, got -1"):
        train(model, opt, lm_loss, batches, config, schedule=lambda step: -1)


def test_the_progress_bar_is_silent_off_a_terminal_and_changes_nothing(capsys, monkeypatch):
    """nbval and CI see no bar (no terminal, or CI set); a bar asked for is drawn on stderr and the
    run is the same bits either way."""
    from rnnbook.torch.charlm import lm_loss
    monkeypatch.delenv("RNNBOOK_PROGRESS", raising=False)
    assert show_progress() is False                                         # pytest captures stderr: no terminal
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    monkeypatch.delenv("CI", raising=False)
    assert show_progress() is True
    monkeypatch.setenv("CI", "true")
    assert show_progress() is False and show_progress(True) is True
    monkeypatch.setenv("RNNBOOK_PROGRESS", "1")
    assert show_progress() is True and show_progress(False) is False
    capsys.readouterr()
    runs = {}
    for progress in (False, True):
        model, opt, batches, config = _lm_setup(steps=20, progress=progress)
        runs[progress] = train(model, opt, lm_loss, batches, config).losses
        err = capsys.readouterr().err
        assert ("20/20" in err) == progress
    assert runs[False] == runs[True]


def test_an_exhausted_source_ends_the_run():
    from rnnbook.torch.charlm import lm_loss
    model, opt, _, config = _lm_setup(steps=10)
    batches = iter([(np.zeros((3, 2), dtype=int), np.ones((3, 2), dtype=int))] * 3)
    assert len(train(model, opt, lm_loss, batches, config).losses) == 3


def test_the_loop_names_bad_arguments():
    from rnnbook.torch.charlm import lm_loss
    model, opt, batches, config = _lm_setup()
    with pytest.raises(ValueError, match="validation and config.eval_every go together"):
        train(model, opt, lm_loss, batches, config, validation=[])
    one_shot = iter([(np.zeros((3, 2), dtype=int),) * 2])
    with pytest.raises(TypeError, match="got a one-shot iterator"):
        train(model, opt, lm_loss, batches, LoopConfig(3, eval_every=1), validation=one_shot)
    with pytest.raises(ValueError, match="the validation source yielded no batch"):
        train(model, opt, lm_loss, batches, LoopConfig(3, eval_every=1), validation=[])
    with pytest.raises(TypeError, match="batches must be an iterator of batches"):
        train(model, opt, lm_loss, [(np.zeros((3, 2), dtype=int),) * 2], config)
    with pytest.raises(TypeError, match="optimizer must be a torch.optim.Optimizer"):
        train(model, "adam", lm_loss, batches, config)
    with pytest.raises(TypeError, match="loss_fn must return \\(loss, carry\\) with a 0-d tensor loss"):
        train(model, opt, lambda m, b, c: (1.0, None), batches, config)
    with pytest.raises(ValueError, match="eval_every must be a positive int, got 0"):
        LoopConfig(5, eval_every=0)
