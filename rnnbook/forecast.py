"""Forecasting a series, measured honestly: error measures, baselines, rolling-origin evaluation,
a SARIMAX baseline from statsmodels, and recurrent forecasters trained with the one loop (chapter 6).

A **forecast function** takes the history ``y[:t]`` (all that is known at origin ``t``) and a
horizon ``h``, and returns the forecasts of ``y[t], ..., y[t+h-1]``: an array ``(h,)``, or a tuple
``(mean, lower, upper)`` where the method gives a prediction interval. :func:`rolling_origin` calls
one at every origin of a part of the series and gives it a copy of the past and nothing else, so
no method can see the values it is scored on. The recurrent forecasters work on windows cut by
:func:`rnnbook.data.make_windows`, in units scaled with the training part's statistics
(:func:`rnnbook.data.fit_scaler`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnbook.checks import as_real_array, check_callable, check_int, check_option, check_positive, check_size, given, require_torch
from rnnbook.data import Scaler, TimeSplit, as_series

require_torch("rnnbook.forecast")  # a clear ImportError if torch is missing

import torch
from torch import nn

from rnnbook.train import TrainConfig, TrainHistory, train_regressor

#: ``forecast_fn(history, horizon)``: an array (horizon,), or ``(mean, lower, upper)``, each (horizon,).
ForecastFn = Callable[[np.ndarray, int], Any]


# --- Error measures ------------------------------------------------------------------------------

def _pair(y: Any, y_hat: Any) -> tuple[np.ndarray, np.ndarray]:
    """The truth and the forecasts as float64 arrays of one shape, finite, not empty."""
    y, y_hat = as_real_array("y", y), as_real_array("y_hat", y_hat)
    if y.shape != y_hat.shape:
        raise ValueError(f"y and y_hat must have the same shape, got {y.shape} and {y_hat.shape}")
    if y.size == 0:
        raise ValueError("y and y_hat must not be empty")
    for name, a in (("y", y), ("y_hat", y_hat)):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} must be finite, but {int((~np.isfinite(a)).sum())} of its {a.size} entries "
                             f"are NaN or inf (score only the observed steps)")
    return y, y_hat


def mae(y: Any, y_hat: Any) -> float:
    """Mean absolute error, :math:`\\frac{1}{n}\\sum |y_t - \\hat y_t|`, in the series' units."""
    y, y_hat = _pair(y, y_hat)
    return float(np.mean(np.abs(y - y_hat)))


def rmse(y: Any, y_hat: Any) -> float:
    """Root mean squared error, :math:`\\sqrt{\\frac{1}{n}\\sum (y_t - \\hat y_t)^2}`, in the series' units."""
    y, y_hat = _pair(y, y_hat)
    return float(np.sqrt(np.mean((y - y_hat) ** 2)))


def mase_scale(train: Any, m: int = 1) -> float:
    """The scale of MASE: the in-sample MAE of the (seasonal) naive forecast on the training part,
    :math:`\\frac{1}{n-m}\\sum_{t=m+1}^{n} |y_t - y_{t-m}|`.

    Raises
    ------
    TypeError, ValueError
        If ``train`` is not a finite 1-D series longer than ``m``, or the scale is 0 (a series
        that repeats exactly with period ``m``: MASE is undefined).
    """
    y = as_series("train", train)
    if y.shape[1] != 1:
        raise ValueError(f"train must be one series, shape (n,), got shape {y.shape}")
    y = y[:, 0]
    m = check_size("m", m)
    if len(y) <= m:
        raise ValueError(f"train must be longer than the seasonal period m={m}, got {len(y)} steps")
    scale = float(np.mean(np.abs(y[m:] - y[:-m])))
    if scale == 0:
        raise ValueError(f"the naive forecast with period m={m} is exact on train: MASE is undefined")
    return scale


def mase(y: Any, y_hat: Any, train: Any, m: int = 1) -> float:
    """Mean absolute scaled error {cite}`hyndman2006another`: MAE over :func:`mase_scale` of the training part.

    Below 1, the forecasts beat the in-sample (seasonal) naive forecast of period ``m``; the
    naive forecast of the training part itself scores exactly 1.
    """
    return mae(y, y_hat) / mase_scale(train, m)


def scores(y: Any, y_hat: Any, train: Any, m: int = 1) -> dict[str, float]:
    """``{"MAE": ..., "RMSE": ..., "MASE": ...}`` of forecasts ``y_hat`` of ``y``."""
    return {"MAE": mae(y, y_hat), "RMSE": rmse(y, y_hat), "MASE": mase(y, y_hat, train, m)}


# --- Baselines and rolling-origin evaluation --------------------------------------------------------

def _history(history: Any) -> np.ndarray:
    y = as_series("history", history)
    if y.shape[1] != 1:
        raise ValueError(f"history must be one series, shape (t,), got shape {y.shape}")
    return y[:, 0]


