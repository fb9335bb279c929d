"""The training loop (rnnbook.train) and the delayed-echo task (chapter 2)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnbook.numpy
import rnnbook.torch
from rnnbook.data import delayed_echo
from rnnbook.train import SequenceRegressor, TrainConfig, train_regressor


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
