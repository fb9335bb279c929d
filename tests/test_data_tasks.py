"""The long-range memory tasks of chapter 7 (rnnbook.data): the adding problem in both forms, the
copy task and the sequential digits. Each generator is seeded, puts its markers where its paper
says, and its trivial baseline holds on generated data."""

from __future__ import annotations

import numpy as np
import pytest

from rnnbook.data import (ADDING_BASELINE_MSE, ADDING_ORIGINAL_BASELINE_MSE, ADDING_ORIGINAL_TOLERANCE, COPY_BLANK,
                          COPY_DELIMITER, DIGITS_TEST_SIZE, adding_problem, adding_problem_original, copy_baseline,
                          copy_memory, sequential_digits)

SEEDED = [
    ("adding_problem", lambda rng: adding_problem(8, 30, rng)),
    ("adding_problem_original", lambda rng: adding_problem_original(8, 30, rng)),
    ("copy_memory", lambda rng: copy_memory(8, 30, rng)),
]


@pytest.mark.parametrize("name, draw", SEEDED, ids=[s[0] for s in SEEDED])
def test_generators_repeat_with_the_seed_and_differ_without(name, draw):
    first, again, other = draw(np.random.default_rng(3)), draw(np.random.default_rng(3)), draw(np.random.default_rng(4))
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(first, other))


# ------------------------------------------------------------------ adding problem, Le et al. (2015)
def test_adding_le_baseline_is_one_sixth():
    """Predicting 1 (the mean of u_1 + u_2) on the Le et al. variant: MSE Var(u_1 + u_2) = 2/12."""
    _, y = adding_problem(200_000, 10, np.random.default_rng(0))
    mse = np.mean((y.astype(np.float64) - 1.0) ** 2)
    assert abs(mse - 1 / 6) < 0.002 and ADDING_BASELINE_MSE == pytest.approx(1 / 6)
    assert abs(y.mean() - 1.0) < 0.005   # 1 is the mean, so the constant that minimises the MSE


