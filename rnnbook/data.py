"""Sequence tasks, generated on the spot or read from an installed package (nothing is downloaded).

Each random generator takes an explicit ``numpy.random.Generator`` so that a chapter's experiment
is reproducible, and returns time-major NumPy arrays: inputs ``X`` of shape ``(T, B, D)``, or
tokens of shape ``(T, B)`` for the copy task. The long-range memory tasks of chapter 7 are the
adding problem in two forms, the copy task and the 8x8 digits read pixel by pixel.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnbook.checks import check_float_dtype, check_int, check_option, check_rng, check_size


def adding_problem(batch_size: int, T: int, rng: np.random.Generator,
                   dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem, in the variant of Le et al. (2015): a test of long-range memory.

    Each sequence has two channels: ``X[:, b, 0]`` holds values drawn uniformly from [0, 1), and
    ``X[:, b, 1]`` marks exactly two positions with a 1, one drawn uniformly from the first half of
    the sequence (steps ``0 .. T//2 - 1``) and one from the second (``T//2 .. T - 1``). The target
    is the sum of the two marked values, so a model must remember the first marked value for up to
    ``T`` steps. This is the form of Le et al. (2015) {cite}`le2015simple`, also used by Arjovsky,
    Shah & Bengio (2016, "Unitary evolution recurrent neural networks"). The original, Experiment 4 of Hochreiter & Schmidhuber (1997)
    {cite}`hochreiter1997long`, differs: values in [-1, 1], the first marker among the first ten
    steps and the second in the first half, and the target 0.5 + (X1 + X2) / 4
    (:func:`adding_problem_original`).

    Predicting the mean target (1.0) for every sequence gives a mean squared error of
    :math:`\\operatorname{Var}(u_1 + u_2) = 2/12 \\approx 0.167`: the baseline to beat.

    Parameters
    ----------
    batch_size : int
        B, the number of sequences.
    T : int
        The sequence length, at least 2.
    rng : numpy.random.Generator
    dtype : numpy dtype, default float32

    Returns
    -------
    X : ndarray, shape (T, B, 2)
    y : ndarray, shape (B, 1)

    Raises
    ------
    TypeError, ValueError
        If ``batch_size`` or ``T`` is not a positive int, ``T < 2``, ``rng`` is not a Generator,
        or ``dtype`` is not a floating type.
    """
    B, T = check_size("batch_size", batch_size), check_size("T", T)
    if T < 2:
        raise ValueError(f"T must be at least 2 (one marker in each half), got {T}")
    check_rng(rng)
    dtype = check_float_dtype("dtype", dtype)
    values = rng.random((T, B))
    half = T // 2
    first = rng.integers(0, half, size=B)         # one marker in the first half
    second = rng.integers(half, T, size=B)        # one in the second half
    markers = np.zeros((T, B))
    markers[first, np.arange(B)] = 1.0
    markers[second, np.arange(B)] = 1.0
    X = np.stack([values, markers], axis=-1).astype(dtype)   # (T, B, 2)
    y = (values * markers).sum(axis=0, keepdims=True).T.astype(dtype)  # (B, 1)
    return X, y


#: The MSE of always predicting the mean, 1.0, on :func:`adding_problem`; a model must beat it to have learnt anything.
ADDING_BASELINE_MSE = 2.0 / 12.0

#: The MSE of always predicting the mean, 0.5, on :func:`adding_problem_original`: 19/480, about 0.040.
ADDING_ORIGINAL_BASELINE_MSE = 19.0 / 480.0
#: The absolute error under which Hochreiter & Schmidhuber (1997) count a sequence of :func:`adding_problem_original` as processed correctly.
ADDING_ORIGINAL_TOLERANCE = 0.04


