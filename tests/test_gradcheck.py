"""The checkers themselves (issue 9, defect 1): a check must not be able to pass a wrong answer.

``check_gradients`` and ``relative_error`` are the oracles of every gradient and parity test in the
book, so they are tested here to *fail* when they should: on a wrong gradient, on NaN or inf, and
on complex input whose imaginary part would otherwise be dropped.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnbook.gradcheck import check_gradients, numerical_gradient, relative_error


def _quadratic():
    x = np.linspace(-1.0, 1.0, 6)
    return x, (lambda: float(np.sum(x ** 2))), 2 * x  # the array, the loss, the right gradient


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_gradient_fails_loudly(bad):
    """Any NaN or inf in the analytic gradient fails: ok() is False, assert_ok raises, the table says so."""
    x, f, grad = _quadratic()
    for analytic in (np.full_like(x, bad), np.where(np.arange(6) == 3, bad, grad)):  # all, and one entry
        report = check_gradients(f, {"x": x}, {"x": analytic})
        assert not report.ok(1e-6) and not report.ok(np.inf) and report.checks[0].nonfinite >= 1
        with pytest.raises(AssertionError, match="x: [0-9]+ NaN/inf entries"):
            report.assert_ok()
        assert "NOT FINITE" in report.table() and "below" not in report.table()


def test_a_nan_outside_the_sample_still_fails():
    """Large arrays are checked on a sample, but a NaN anywhere in the analytic gradient fails."""
    x = np.linspace(-1.0, 1.0, 1000)
    grad = 2 * x
    grad[-1] = np.nan
    report = check_gradients(lambda: float(np.sum(x ** 2)), {"x": x}, {"x": grad}, max_entries=5,
                             rng=np.random.default_rng(0))
    assert report.checks[0].checked == 5 and report.checks[0].nonfinite == 1 and not report.ok()


def test_a_right_gradient_passes():
    """The docstrings' claim for a right gradient: ~1e-8 or better (the wrong one: tests/test_bptt.py)."""
    x, f, grad = _quadratic()
    assert check_gradients(f, {"x": x}, {"x": grad}).max_rel_error < 1e-8


def test_relative_error_reports_large_errors():
    """The oracle of every parity test must be able to say 'wrong', not only 'right'."""
    b = np.array([1.0, -2.0, 4.0])
    assert relative_error(b, b) == 0.0
    assert relative_error(b + np.array([0.0, 0.0, 1.0]), b) == pytest.approx(0.25)
    assert relative_error(2 * b, b) == pytest.approx(1.0)
    assert relative_error(-b, torch.tensor(b)) == pytest.approx(2.0)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0          # both zero: no error
    assert relative_error(np.ones(3), np.zeros(3)) == float("inf")  # reference zero, a not: infinite


def test_relative_error_is_never_below_a_tolerance_on_nan_or_inf():
    b = np.ones(3)
    for a, expected in ((np.array([1.0, np.nan, 1.0]), "nan"), (np.array([np.inf, 1.0, 1.0]), "inf")):
        err = relative_error(a, b)
        assert str(err) == expected and not err < 1.0
        assert not relative_error(b, a) < 1.0
    both_inf = np.array([np.inf, 1.0, 1.0])
    assert np.isnan(relative_error(both_inf, both_inf))  # inf - inf: not a number, and not "equal"


def test_relative_error_refuses_complex_input():
    """relative_error(1+5j, 1) was 0.0: the imaginary part was dropped."""
    with pytest.raises(TypeError, match="a must hold real numbers.*complex128"):
        relative_error(1 + 5j, 1.0)
    with pytest.raises(TypeError, match="b must hold real numbers.*complex64"):
        relative_error(torch.ones(2), torch.ones(2, dtype=torch.complex64))


def test_numerical_gradient_on_an_empty_array_says_so():
    """It used to say the array 'must be contiguous'."""
    with pytest.raises(ValueError, match=r"x must have at least one entry to differentiate, got shape \(0,\)"):
        numerical_gradient(lambda: 0.0, np.ones(0))
