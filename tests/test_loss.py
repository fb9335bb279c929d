"""Softmax and cross-entropy in NumPy (rnnbook.numpy.loss, chapter 5): stability, finite
differences, parity with torch.nn.functional.cross_entropy, and clear errors on bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnnbook.gradcheck import check_gradients, relative_error
from rnnbook.numpy.loss import cross_entropy, cross_entropy_grad, cross_entropy_with_grad, log_softmax, softmax


def test_log_softmax_is_finite_and_exact_for_huge_logits():
    """Eq. log-sum-exp: logits of +-1e4 (exp(1e4) alone overflows) give the exact answer."""
    a = np.array([[1e4, 0.0, -1e4], [1e4, 1e4, -1e4], [-1e4, -1e4, -1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is harmless; nothing else happens
        logp = log_softmax(a)
        p = softmax(a)
    assert np.isfinite(logp).all() and np.isfinite(p).all()
    assert logp[0, 0] == 0.0 and logp[0, 1] == -1e4 and logp[0, 2] == -2e4
    assert np.allclose(logp[1, :2], -np.log(2)) and np.allclose(logp[2], -np.log(3))
    assert np.allclose(p.sum(axis=-1), 1.0) and p[0, 0] == 1.0
    # the naive formula overflows on the same logits (this is what the shift fixes)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        naive = np.log(np.exp(a) / np.exp(a).sum(axis=-1, keepdims=True))
    assert not np.isfinite(naive).all()
    assert np.isfinite(cross_entropy(a, np.array([2, 2, 0])))
    assert cross_entropy(a, np.array([2, 2, 0])) == pytest.approx((2e4 + (2e4 + np.log(2)) + np.log(3)) / 3)


def test_cross_entropy_of_uniform_logits_is_log_V():
    assert cross_entropy(np.zeros((3, 7)), np.array([0, 4, 6])) == pytest.approx(np.log(7))


@pytest.mark.parametrize("shape", [(5, 4), (3, 2, 6), (1, 1), (2, 3, 1, 5)])
def test_gradient_matches_finite_differences(shape, rng):
    """Eq. ce-grad, softmax(a) - onehot(y) divided by N, against central differences."""
    a = rng.normal(scale=3.0, size=shape)
    y = rng.integers(0, shape[-1], size=shape[:-1])
    loss, grad = cross_entropy_with_grad(a, y)
    assert loss == cross_entropy(a, y) and np.array_equal(grad, cross_entropy_grad(a, y))
    check_gradients(lambda: cross_entropy(a, y), {"logits": a}, {"logits": grad}).assert_ok(1e-7)
    assert np.allclose(grad.sum(axis=-1), 0.0, atol=1e-15)  # each row of softmax - onehot sums to 0


def test_a_wrong_gradient_fails_the_check(rng):
    """The check above can fail: softmax(a) - onehot(y) without the 1/N is off by a factor N."""
    a, y = rng.normal(size=(4, 3)), rng.integers(0, 3, size=4)
    report = check_gradients(lambda: cross_entropy(a, y), {"logits": a}, {"logits": 4 * cross_entropy_grad(a, y)})
    assert not report.ok(1e-2)


@pytest.mark.parametrize("scale", [1.0, 30.0, 1e4])
def test_parity_with_torch_cross_entropy(scale, rng):
    """Loss and gradient equal torch.nn.functional.cross_entropy (mean reduction), float64."""
    a = rng.normal(scale=scale, size=(6, 5, 11))
    y = rng.integers(0, 11, size=(6, 5))
    loss, grad = cross_entropy_with_grad(a, y)
    a_t = torch.tensor(a, requires_grad=True)
    ref = F.cross_entropy(a_t.reshape(-1, 11), torch.tensor(y).reshape(-1))
    ref.backward()
    assert abs(loss - ref.item()) <= 1e-14 * max(1.0, abs(ref.item()))
    assert relative_error(grad, a_t.grad) < 1e-14
    assert relative_error(log_softmax(a), F.log_softmax(torch.tensor(a), dim=-1)) < 1e-15
    assert relative_error(softmax(a), F.softmax(torch.tensor(a), dim=-1)) < 1e-14


def test_float32_logits_keep_their_dtype(rng):
    a = rng.normal(size=(4, 3)).astype(np.float32)
    assert cross_entropy_grad(a, np.array([0, 1, 2, 0])).dtype == np.float32
    assert log_softmax(a).dtype == np.float32


@pytest.mark.parametrize("targets, error, message", [
    (np.array([0, 3]), ValueError, r"targets must be class indices in \[0, 3\), got values from 0 to 3"),
    (np.array([-1, 0]), ValueError, r"class indices in \[0, 3\), got values from -1 to 0"),
    (np.array([0.0, 1.0]), TypeError, r"targets must be an integer array of shape \(2,\).*not one-hot rows or floats"),
    (np.array([True, False]), TypeError, "got ndarray of shape \\(2,\\) and dtype bool"),
    ([0, 1], TypeError, "targets must be an integer array.*got list"),
    (np.array([0, 1, 2]), ValueError, r"targets must be an integer array of shape \(2,\).*got shape \(3,\)"),
    (np.eye(3, dtype=np.int64)[[0, 1]], ValueError, r"got shape \(2, 3\) \(one-hot targets\? pass class indices\)"),
])
def test_bad_targets_are_named(targets, error, message):
    with pytest.raises(error, match=message):
        cross_entropy(np.zeros((2, 3)), targets)
    with pytest.raises(error, match=message):
        cross_entropy_grad(np.zeros((2, 3)), targets)


def test_bad_logits_are_named():
    with pytest.raises(TypeError, match="logits must be a floating NumPy array of shape \\(..., V\\), got ndarray of shape \\(2, 3\\) and dtype int64"):
        cross_entropy(np.zeros((2, 3), dtype=np.int64), np.array([0, 1]))
    with pytest.raises(TypeError, match="got list"):
        log_softmax([[0.0, 1.0]])
    with pytest.raises(ValueError, match=r"at least one class, got shape \(2, 0\)"):
        softmax(np.zeros((2, 0)))
    with pytest.raises(ValueError, match="logits must be finite, but 1 of its 6 entries are NaN or inf"):
        cross_entropy(np.array([[0.0, np.nan, 1.0], [0.0, 1.0, 2.0]]), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"at least one prediction, got shape \(0, 3\)"):
        cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=np.int64))
