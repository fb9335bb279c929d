"""rnnbook.forecast (chapter 6): the error measures against their closed forms, the baselines by
hand, rolling-origin evaluation that sees only the past, the SARIMAX baseline against the AR(1)
it was simulated from, the recurrent forecasters, and clear errors for bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from rnnbook.data import fit_scaler, make_windows, split_by_time
from rnnbook.forecast import (RollingForecast, Sarimax, choose_sarimax_order, fit_forecaster, mae, mase, mase_scale,
                              persistence, predict, recursive_forecast, rmse, rnn_forecaster, rolling_origin, scores,
                              seasonal_naive, window_sampler)
from rnnbook.seed import seed_everything
from rnnbook.torch import GRU
from rnnbook.train import SequenceRegressor, TrainConfig


def ar1(n, phi=0.7, c=0.5, sigma=1.0, seed=0):
    """y_t = c + phi y_{t-1} + sigma e_t, started at its mean c / (1 - phi)."""
    rng = np.random.default_rng(seed)
    y = np.empty(n)
    y[0] = c / (1 - phi)
    for t in range(1, n):
        y[t] = c + phi * y[t - 1] + sigma * rng.normal()
    return y


# --- error measures ----------------------------------------------------------------------------

def test_mae_and_rmse_closed_forms():
    y, y_hat = np.zeros(4), np.array([1.0, -1.0, 3.0, -3.0])
    assert mae(y, y_hat) == 2.0
    assert rmse(y, y_hat) == pytest.approx(np.sqrt(5.0), rel=1e-15)
    errors = np.random.default_rng(0).normal(size=(50, 3))
    assert rmse(errors, 0 * errors) >= mae(errors, 0 * errors)  # the quadratic mean bounds the mean


@pytest.mark.parametrize("m", [1, 4, 12])
def test_mase_of_the_naive_forecast_on_training_is_one(m):
    """Hyndman & Koehler (2006): the scale is the in-sample MAE of the (seasonal) naive forecast,
    so that forecast of the training part scores exactly 1."""
    train = np.random.default_rng(m).normal(size=120).cumsum()
    assert mase(train[m:], train[:-m], train, m) == pytest.approx(1.0, rel=1e-13)
    assert mase_scale(train, m) == pytest.approx(np.mean(np.abs(np.diff(train[::1], n=1))) if m == 1
                                                 else np.mean(np.abs(train[m:] - train[:-m])), rel=1e-15)
    assert mase(train, train, train, m) == 0.0


def test_scores_keys():
    y = np.arange(10.0)
    assert set(scores(y, y + 1, y)) == {"MAE", "RMSE", "MASE"}
    assert scores(y, y + 1, y)["MASE"] == 1.0  # the naive one-step error of a unit ramp is 1


@pytest.mark.parametrize("call, error, text", [
    (lambda: mae(np.zeros(3), np.zeros(4)), ValueError, "same shape"),
    (lambda: mae(np.zeros(0), np.zeros(0)), ValueError, "must not be empty"),
    (lambda: rmse(np.zeros(3), np.array([0, np.nan, 0])), ValueError, "y_hat must be finite"),
    (lambda: mae(["a"], ["b"]), TypeError, "real numbers"),
    (lambda: mase(np.zeros(3), np.zeros(3), np.ones(10)), ValueError, "MASE is undefined"),
    (lambda: mase(np.zeros(3), np.zeros(3), np.arange(4.0), m=4), ValueError, "longer than the seasonal period"),
    (lambda: mase(np.zeros(3), np.zeros(3), np.arange(4.0), m=0), ValueError, "m must be a positive int"),
    (lambda: mase_scale(np.zeros((5, 2))), ValueError, "one series"),
])
def test_measures_refuse_bad_input(call, error, text):
    with pytest.raises(error, match=text):
        call()


# --- baselines and rolling origin --------------------------------------------------------------

def test_seasonal_naive_and_persistence_by_hand():
    history = np.arange(1.0, 9.0)  # 1..8
    np.testing.assert_array_equal(seasonal_naive(history, 6, m=4), [5, 6, 7, 8, 5, 6])
    np.testing.assert_array_equal(persistence(history, 3), [8, 8, 8])
    periodic = np.tile([3.0, -1.0, 2.0], 10)
    assert mae(periodic[15:18], seasonal_naive(periodic[:15], 3, m=3)) == 0.0


@pytest.mark.parametrize("call, error, text", [
    (lambda: seasonal_naive(np.arange(3.0), 0), ValueError, "horizon must be a positive int"),
    (lambda: seasonal_naive(np.arange(3.0), 2, m=4), ValueError, "at least one season"),
    (lambda: persistence(np.array([1.0, np.nan]), 1), ValueError, "NaN"),
])
def test_baselines_refuse_bad_input(call, error, text):
    with pytest.raises(error, match=text):
        call()


def test_rolling_origin_gives_each_forecast_the_past_only():
    y = np.arange(30.0) ** 2
    seen = []

    def spy(history, horizon):
        seen.append(history.copy())
        history[:] = -1.0  # vandalism must not reach the series or later origins
        return np.full(horizon, 7.0)

    result = rolling_origin(spy, y, 20, 30, 3)
    np.testing.assert_array_equal(result.origins, np.arange(20, 28))
    for t, history in zip(result.origins, seen):
        np.testing.assert_array_equal(history, y[:t])
    np.testing.assert_array_equal(result.truth, y[result.origins[:, None] + np.arange(3)])
    assert result.lower is None and (result.mean == 7).all()
    assert result.scores(y[:20], step=1)["MAE"] == mae(y[20:28], np.full(8, 7.0))


def test_rolling_origin_persistence_equals_shifted_series():
    y = np.random.default_rng(3).normal(size=40).cumsum()
    result = rolling_origin(persistence, y, 25, 40, 1)
    np.testing.assert_array_equal(result.mean[:, 0], y[24:39])
    assert result.scores(y[:25])["MASE"] == pytest.approx(mae(y[25:], y[24:39]) / np.mean(np.abs(np.diff(y[:25]))))


@pytest.mark.parametrize("fn, error, text", [
    (lambda h, k: np.zeros(k + 1), ValueError, "shape"),
    (lambda h, k: np.full(k, np.nan), ValueError, "finite"),
    (lambda h, k: (np.zeros(k), np.zeros(k)), TypeError, "tuple of 2"),
])
def test_rolling_origin_refuses_bad_forecasts(fn, error, text):
    with pytest.raises(error, match=text):
        rolling_origin(fn, np.arange(10.0), 5, 10, 2)
    with pytest.raises(ValueError, match="no origin fits"):
        rolling_origin(persistence, np.arange(10.0), 8, 10, 3)


def test_coverage():
    r = RollingForecast(np.arange(4), np.zeros((4, 1)), np.zeros((4, 1)), -np.ones((4, 1)),
                        np.array([[1.0], [1.0], [-0.5], [1.0]]))
    assert r.coverage() == 0.75
    with pytest.raises(ValueError, match="no prediction interval"):
        RollingForecast(np.arange(1), np.zeros((1, 1)), np.zeros((1, 1))).coverage()


# --- SARIMAX -----------------------------------------------------------------------------------

def test_sarimax_recovers_an_ar1_and_its_one_step_closed_form():
    """Fitted on a simulated AR(1), the estimate is near phi, the one-step forecast is exactly
    c + phi y_{t-1} with the fitted c and phi, and its 95% interval is that +- 1.96 sigma-hat."""
    y = ar1(1000, phi=0.7, c=0.5)
    model = Sarimax(y[:800], (1, 0, 0))
    c, phi, sigma2 = model.result.params
    assert abs(phi - 0.7) < 0.06 and abs(c - 0.5) < 0.15 and abs(sigma2 - 1.0) < 0.12
    one = model.one_step(y, 800, 1000)
    np.testing.assert_allclose(one, c + phi * y[799:999], rtol=1e-9, atol=1e-9)
    result = rolling_origin(model, y[:830], 800, 830, 1)
    np.testing.assert_allclose(result.mean[:, 0], one[:30], rtol=1e-9, atol=1e-9)
    half_width = 1.959964 * np.sqrt(sigma2)
    np.testing.assert_allclose(result.upper - result.mean, half_width, rtol=1e-5)
    np.testing.assert_allclose(result.mean - result.lower, half_width, rtol=1e-5)
    two = model(y[:800], 2)[0]  # two steps ahead: the AR(1) recursion applied twice
    np.testing.assert_allclose(two, [c + phi * y[799], c + phi * (c + phi * y[799])], rtol=1e-9)


def test_choose_sarimax_order_never_reads_the_test_part():
    y = ar1(300, phi=0.8, seed=1)
    split = split_by_time(300, 60, 60)
    best, val = choose_sarimax_order(y, split, [(0, 0, 0), (1, 0, 0)])
    assert best == (1, 0, 0) and val[(1, 0, 0)] < val[(0, 0, 0)]
    other = y.copy()
    other[split.val_end:] = 1e3 * np.random.default_rng(2).normal(size=60)  # a different test part
    assert choose_sarimax_order(other, split, [(0, 0, 0), (1, 0, 0)]) == (best, val)


@pytest.mark.parametrize("call, error, text", [
    (lambda: Sarimax(np.arange(20.0), [1, 0, 0]), TypeError, "order must be a tuple"),
    (lambda: Sarimax(np.arange(20.0), (1, 0, -1)), ValueError, r"order\[2\]"),
    (lambda: Sarimax(np.arange(20.0), (1, 0, 0), alpha=1.5), ValueError, "alpha must be in"),
    (lambda: choose_sarimax_order(np.arange(20.0), split_by_time(30, 5, 5), [(1, 0, 0)]), ValueError, "30 steps"),
    (lambda: choose_sarimax_order(np.arange(30.0), split_by_time(30, 5, 5), []), ValueError, "at least one"),
])
def test_sarimax_refuses_bad_input(call, error, text):
    with pytest.raises(error, match=text):
        call()


# --- recurrent forecasters ---------------------------------------------------------------------

class HalfLast(nn.Module):
    """A stand-in model with a known answer: 0.5 times the last input (one output)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.tensor(0.5, dtype=torch.float64))

    def forward(self, X):
        return self.w * X[-1, :, :1]