def adding_problem_original(batch_size: int, T: int, rng: np.random.Generator,
                            dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem as Hochreiter & Schmidhuber (1997) pose it, their Experiment 4.

    Each step is a pair: a value drawn uniformly from [-1, 1] and a marker in {-1, 0, 1}. One of
    the first ten steps is marked with a 1 (its value is :math:`X_1`), then one of the first
    :math:`T/2 - 1` steps still unmarked (:math:`X_2`); the first and the last step carry the marker
    -1 unless marked, every other step 0, and :math:`X_1` is set to 0 if it falls on the first step.
    The target is :math:`0.5 + (X_1 + X_2) / 4`, the sum scaled into [0, 1], and a sequence counts
    as processed correctly if the absolute error is below 0.04 (:data:`ADDING_ORIGINAL_TOLERANCE`)
    {cite}`hochreiter1997long`. The length is an integer drawn uniformly from
    :math:`[T, T + \\lfloor T/10 \\rfloor]`, as in the paper; here it is drawn once per batch, so
    that a batch is one array (the paper trained on one sequence at a time). Predicting the mean,
    0.5, gives an MSE of :data:`ADDING_ORIGINAL_BASELINE_MSE` = 19/480. :func:`adding_problem` is
    the later variant of Le et al. (2015).

    Parameters
    ----------
    batch_size : int
        B, the number of sequences.
    T : int
        The minimal sequence length, at least 22 (so that the first ten steps, where :math:`X_1`
        is, lie among the first :math:`T/2 - 1`, where :math:`X_2` is).
    rng : numpy.random.Generator
    dtype : numpy dtype, default float32

    Returns
    -------
    X : ndarray, shape (L, B, 2)
        With ``T <= L <= T + T // 10``; ``X[..., 0]`` the values, ``X[..., 1]`` the markers.
    y : ndarray, shape (B, 1)

    Raises
    ------
    TypeError, ValueError
        If ``batch_size`` or ``T`` is not a positive int, ``T < 22``, ``rng`` is not a Generator, or
        ``dtype`` is not a floating type.
    """
    B, T = check_size("batch_size", batch_size), check_size("T", T)
    if T < 22:
        raise ValueError(f"T must be at least 22 (the first ten steps within the first T/2 - 1), got {T}")
    check_rng(rng)
    dtype = check_float_dtype("dtype", dtype)
    L = int(rng.integers(T, T + T // 10 + 1))      # the length, in [T, T + T/10]
    values = rng.uniform(-1.0, 1.0, size=(L, B))
    markers = np.zeros((L, B))
    markers[0], markers[-1] = -1.0, -1.0          # the first and the last step: -1 unless marked
    first = rng.integers(0, 10, size=B)           # X_1: one of the first ten steps
    j = rng.integers(0, T // 2 - 1, size=B)       # X_2: the j-th of the first T/2 - 1 unmarked steps
    second = j + (j >= first)                     # skip the step X_1 took
    columns = np.arange(B)
    markers[first, columns] = 1.0
    markers[second, columns] = 1.0
    values[0, first == 0] = 0.0                   # X_1 = 0 if it is the first step
    X = np.stack([values, markers], axis=-1).astype(dtype)   # (L, B, 2)
    y = 0.5 + (values[first, columns] + values[second, columns]) / 4.0   # 0.5 + (X_1 + X_2) / 4
    return X, y[:, None].astype(dtype)                        # (B, 1)


#: The token of an empty step in :func:`copy_memory`, with the default 8 symbols (it is ``n_symbols``).
COPY_BLANK = 8
#: The token that tells the model to start writing, in :func:`copy_memory` (``n_symbols + 1``).
COPY_DELIMITER = 9


def copy_memory(batch_size: int, T: int, rng: np.random.Generator, n_copy: int = 10,
                n_symbols: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """The copy-memory task of Arjovsky, Shah & Bengio (2016): read ``n_copy`` symbols, wait, write them back.

    Tokens ``0 .. n_symbols - 1`` are the symbols, ``n_symbols`` the blank, ``n_symbols + 1`` the
    delimiter (with the defaults, 0-7, :data:`COPY_BLANK` = 8 and :data:`COPY_DELIMITER` = 9, as in
    the paper). The input is ``n_copy`` symbols drawn uniformly and independently, ``T - 1``
    blanks, the delimiter, and ``n_copy`` blanks: ``T + 2 n_copy`` steps. The target is blank for
    the first ``T + n_copy`` steps, then the ``n_copy`` symbols in their order
    {cite}`arjovsky2016unitary`. The first symbol is thus recalled ``T + n_copy`` steps after it was
    read. The loss is the cross-entropy averaged over every step; without memory, the best one can
    do is to predict the blank where it is certain and a uniform guess over the symbols for the last
    ``n_copy`` steps, a cross-entropy of :func:`copy_baseline` = ``n_copy log(n_symbols) / (T + 2 n_copy)``.

    Parameters
    ----------
    batch_size : int
        B.
    T : int
        The delay: the delimiter comes ``T`` steps after the last symbol to copy; at least 1.
    rng : numpy.random.Generator
    n_copy : int, default 10
        How many symbols to copy.
    n_symbols : int, default 8
        The size of the alphabet they are drawn from, at least 2.

    Returns
    -------
    X, Y : ndarray of int64, shape (T + 2 n_copy, B)
        Input and target tokens, in ``[0, n_symbols + 2)``.

    Raises
    ------
    TypeError, ValueError
        If a size is not a positive int, ``n_symbols < 2``, or ``rng`` is not a Generator.
    """
    B, T = check_size("batch_size", batch_size), check_size("T", T)
    n_copy = check_size("n_copy", n_copy)
    n_symbols = check_int("n_symbols", n_symbols, minimum=2)
    check_rng(rng)
    blank, delimiter = n_symbols, n_symbols + 1
    L = T + 2 * n_copy
    symbols = rng.integers(0, n_symbols, size=(n_copy, B))
    X = np.full((L, B), blank, dtype=np.int64)
    X[:n_copy] = symbols                       # read: the symbols, then T - 1 blanks
    X[n_copy + T - 1] = delimiter              # the delimiter: write now
    Y = np.full((L, B), blank, dtype=np.int64)
    Y[T + n_copy:] = symbols                   # write: the symbols, in order, in the last n_copy steps
    return X, Y


def copy_baseline(T: int, n_copy: int = 10, n_symbols: int = 8) -> float:
    """The cross-entropy (nats per step) of the memoryless strategy on :func:`copy_memory`.

    Predict the blank with certainty for the first ``T + n_copy`` steps (a loss of 0) and the
    uniform distribution over the ``n_symbols`` symbols for the last ``n_copy`` (a loss of
    :math:`\\log n` each): averaged over all ``T + 2 n_copy`` steps,
    :math:`n_{copy} \\log(n_{symbols}) / (T + 2 n_{copy})`, which is :math:`10 \\log 8 / (T + 20)`
    with the defaults {cite}`arjovsky2016unitary`.

    Raises
    ------
    TypeError, ValueError
        If an argument is not a positive int, or ``n_symbols < 2``.
    """
    T, n_copy = check_size("T", T), check_size("n_copy", n_copy)
    n_symbols = check_int("n_symbols", n_symbols, minimum=2)
    return n_copy * float(np.log(n_symbols)) / (T + 2 * n_copy)


#: How many of scikit-learn's 1,797 digits :func:`sequential_digits` holds out as its test split.
DIGITS_TEST_SIZE = 450


def sequential_digits(split: str = "train", dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The 8x8 handwritten digits of scikit-learn read one pixel per step: a small sequential MNIST.

    The 1,797 images of ``sklearn.datasets.load_digits`` (shipped inside scikit-learn: nothing is
    downloaded) are read row by row, one pixel per step, so a model sees 64 steps of one value in
    [0, 1] (the 0-16 grey level divided by 16) and must name the digit at the end, as in the
    pixel-by-pixel MNIST of Le et al. (2015) {cite}`le2015simple`, on images 12 times smaller.
    The split is fixed: the images are shuffled once with the seed 0 and the last
    :data:`DIGITS_TEST_SIZE` form the test split, the other 1,347 the training split.

    Parameters
    ----------
    split : {"train", "test"}, default "train"
    dtype : numpy dtype, default float32

    Returns
    -------
    X : ndarray, shape (64, N, 1)
        The pixels, time-major; N is 1,347 for ``"train"`` and 450 for ``"test"``.
    y : ndarray of int64, shape (N,)
        The digits, 0 to 9.

    Raises
    ------
    ValueError
        If ``split`` is not ``"train"`` or ``"test"``.
    TypeError
        If ``dtype`` is not a floating type.
    ImportError
        If scikit-learn is not installed.
    """
    check_option("split", split, ("train", "test"))
    dtype = check_float_dtype("dtype", dtype)
    try:
        from sklearn.datasets import load_digits  # type: ignore[import-untyped]  # scikit-learn ships no types
    except ImportError as err:
        raise ImportError("sequential_digits needs scikit-learn, which is not installed: "
                          "`pip install scikit-learn`") from err
    images, labels = load_digits(return_X_y=True)              # (1797, 64) grey levels 0-16, (1797,)
    order = np.random.default_rng(0).permutation(len(labels))  # one fixed shuffle
    keep = order[:-DIGITS_TEST_SIZE] if split == "train" else order[-DIGITS_TEST_SIZE:]
    X = (images[keep] / 16.0).T[:, :, None].astype(dtype)      # pixel t of image b at X[t, b, 0]   (64, N, 1)
    return X, labels[keep].astype(np.int64)

def delayed_echo(batch_size: int, T: int, delay: int, rng: np.random.Generator,
                 dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Echo the input ``delay`` steps later: :math:`y_t = x_{t - d}` (and 0 for :math:`t \\le d`).

    A many-to-many memory task whose memory span is exactly ``delay``: a model trained with
    gradients truncated to fewer than ``delay`` steps cannot link :math:`y_t` to :math:`x_{t-d}`
    (chapter 2). Inputs are independent standard normal values, so predicting 0 gives an MSE of
    about 1 on the echoed steps: the baseline to beat.

    Parameters
    ----------
    batch_size, T : int
        B and the sequence length.
    delay : int
        d, with ``0 <= delay < T``.
    rng : numpy.random.Generator
    dtype : numpy dtype, default float32

    Returns
    -------
    X : ndarray, shape (T, B, 1)
    Y : ndarray, shape (T, B, 1)

    Raises
    ------
    TypeError, ValueError
        If a size is not a positive int, ``delay`` is not an int in ``[0, T)``, ``rng`` is not a
        Generator, or ``dtype`` is not a floating type.
    """
    B, T = check_size("batch_size", batch_size), check_size("T", T)
    delay = check_int("delay", delay, minimum=0, maximum=T - 1)
    check_rng(rng)
    dtype = check_float_dtype("dtype", dtype)
    X = rng.standard_normal((T, B, 1)).astype(dtype)
    Y = np.zeros_like(X)
    Y[delay:] = X[: T - delay]  # y_t = x_{t-d}
    return X, Y


# --- Time series: a split by time, scaling fitted on the training part, windows (chapter 6) ----------
# (Its imports sit here, with the section, so that the task generators above can grow independently.)

from dataclasses import dataclass  # noqa: E402

from rnnbook.checks import as_real_array, check_option, given  # noqa: E402


def as_series(name: str, series: Any, allow_nan: bool = False) -> np.ndarray:
    """``series`` as a new float64 array of shape ``(T, D)``: a 1-D series becomes one column.

    Parameters
    ----------
    name : str
        The argument's name, for the error messages.
    series : array-like, shape (T,) or (T, D)
    allow_nan : bool, default False
        Let NaN through (a missing value); infinities are always refused.

    Raises
    ------
    TypeError
        If ``series`` is not an array of real numbers (bools, strings and complex numbers are refused).
    ValueError
        If it is not 1-D or 2-D, is empty, holds an infinity, or holds NaN without ``allow_nan``.
    """
    if isinstance(series, (str, bytes)) or series is None:
        raise TypeError(f"{name} must be an array of real numbers of shape (T,) or (T, D), got {given(series)}")
    array = as_real_array(name, series)
    if array.ndim not in (1, 2) or array.shape[0] == 0 or array.size == 0:
        raise ValueError(f"{name} must have shape (T,) or (T, D) with T >= 1, got shape {array.shape}")
    if array.ndim == 1:
        array = array[:, None]
    if np.isinf(array).any():
        raise ValueError(f"{name} must not hold infinities, got {int(np.isinf(array).sum())}")
    missing = int(np.isnan(array).sum())
    if missing and not allow_nan:
        raise ValueError(f"{name} holds {missing} NaN (missing values) where none are expected: fill them, "
                         f"or mask them (see chapter 6), or pass allow_nan=True")
    return array


@dataclass(frozen=True)
class TimeSplit:
    """A split of ``n`` time steps by time: train ``[0, train_end)``, validation ``[train_end,
    val_end)``, test ``[val_end, n)``. Nothing is shuffled; each part lies after the one before."""

    n: int
    train_end: int
    val_end: int

    def __post_init__(self) -> None:
        n = check_size("n", self.n)
        check_int("train_end", self.train_end, minimum=1, maximum=n - 2)
        check_int("val_end", self.val_end, minimum=self.train_end + 1, maximum=n - 1)

    def bounds(self, part: str) -> tuple[int, int]:
        """``(start, stop)`` of ``part``, one of ``"train"``, ``"val"``, ``"test"``."""
        check_option("part", part, PARTS)
        return {"train": (0, self.train_end), "val": (self.train_end, self.val_end),
                "test": (self.val_end, self.n)}[part]


#: The parts of a :class:`TimeSplit`, in time order.
PARTS = ("train", "val", "test")


def split_by_time(n: int, val: int | float, test: int | float) -> TimeSplit:
    """Split ``n`` time steps into train, validation and test, in that order.

    Parameters
    ----------
    n : int
        The series' length.
    val, test : int or float
        The length of the validation and test parts: a count, or a fraction of ``n`` in (0, 1)
        (rounded to the nearest step). The training part is what comes before.

    Returns
    -------
    TimeSplit

    Raises
    ------
    TypeError, ValueError
        If ``n`` is not a positive int, a part's length is not a positive count or a fraction in
        (0, 1), or the parts leave no training step.
    """
    n = check_size("n", n)

    def length(name: str, value: Any) -> int:
        if isinstance(value, (float, np.floating)):
            if not 0 < value < 1:
                raise ValueError(f"{name} as a fraction must be in (0, 1), got {value}")
            return max(1, int(round(value * n)))
        return check_size(name, value)

    n_val, n_test = length("val", val), length("test", test)
    if n_val + n_test >= n:
        raise ValueError(f"val + test must leave at least one training step of the n={n}, "
                         f"got val={n_val} and test={n_test}")
    return TimeSplit(n, n - n_val - n_test, n - n_test)


@dataclass(frozen=True)
class Scaler:
    """Standardisation with statistics of the training part: ``(x - mean) / std``, per column.

    Build it with :func:`fit_scaler`, which sees the training part only.
    """

    mean: np.ndarray  # (D,)
    std: np.ndarray   # (D,)

    def transform(self, series: Any) -> np.ndarray:
        """``(series - mean) / std`` for a series of shape (T, D) or (T,) (D = 1); NaN stays NaN."""
        x = as_series("series", series, allow_nan=True)
        self._check_width(x)
        return (x - self.mean) / self.std

    def inverse(self, scaled: Any, column: int = 0) -> np.ndarray:
        """``scaled * std + mean`` of column ``column``, for values of any shape (forecasts (N, H))."""
        column = check_int("column", column, minimum=0, maximum=len(self.mean) - 1)
        return as_real_array("scaled", scaled) * self.std[column] + self.mean[column]

    def _check_width(self, x: np.ndarray) -> None:
        if x.shape[1] != len(self.mean):
            raise ValueError(f"series must have {len(self.mean)} columns (as the scaler was fitted), got {x.shape[1]}")


def fit_scaler(series: Any, split: TimeSplit) -> Scaler:
    """A :class:`Scaler` whose mean and standard deviation come from the training part alone.

    Statistics of the validation or test part would leak the future into the past: the test of
    this (``tests/test_data_series.py``) changes the test part and checks that nothing changes.
    Missing values (NaN) are skipped; a constant column gets ``std = 1``.

    Raises
    ------
    TypeError, ValueError
        If ``series`` is not a real (T, D) series with T equal to ``split.n``, or a column of the
        training part has no observed value.
    """
    if not isinstance(split, TimeSplit):
        raise TypeError(f"split must be a TimeSplit (see split_by_time), got {given(split)}")
    x = as_series("series", series, allow_nan=True)
    if x.shape[0] != split.n:
        raise ValueError(f"series must have the split's {split.n} steps, got {x.shape[0]}")
    train = x[: split.train_end]                           # the training part, and nothing after it
    if np.isnan(train).all(axis=0).any():
        raise ValueError("every column of the training part needs at least one observed (non-NaN) value")
    mean = np.nanmean(train, axis=0)
    std = np.nanstd(train, axis=0)
    return Scaler(mean, np.where(std > 0, std, 1.0))


def window_indices(n: int, lookback: int, horizon: int, start: int = 0, stop: int | None = None,
                   inputs_from: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The time indices of every window: ``lookback`` inputs, then ``horizon`` targets.

    A window with first target at :math:`t` reads inputs :math:`t-L, \\dots, t-1` and predicts
    :math:`t, \\dots, t+h-1`. Only windows whose targets all lie in ``[start, stop)`` and whose inputs
    all lie in ``[inputs_from, stop)`` are made, one per first target ``t`` (stride 1). With
    ``inputs_from = start`` (the default) a window lies wholly inside ``[start, stop)``; an earlier
    ``inputs_from`` lets the first windows of a validation or test part read the observations
    before it, which are the past at forecast time, never the future.

    Returns
    -------
    inputs : ndarray of int, shape (N, lookback)
    targets : ndarray of int, shape (N, horizon)

    Raises
    ------
    TypeError, ValueError
        If an argument is not an int in range (``horizon`` 0 included), or no window fits
        (e.g. ``lookback + horizon`` longer than the part).
    """
    n = check_size("n", n)
    lookback, horizon = check_size("lookback", lookback), check_size("horizon", horizon)
    stop = n if stop is None else check_int("stop", stop, minimum=1, maximum=n)
    start = check_int("start", start, minimum=0, maximum=stop - 1)
    inputs_from = start if inputs_from is None else check_int("inputs_from", inputs_from, minimum=0, maximum=start)
    first = max(start, inputs_from + lookback)  # the earliest first target with all its inputs in range
    last = stop - horizon                       # the latest first target with all its targets in range
    if first > last:
        raise ValueError(f"no window fits: lookback={lookback} inputs and horizon={horizon} targets need "
                         f"{lookback + horizon} steps, but [inputs_from={inputs_from}, stop={stop}) has "
                         f"{stop - inputs_from} with targets in [start={start}, stop={stop})")
    t = np.arange(first, last + 1)[:, None]       # first targets (N, 1)
    return t - lookback + np.arange(lookback), t + np.arange(horizon)


def make_windows(series: Any, lookback: int, horizon: int, start: int = 0, stop: int | None = None, *,
                 inputs_from: int | None = None, target: int = 0,
                 allow_nan: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series into windows: inputs ``X`` (L, N, D), time-major, and targets ``Y`` (N, h).

    The windows are those of :func:`window_indices` (targets in ``[start, stop)``, inputs in
    ``[inputs_from, stop)``); ``Y`` holds column ``target`` of the series.

    Parameters
    ----------
    series : array-like, shape (T,) or (T, D)
    lookback, horizon : int
        L inputs and h targets per window, both at least 1.
    start, stop, inputs_from : int
        As in :func:`window_indices`.
    target : int, default 0
        The column to forecast.
    allow_nan : bool, default False
        Let missing values (NaN) into the windows (to mask or drop them afterwards).

    Raises
    ------
    TypeError, ValueError
        If ``series`` is not a real series (or holds NaN without ``allow_nan``), a window does not
        fit, or ``target`` is not a column.
    """
    x = as_series("series", series, allow_nan=allow_nan)
    target = check_int("target", target, minimum=0, maximum=x.shape[1] - 1)
    lookback, horizon = check_size("lookback", lookback), check_size("horizon", horizon)
    if lookback + horizon > x.shape[0]:
        raise ValueError(f"a window of lookback + horizon = {lookback} + {horizon} steps is longer than the "
                         f"series, which has {x.shape[0]}")
    inputs, targets = window_indices(x.shape[0], lookback, horizon, start, stop, inputs_from)
    X = np.transpose(x[inputs], (1, 0, 2))   # (N, L, D) -> (L, N, D)
    Y = x[targets, target]                   # (N, h)
    return X, Y


def split_windows(series: Any, split: TimeSplit, part: str, lookback: int, horizon: int, *, target: int = 0,
                  context: bool = True, allow_nan: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The windows of one part of a :class:`TimeSplit`: targets in that part, never across its end.

    Training windows lie wholly in the training part. With ``context=True`` (the default) the
    first validation and test windows read their inputs from the steps just before the part, the
    observations a forecaster has at that time; with ``context=False`` they too lie wholly inside.

    Returns
    -------
    X : ndarray, shape (lookback, N, D)
    Y : ndarray, shape (N, horizon)

    Raises
    ------
    TypeError, ValueError
        As :func:`make_windows`, and if ``split`` is not a TimeSplit of the series' length or
        ``part`` is not one of ``"train"``, ``"val"``, ``"test"``.
    """
    if not isinstance(split, TimeSplit):
        raise TypeError(f"split must be a TimeSplit (see split_by_time), got {given(split)}")
    x = as_series("series", series, allow_nan=allow_nan)
    if x.shape[0] != split.n:
        raise ValueError(f"series must have the split's {split.n} steps, got {x.shape[0]}")
    start, stop = split.bounds(part)
    return make_windows(x, lookback, horizon, start, stop, inputs_from=0 if context else start,
                        target=target, allow_nan=allow_nan)