# ------------------------------------------------------------------ adding problem, Hochreiter & Schmidhuber (1997)
def test_adding_original_markers_values_and_target():
    """Experiment 4 of Hochreiter & Schmidhuber: X_1 among the first ten steps, X_2 among the first
    T/2 - 1 unmarked ones, -1 on the first and last steps unless marked, target 0.5 + (X_1 + X_2)/4."""
    T, B = 40, 5000
    X, y = adding_problem_original(B, T, np.random.default_rng(1))
    L = X.shape[0]
    assert T <= L <= T + T // 10 and X.shape == (L, B, 2) and y.shape == (B, 1) and X.dtype == y.dtype == np.float32
    values, markers = X[..., 0], X[..., 1]
    assert set(np.unique(markers)) <= {-1.0, 0.0, 1.0}
    assert np.all((markers == 1).sum(axis=0) == 2)
    marked = np.sort(np.argwhere(markers.T == 1)[:, 1].reshape(B, 2), axis=1)   # the two marked steps, in order
    assert marked[:, 0].max() <= 9 and marked[:, 1].max() <= T // 2 - 1          # both within the first half
    assert (markers[0] == -1).sum() + (markers[0] == 1).sum() == B                 # first step: -1 unless marked
    assert np.all(markers[-1] == -1) and np.all(markers[1:-1] != -1)               # last step: -1 (never marked)
    assert np.all((values >= -1) & (values <= 1))
    np.testing.assert_allclose(y[:, 0], 0.5 + (values * (markers == 1)).sum(axis=0) / 4, atol=1e-6)
    # The first step is marked with probability 1/10 (X_1) + 9/10 * 1/(T/2 - 1) (X_2), and its value is
    # 0 when it is X_1's: in 1/10 of all sequences (a drawn value is never exactly 0 otherwise).
    first_marked = markers[0] == 1
    assert abs(first_marked.mean() - (0.1 + 0.9 / (T // 2 - 1))) < 0.015
    assert abs(np.mean(first_marked & (values[0] == 0)) - 0.1) < 0.012 and np.all(values[0, ~first_marked] != 0)
    # X_2 can come before X_1: the later marked step is not always the second one drawn
    assert np.any(marked[:, 1] <= 9)


def test_adding_original_lengths_cover_T_to_1_1_T():
    rng = np.random.default_rng(2)
    lengths = {adding_problem_original(1, 50, rng)[0].shape[0] for _ in range(300)}
    assert lengths == set(range(50, 56))


def test_adding_original_baseline_is_19_over_480():
    """Predicting 0.5: MSE (E X_1^2 + E X_2^2)/16 = ((9/10)(1/3) + 1/3)/16 = 19/480 (X_1 zeroed on the
    first step), and about 15% of sequences within the paper's tolerance of 0.04."""
    _, y = adding_problem_original(200_000, 30, np.random.default_rng(0))
    error = y.astype(np.float64) - 0.5
    assert abs(np.mean(error ** 2) - 19 / 480) < 0.0005 and ADDING_ORIGINAL_BASELINE_MSE == pytest.approx(19 / 480)
    assert abs(np.mean(error ** 2) - 1 / 24) > 0.001   # without the zeroed X_1 it would be 1/24
    # P(|X_1 + X_2| < 0.16) for two U[-1, 1] is 0.16 - 0.16^2/4 = 0.1536 (X_1 = 0 one time in ten: 0.16 there)
    expected = 0.9 * (0.16 - 0.16 ** 2 / 4) + 0.1 * 0.16
    assert abs(np.mean(np.abs(error) < ADDING_ORIGINAL_TOLERANCE) - expected) < 0.004


# ------------------------------------------------------------------ copy task, Arjovsky et al. (2016)
def test_copy_memory_layout():
    T, B = 15, 64
    X, Y = copy_memory(B, T, np.random.default_rng(0))
    assert X.shape == Y.shape == (T + 20, B) and X.dtype == Y.dtype == np.int64
    assert COPY_BLANK == 8 and COPY_DELIMITER == 9
    assert np.all((X[:10] >= 0) & (X[:10] <= 7))                    # ten symbols from 0-7
    assert np.all(X[10:T + 9] == COPY_BLANK) and np.all(X[T + 9] == COPY_DELIMITER)   # T - 1 blanks, the delimiter
    assert np.all(X[T + 10:] == COPY_BLANK)                          # ten blanks while writing
    assert np.all(Y[:T + 10] == COPY_BLANK)                          # nothing to write until then
    np.testing.assert_array_equal(Y[T + 10:], X[:10])                # the symbols, in order
    X, Y = copy_memory(3, 1, np.random.default_rng(0), n_copy=2, n_symbols=3)   # T = 1: no blank before the delimiter
    assert X.shape == (5, 3) and np.all(X[2] == 4) and np.all(Y[:3] == 3)
    np.testing.assert_array_equal(Y[3:], X[:2])


@pytest.mark.parametrize("T, n_copy, n_symbols", [(10, 10, 8), (50, 10, 8), (5, 3, 4)])
def test_copy_memoryless_baseline_holds(T, n_copy, n_symbols):
    """The best predictor without memory, fitted on one batch (the frequency of each target at each
    step), scores n_copy log(n_symbols) / (T + 2 n_copy) on another: 10 log 8 / (T + 20) by default."""
    V = n_symbols + 2
    _, Y_fit = copy_memory(20_000, T, np.random.default_rng(0), n_copy, n_symbols)
    freq = np.stack([np.bincount(row, minlength=V) for row in Y_fit]) / Y_fit.shape[1]   # p(y_t = k), (L, V)
    _, Y = copy_memory(20_000, T, np.random.default_rng(1), n_copy, n_symbols)
    p = freq[np.arange(len(Y))[:, None], Y]
    assert p.min() > 0                                   # every target seen while fitting
    ce = -np.mean(np.log(p))
    baseline = copy_baseline(T, n_copy, n_symbols)
    assert abs(ce - baseline) < 0.01 * baseline
    if (n_copy, n_symbols) == (10, 8):
        assert baseline == pytest.approx(10 * np.log(8) / (T + 20))


# ------------------------------------------------------------------ sequential digits
def test_sequential_digits_split_is_fixed_disjoint_and_complete():
    from sklearn.datasets import load_digits

    X_train, y_train = sequential_digits("train")
    X_test, y_test = sequential_digits("test")
    assert X_train.shape == (64, 1797 - DIGITS_TEST_SIZE, 1) and X_test.shape == (64, DIGITS_TEST_SIZE, 1)
    assert y_train.dtype == y_test.dtype == np.int64 and X_train.dtype == np.float32
    assert X_train.min() == 0 and X_train.max() == 1
    assert set(np.unique(y_test)) == set(range(10))
    # every image once, in one of the splits, read row by row: pixel t is row t // 8, column t % 8
    images, labels = load_digits(return_X_y=True)
    ours = np.concatenate([X_train[:, :, 0].T, X_test[:, :, 0].T]) * 16
    key = lambda a: sorted(map(bytes, a.astype(np.uint8)))   # noqa: E731
    assert key(ours) == key(images)
    first = load_digits().images[np.flatnonzero((images / 16 == X_train[:, 0, 0]).all(axis=1))[0]]
    np.testing.assert_array_equal(X_train[:, 0, 0].reshape(8, 8), first / 16)
    np.testing.assert_array_equal(np.sort(np.concatenate([y_train, y_test])), np.sort(labels))
    again = sequential_digits("test")
    np.testing.assert_array_equal(again[0], X_test)
    np.testing.assert_array_equal(again[1], y_test)


# ------------------------------------------------------------------ bad input
rng0 = np.random.default_rng(0)
BAD = [
    (lambda: adding_problem_original(4, 21, rng0), ValueError, r"T must be at least 22 \(.*\), got 21"),
    (lambda: adding_problem_original(0, 30, rng0), ValueError, "batch_size must be a positive int, got 0"),
    (lambda: adding_problem_original(4, 30.0, rng0), TypeError, "T must be a positive int, got float"),
    (lambda: adding_problem_original(4, 30, 0), TypeError, "rng must be a numpy.random.Generator, got int"),
    (lambda: adding_problem_original(4, 30, rng0, dtype=np.int32), TypeError, "dtype must be a floating type, got int32"),
    (lambda: copy_memory(4, 0, rng0), ValueError, "T must be a positive int, got 0"),
    (lambda: copy_memory(4, 10, rng0, n_copy=0), ValueError, "n_copy must be a positive int, got 0"),
    (lambda: copy_memory(4, 10, rng0, n_symbols=1), ValueError, r"n_symbols must be an int >= 2, got 1"),
    (lambda: copy_memory(4, 10, rng0, n_symbols=8.0), TypeError, r"n_symbols must be an int >= 2, got float"),
    (lambda: copy_memory(4, 10, None), TypeError, "rng must be a numpy.random.Generator, got NoneType"),
    (lambda: copy_baseline(0), ValueError, "T must be a positive int, got 0"),
    (lambda: copy_baseline(10, n_symbols=1), ValueError, "n_symbols must be an int >= 2, got 1"),
    (lambda: sequential_digits("validation"), ValueError, r"split must be one of \('train', 'test'\), got 'validation'"),
    (lambda: sequential_digits(dtype=np.int64), TypeError, "dtype must be a floating type, got int64"),
]


@pytest.mark.parametrize("call, error, message", BAD, ids=[b[2][:40] for b in BAD])
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