def seasonal_naive(history: Any, horizon: int, m: int = 1) -> np.ndarray:
    """Repeat the last season: :math:`\\hat y_{t+k} = y_{t+k-m\\lceil (k+1)/m \\rceil}`, for k = 0..h-1.

    With ``m = 1`` it is :func:`persistence`.

    Raises
    ------
    TypeError, ValueError
        If ``history`` is not a finite 1-D series of at least ``m`` steps, or ``horizon`` or ``m``
        is not a positive int.
    """
    y = _history(history)
    horizon, m = check_size("horizon", horizon), check_size("m", m)
    if len(y) < m:
        raise ValueError(f"history must hold at least one season of m={m} steps, got {len(y)}")
    return y[len(y) - m + np.arange(horizon) % m]  # the last season, repeated


def persistence(history: Any, horizon: int) -> np.ndarray:
    """The naive forecast: the last value, for every step ahead, :math:`\\hat y_{t+k} = y_{t-1}`."""
    return seasonal_naive(history, horizon, 1)


@dataclass
class RollingForecast:
    """Forecasts from a sequence of origins: row i was made at ``origins[i]`` with ``y[:origins[i]]``.

    ``truth``, ``mean``, ``lower``, ``upper`` are (N, h); ``lower``/``upper`` are None for a method
    without prediction intervals.
    """

    origins: np.ndarray
    truth: np.ndarray
    mean: np.ndarray
    lower: np.ndarray | None = None
    upper: np.ndarray | None = None

    def scores(self, train: Any, m: int = 1, step: int | None = None) -> dict[str, float]:
        """:func:`scores` over every step ahead, or at ``step`` ahead only (1 = one step ahead)."""
        if step is None:
            return scores(self.truth, self.mean, train, m)
        k = check_int("step", step, minimum=1, maximum=self.truth.shape[1]) - 1
        return scores(self.truth[:, k], self.mean[:, k], train, m)

    def coverage(self) -> float:
        """The fraction of the truth inside the prediction interval."""
        if self.lower is None or self.upper is None:
            raise ValueError("this forecast has no prediction interval")
        return float(np.mean((self.lower <= self.truth) & (self.truth <= self.upper)))


def rolling_origin(forecast_fn: ForecastFn, series: Any, start: int, stop: int, horizon: int,
                   every: int = 1) -> RollingForecast:
    """Rolling-origin evaluation {cite}`tashman2000out`: forecast from every origin ``t`` in
    ``[start, stop - horizon]`` (stride ``every``), each time from the history ``y[:t]`` alone.

    Parameters
    ----------
    forecast_fn : callable
        ``forecast_fn(history, horizon)`` with a copy of ``y[:t]``: an array (horizon,) or a tuple
        ``(mean, lower, upper)``.
    series : array-like, shape (T,)
    start, stop : int
        The targets lie in ``[start, stop)``, e.g. the test part's bounds; ``start >= 1``.
    horizon : int
    every : int, default 1

    Returns
    -------
    RollingForecast

    Raises
    ------
    TypeError, ValueError
        If an argument has the wrong type or range, no origin fits, or ``forecast_fn`` returns
        something other than finite arrays of shape (horizon,).
    """
    check_callable("forecast_fn", forecast_fn, "a function forecast_fn(history, horizon) -> forecasts")
    y = _history(series).copy()
    stop = check_int("stop", stop, minimum=2, maximum=len(y))
    start = check_int("start", start, minimum=1, maximum=stop - 1)
    horizon, every = check_size("horizon", horizon), check_size("every", every)
    origins = np.arange(start, stop - horizon + 1, every)
    if len(origins) == 0:
        raise ValueError(f"no origin fits: horizon={horizon} is longer than [start={start}, stop={stop})")
    rows: list[list[np.ndarray]] = []
    for t in origins:
        out = forecast_fn(y[:t].copy(), horizon)  # the past only, and a copy of it
        parts = list(out) if isinstance(out, tuple) else [out]
        if len(parts) not in (1, 3):
            raise TypeError(f"forecast_fn must return an array or (mean, lower, upper), got a tuple of {len(parts)}")
        parts = [np.asarray(p, dtype=np.float64).reshape(-1) for p in parts]
        if any(p.shape != (horizon,) or not np.isfinite(p).all() for p in parts):
            raise ValueError(f"forecast_fn must return finite forecasts of shape ({horizon},), "
                             f"got shapes {[p.shape for p in parts]} at origin {t}")
        rows.append(parts)
    truth = y[origins[:, None] + np.arange(horizon)]
    stacked = [np.stack([r[i] for r in rows]) for i in range(len(rows[0]))]
    return RollingForecast(origins, truth, *stacked)


# --- SARIMAX from statsmodels ---------------------------------------------------------------------