def test_recursive_forecast_feeds_forecasts_back():
    X = np.array([[[1.0], [4.0]], [[2.0], [8.0]]])  # (L=2, N=2, 1); last inputs 2 and 8
    out = recursive_forecast(HalfLast(), X, 3)
    np.testing.assert_allclose(out, [[1.0, 0.5, 0.25], [4.0, 2.0, 1.0]])
    with pytest.raises(ValueError, match=r"\(L, N, 1\)"):
        recursive_forecast(HalfLast(), np.zeros((2, 2, 2)), 3)


def test_rnn_forecaster_scales_and_unscales():
    y = np.arange(20.0)
    split = split_by_time(20, 4, 4)
    scaler = fit_scaler(y, split)
    forecast = rnn_forecaster(HalfLast(), scaler, lookback=3)
    z_last = (y[-1] - scaler.mean[0]) / scaler.std[0]
    expected = scaler.mean[0] + scaler.std[0] * z_last * 0.5 ** np.arange(1, 3)
    np.testing.assert_allclose(forecast(y, 2), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="lookback=3"):
        forecast(y[:2], 1)
    with pytest.raises(ValueError, match="mode"):
        rnn_forecaster(HalfLast(), scaler, 3, mode="both")


def test_window_sampler_refuses_missing_values():
    X, Y = np.zeros((3, 5, 1)), np.zeros((5, 1))
    X[0, 2, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        window_sampler(X, Y, 4)
    with pytest.raises(ValueError, match="same N"):
        window_sampler(np.zeros((3, 5, 1)), np.zeros((4, 1)), 4)


def test_a_gru_trained_by_the_one_loop_beats_persistence_on_a_noisy_sine():
    """The known answer: the best one-step forecast of sin + noise has RMSE sigma; a small GRU,
    trained with rnnbook.train, gets much closer to it than persistence does."""
    rng = np.random.default_rng(0)
    t = np.arange(400)
    sigma = 0.1
    y = np.sin(2 * np.pi * t / 20) + sigma * rng.normal(size=400)
    split = split_by_time(400, 50, 50)
    scaler = fit_scaler(y, split)
    z = scaler.transform(y)
    X, Y = make_windows(z, 10, 1, 0, split.train_end)
    seed_everything(0)
    model = SequenceRegressor(GRU(1, 16))
    history = fit_forecaster(model, X, Y, TrainConfig(steps=120, lr=1e-2), batch_size=32)
    assert history.final_loss() < history.losses[0]
    Xt, Yt = make_windows(z, 10, 1, split.val_end, 400, inputs_from=0)
    gru = rmse(scaler.inverse(Yt), scaler.inverse(predict(model, Xt)))
    naive = rmse(scaler.inverse(Yt), scaler.inverse(Xt[-1]))
    assert gru < 0.6 * naive and gru < 2.5 * sigma
