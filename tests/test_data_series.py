"""rnnbook.data's time-series helpers (chapter 6): a split by time, scaling fitted on the training
part only, and windows that never cross a split boundary; bad input gets a clear error."""

from __future__ import annotations

import numpy as np
import pytest

from rnnbook.data import (PARTS, Scaler, TimeSplit, as_series, fit_scaler, make_windows, split_by_time, split_windows,
                          window_indices)


def series(n=60, d=2, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d)).cumsum(axis=0)


# --- the split ---------------------------------------------------------------------------------

def test_split_by_time_counts_and_fractions():
    """Parts come in time order and cover every step once; fractions round to whole steps."""
    s = split_by_time(100, 15, 20)
    assert (s.train_end, s.val_end, s.n) == (65, 80, 100)
    assert [s.bounds(p) for p in PARTS] == [(0, 65), (65, 80), (80, 100)]
    f = split_by_time(200, 0.15, 0.1)
    assert (f.train_end, f.val_end) == (150, 180)


@pytest.mark.parametrize("args, error, text", [
    ((10, 5, 5), ValueError, "leave at least one training step"),
    ((10, 0, 3), ValueError, "val must be a positive int"),
    ((10, 1.5, 3), ValueError, "fraction must be in (0, 1)"),
    ((10, "2", 3), TypeError, "val must be a positive int"),
    ((10.0, 2, 3), TypeError, "n must be a positive int"),
])
def test_split_by_time_refuses_bad_input(args, error, text):
    with pytest.raises(error, match=text.replace("(", r"\(").replace(")", r"\)")):
        split_by_time(*args)


def test_timesplit_refuses_disordered_bounds():
    with pytest.raises(ValueError, match="val_end"):
        TimeSplit(10, 6, 5)
    with pytest.raises(ValueError, match="part"):
        TimeSplit(10, 5, 7).bounds("validation")


# --- windows -----------------------------------------------------------------------------------

@pytest.mark.parametrize("lookback, horizon", [(1, 1), (3, 2), (5, 4), (7, 1)])
@pytest.mark.parametrize("context", [False, True])
def test_windows_never_cross_a_split_boundary(lookback, horizon, context):
    """Training windows lie wholly in training; a later part's targets lie in it, and its inputs
    lie before its targets and, with context=False, inside it too: nothing reads a later part."""
    split = split_by_time(80, 15, 15)
    x = np.arange(80.0)  # each value is its own time index
    for part in PARTS:
        start, stop = split.bounds(part)
        X, Y = split_windows(x, split, part, lookback, horizon, context=context)
        assert X.shape == (lookback, Y.shape[0], 1)
        inputs, targets = X[:, :, 0].T, Y
        assert targets.min() >= start and targets.max() < stop, "a target outside its part"
        assert (inputs.max(axis=1) < targets.min(axis=1)).all(), "an input at or after a target"
        np.testing.assert_array_equal(targets[:, 0] - inputs[:, -1], 1)  # inputs end just before the targets
        if part == "train" or not context:
            assert inputs.min() >= start, "an input from an earlier part"
        # every first target of the part that can have a full window has one (stride 1)
        first = max(start, (0 if context and part != "train" else start) + lookback)
        np.testing.assert_array_equal(targets[:, 0], np.arange(first, stop - horizon + 1))


def test_window_indices_by_hand():
    inputs, targets = window_indices(6, 2, 2)
    np.testing.assert_array_equal(inputs, [[0, 1], [1, 2], [2, 3]])
    np.testing.assert_array_equal(targets, [[2, 3], [3, 4], [4, 5]])
    inputs, targets = window_indices(10, 3, 1, start=5, stop=8, inputs_from=2)
    np.testing.assert_array_equal(targets[:, 0], [5, 6, 7])
    np.testing.assert_array_equal(inputs[0], [2, 3, 4])


def test_make_windows_shapes_and_target_column():
    x = series(20, 3)
    X, Y = make_windows(x, 4, 2, target=2)
    assert X.shape == (4, 15, 3) and Y.shape == (15, 2)
    np.testing.assert_array_equal(X[:, 0], x[0:4])
    np.testing.assert_array_equal(Y[0], x[4:6, 2])