def _sarimax_class() -> Any:
    try:
        from statsmodels.tsa.statespace.sarimax import SARIMAX  # type: ignore[import-untyped]  # ships no type hints
    except ImportError as err:
        raise ImportError("rnnbook.forecast's SARIMAX baseline needs statsmodels: pip install statsmodels") from err
    return SARIMAX


class Sarimax:
    """A SARIMAX model {cite}`box2015time` fitted by statsmodels on a training series; calling it
    forecasts from any later history with the fitted parameters (they are not re-estimated).

    Parameters
    ----------
    train : array-like, shape (n,)
    order : (p, d, q)
    seasonal_order : (P, D, Q, s), default (0, 0, 0, 0)
    trend : str or None, default "c"
        statsmodels' trend term: "c" a constant, None none.
    alpha : float, default 0.05
        The prediction intervals are ``1 - alpha`` intervals (Gaussian errors assumed).

    The warnings statsmodels gives while fitting are kept in ``fit_warnings`` rather than printed.
    """

    def __init__(self, train: Any, order: tuple[int, int, int],
                 seasonal_order: tuple[int, int, int, int] = (0, 0, 0, 0), trend: str | None = "c",
                 alpha: float = 0.05) -> None:
        self.order, self.seasonal_order = _check_order(order, seasonal_order)
        self.trend = trend
        self.alpha = check_positive("alpha", alpha)
        if not self.alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        y = _history(train)
        with warnings.catch_warnings(record=True) as caught:  # kept, not shown: see fit_warnings
            warnings.simplefilter("always")
            model = _sarimax_class()(y, order=self.order, seasonal_order=self.seasonal_order, trend=trend)
            self.result = model.fit(disp=False)
        #: What statsmodels warned about while fitting (e.g. non-stationary starting parameters).
        self.fit_warnings = [f"{w.category.__name__}: {w.message}" for w in caught]

    def __call__(self, history: Any, horizon: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Forecasts (mean, lower, upper), each (horizon,), from ``history`` with the fitted parameters."""
        horizon = check_size("horizon", horizon)
        forecast = self.result.apply(_history(history)).get_forecast(horizon)
        interval = np.asarray(forecast.conf_int(alpha=self.alpha))
        return np.asarray(forecast.predicted_mean), interval[:, 0], interval[:, 1]

    def one_step(self, series: Any, start: int, stop: int) -> np.ndarray:
        """One-step-ahead forecasts of ``series[start:stop]``, each from the steps before it."""
        y = _history(series)
        stop = check_int("stop", stop, minimum=2, maximum=len(y))
        start = check_int("start", start, minimum=1, maximum=stop - 1)
        y = y[:stop]  # nothing after the last forecast step reaches the model
        return np.asarray(self.result.apply(y).get_prediction(start=start, end=stop - 1).predicted_mean)


def _check_order(order: Any, seasonal_order: Any) -> tuple[tuple[int, ...], tuple[int, ...]]:
    if not (isinstance(order, tuple) and len(order) == 3):
        raise TypeError(f"order must be a tuple (p, d, q) of ints, got {given(order)}")
    if not (isinstance(seasonal_order, tuple) and len(seasonal_order) == 4):
        raise TypeError(f"seasonal_order must be a tuple (P, D, Q, s) of ints, got {given(seasonal_order)}")
    o = tuple(check_int(f"order[{i}]", v, minimum=0) for i, v in enumerate(order))
    s = tuple(check_int(f"seasonal_order[{i}]", v, minimum=0) for i, v in enumerate(seasonal_order))
    return o, s


def choose_sarimax_order(series: Any, split: TimeSplit, orders: Iterable[tuple[int, int, int]],
                         seasonal_order: tuple[int, int, int, int] = (0, 0, 0, 0),
                         trend: str | None = "c") -> tuple[tuple[int, int, int], dict[tuple[int, int, int], float]]:
    """Choose a SARIMAX order on the validation part: fit each candidate on the training part and
    score its one-step forecasts of the validation part by MAE. The test part is never read.

    Returns
    -------
    best : (p, d, q)
        The order with the lowest validation MAE.
    val_mae : dict
        Each candidate's validation MAE.
    """
    if not isinstance(split, TimeSplit):
        raise TypeError(f"split must be a TimeSplit (see rnnbook.data.split_by_time), got {given(split)}")
    y = _history(series)
    if len(y) != split.n:
        raise ValueError(f"series must have the split's {split.n} steps, got {len(y)}")
    seen = y[: split.val_end]                       # train and validation: the test part is cut off here
    val_mae: dict[tuple[int, int, int], float] = {}
    for order in orders:
        model = Sarimax(seen[: split.train_end], order, seasonal_order, trend)
        val_mae[order] = mae(seen[split.train_end:], model.one_step(seen, split.train_end, split.val_end))
    if not val_mae:
        raise ValueError("orders must hold at least one candidate (p, d, q)")
    best = min(val_mae, key=val_mae.__getitem__)
    return best, val_mae


# --- Recurrent forecasters, trained with rnnbook.train ---------------------------------------------

def window_sampler(X: Any, Y: Any, batch_size: int) -> Callable[[np.random.Generator], tuple[np.ndarray, np.ndarray]]:
    """``make_batch(rng)`` for :func:`rnnbook.train.train_regressor`: ``batch_size`` windows drawn at
    random (with replacement) from ``X`` (L, N, D) and ``Y`` (N, out), float32."""
    X, Y = as_real_array("X", X, np.float32), as_real_array("Y", Y, np.float32)
    if X.ndim != 3 or Y.ndim != 2 or X.shape[1] != Y.shape[0]:
        raise ValueError(f"X must be (L, N, D) and Y (N, out) with the same N, got {X.shape} and {Y.shape}")
    if not (np.isfinite(X).all() and np.isfinite(Y).all()):
        raise ValueError("X and Y must be finite: fill or mask missing values, or drop those windows, first")
    batch_size = check_size("batch_size", batch_size)

    def make_batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        i = rng.integers(0, X.shape[1], size=batch_size)
        return X[:, i], Y[i]

    return make_batch


def fit_forecaster(model: nn.Module, X: Any, Y: Any, config: TrainConfig, batch_size: int = 32) -> TrainHistory:
    """Train ``model`` (e.g. a :class:`rnnbook.train.SequenceRegressor`) to map windows ``X``
    (L, N, D) to targets ``Y`` (N, out) by mean squared error, with :func:`rnnbook.train.train_regressor`."""
    return train_regressor(model, window_sampler(X, Y, batch_size), config)


def predict(model: nn.Module, X: Any) -> np.ndarray:
    """``model``'s outputs (N, out) for windows ``X`` (L, N, D), without gradients, as float64 NumPy."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {given(model)}")
    param = next(model.parameters())
    x = torch.as_tensor(as_real_array("X", X), dtype=param.dtype, device=param.device)
    if x.dim() != 3:
        raise ValueError(f"X must be windows of shape (L, N, D), got shape {tuple(x.shape)}")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(x)
    finally:
        model.train(was_training)
    return out.detach().cpu().double().numpy()


def recursive_forecast(model: nn.Module, X: Any, horizon: int) -> np.ndarray:
    """Multi-step forecasts (N, horizon) from a one-step model by feeding each forecast back in as
    the newest input: :math:`\\hat y_{t+k} = f(y_{t-L+k}, \\dots, y_{t-1}, \\hat y_t, \\dots, \\hat y_{t+k-1})`.

    ``X`` (L, N, 1) holds the last L observations of a single series (recursion needs the model's
    inputs to be what it forecasts).
    """
    x = as_real_array("X", X)
    if x.ndim != 3 or x.shape[2] != 1:
        raise ValueError(f"X must be windows of one series, shape (L, N, 1), got shape {x.shape}")
    horizon = check_size("horizon", horizon)
    out = []
    for _ in range(horizon):
        y_hat = predict(model, x)                       # (N, 1) one step ahead
        if y_hat.shape[1] != 1:
            raise ValueError(f"a recursive forecast needs a one-step model (out_features=1), got {y_hat.shape[1]} outputs")
        out.append(y_hat[:, 0])
        x = np.concatenate([x[1:], y_hat[None]], axis=0)  # drop the oldest input, append the forecast
    return np.stack(out, axis=1)


def rnn_forecaster(model: nn.Module, scaler: Scaler, lookback: int, mode: str = "recursive") -> ForecastFn:
    """A forecast function for :func:`rolling_origin` from a model trained on scaled windows of one
    series: it scales the last ``lookback`` values of the history with ``scaler`` (fitted on the
    training part), forecasts recursively or directly (``mode``), and scales back."""
    lookback = check_size("lookback", lookback)
    check_option("mode", mode, ("recursive", "direct"))
    if not isinstance(scaler, Scaler):
        raise TypeError(f"scaler must be a rnnbook.data.Scaler, got {given(scaler)}")

    def forecast(history: np.ndarray, horizon: int) -> np.ndarray:
        y = _history(history)
        if len(y) < lookback:
            raise ValueError(f"history must hold at least lookback={lookback} steps, got {len(y)}")
        x = scaler.transform(y[-lookback:])[:, None, :]   # (L, 1, 1)
        if mode == "recursive":
            z = recursive_forecast(model, x, horizon)[0]
        else:
            z = predict(model, x)[0]
            if len(z) < horizon:
                raise ValueError(f"the direct model forecasts {len(z)} steps, fewer than horizon={horizon}")
            z = z[:horizon]
        return scaler.inverse(z)

    return forecast
