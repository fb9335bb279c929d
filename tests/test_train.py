"""The training loop (rnnbook.train) and the delayed-echo task (chapter 2)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

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