@pytest.mark.parametrize("kwargs, error, text", [
    (dict(series=np.arange(5.0), lookback=5, horizon=1), ValueError, "longer than the series"),
    (dict(series=np.arange(5.0), lookback=2, horizon=0), ValueError, "horizon must be a positive int"),
    (dict(series=np.arange(5.0), lookback=0, horizon=1), ValueError, "lookback must be a positive int"),
    (dict(series=np.arange(5.0), lookback=2.0, horizon=1), TypeError, "lookback must be a positive int"),
    (dict(series=np.array([0, 1, np.nan, 3, 4, 5]), lookback=2, horizon=1), ValueError, "1 NaN"),
    (dict(series=np.array([0, 1, np.inf, 3, 4, 5]), lookback=2, horizon=1), ValueError, "infinities"),
    (dict(series="12345", lookback=2, horizon=1), TypeError, "series must be an array"),
    (dict(series=np.array([True, False, True]), lookback=1, horizon=1), TypeError, "real numbers"),
    (dict(series=np.zeros((4, 2, 2)), lookback=1, horizon=1), ValueError, r"shape \(T,\) or \(T, D\)"),
    (dict(series=np.zeros(8), lookback=2, horizon=1, target=1), ValueError, "target must be an int in"),
    (dict(series=np.zeros(8), lookback=2, horizon=2, start=5, stop=7), ValueError, "no window fits"),
])
def test_make_windows_refuses_bad_input(kwargs, error, text):
    with pytest.raises(error, match=text):
        make_windows(**kwargs)


def test_nan_allowed_when_asked():
    x = np.array([0, 1, np.nan, 3, 4, 5.0])
    X, Y = make_windows(x, 2, 1, allow_nan=True)
    assert np.isnan(X).sum() == 2 and np.isnan(Y).sum() == 1


def test_split_windows_refuses_a_mismatched_split():
    with pytest.raises(ValueError, match="split's 50 steps"):
        split_windows(np.zeros(40), split_by_time(50, 5, 5), "train", 3, 1)
    with pytest.raises(TypeError, match="split must be a TimeSplit"):
        split_windows(np.zeros(40), (30, 35), "train", 3, 1)


# --- scaling -----------------------------------------------------------------------------------

def test_scaler_statistics_come_from_the_training_part_only():
    """Changing the validation and test parts (by anything) changes nothing of the scaler; changing
    one training value does. This fails if either later part leaks into the statistics."""
    x = series(60, 2)
    split = split_by_time(60, 10, 10)
    scaler = fit_scaler(x, split)
    np.testing.assert_allclose(scaler.mean, x[:40].mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(scaler.std, x[:40].std(axis=0), rtol=1e-12)
    future = x.copy()
    future[40:] = 1e6 * np.random.default_rng(1).normal(size=(20, 2))  # the future, wildly different
    leaked = fit_scaler(future, split)
    np.testing.assert_array_equal(leaked.mean, scaler.mean)
    np.testing.assert_array_equal(leaked.std, scaler.std)
    past = x.copy()
    past[39] += 1.0  # the last training step: it must count
    assert not np.array_equal(fit_scaler(past, split).mean, scaler.mean)


def test_scaler_round_trip_and_nan():
    x = series(30, 2)
    x[3, 1] = np.nan
    split = split_by_time(30, 5, 5)
    scaler = fit_scaler(x, split)
    np.testing.assert_allclose(scaler.mean[1], np.nanmean(x[:20, 1]))
    z = scaler.transform(x)
    assert np.isnan(z[3, 1]) and np.isfinite(np.delete(z.ravel(), 3 * 2 + 1)).all()
    np.testing.assert_allclose(np.nanmean(z[:20], axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(scaler.inverse(z[:, 0], column=0), x[:, 0], rtol=1e-12)
    constant = fit_scaler(np.ones(30), split)
    assert constant.std[0] == 1.0


def test_scaler_refuses_bad_input():
    split = split_by_time(30, 5, 5)
    with pytest.raises(ValueError, match="split's 30 steps"):
        fit_scaler(np.zeros(20), split)
    with pytest.raises(TypeError, match="split must be a TimeSplit"):
        fit_scaler(np.zeros(30), 20)
    x = np.zeros((30, 2))
    x[:20, 1] = np.nan
    with pytest.raises(ValueError, match="at least one observed"):
        fit_scaler(x, split)
    scaler = Scaler(np.zeros(2), np.ones(2))
    with pytest.raises(ValueError, match="2 columns"):
        scaler.transform(np.zeros((5, 3)))


def test_as_series_shapes():
    assert as_series("x", [1, 2, 3]).shape == (3, 1)
    assert as_series("x", np.zeros((4, 2))).dtype == np.float64
    with pytest.raises(ValueError, match="T >= 1"):
        as_series("x", np.zeros(0))
