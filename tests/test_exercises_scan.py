"""Chapter 12's exercise checker (rnnbook.exercises.scan): it accepts a correct Hillis-Steele scan and
names each typical wrong answer.

The reader's functions here are written independently of the checker's variants: each is a plausible
scan with one mistake, switched on by a keyword, and the correct one is also compared with the
sequential loop of rnnbook.numpy.scan.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from rnnbook.exercises import check_hillis_steele
from rnnbook.numpy.scan import linear_recurrence


def quiet(fn):
    with contextlib.redirect_stdout(io.StringIO()):
        return check_hillis_steele(fn)


def scan(a, b, *, mistake=None):
    """h_t = a_t h_{t-1} + b_t by rounds of doubling distance, with one optional mistake."""
    A, B = list(a), list(b)                         # per-position arrays (B, H)
    L, d = len(A), 1
    while (2 * d if mistake == "short" else d) < L:   # "short": stop when 2d >= L, one round too few
        if mistake == "in_place":
            for t in range(d, L):
                A[t], B[t] = A[t - d] * A[t], A[t] * B[t - d] + B[t]
        else:
            new = {}
            for t in range(d, L):
                if mistake == "swapped":
                    new[t] = (A[t - d] * A[t], A[t - d] * B[t] + B[t - d])
                elif mistake == "a_fixed":
                    new[t] = (A[t], A[t] * B[t - d] + B[t])
                else:
                    new[t] = (A[t - d] * A[t], A[t] * B[t - d] + B[t])
            for t, (x, y) in new.items():
                A[t], B[t] = x, y
        d *= 2
    h = np.stack(B)
    if mistake == "float32":
        return h.astype(np.float32)
    if mistake == "last_only":
        return h[-1]
    return h


def test_a_correct_scan_passes_and_is_the_loop():
    assert quiet(scan)
    rng = np.random.default_rng(0)
    for L in range(1, 20):
        a, b = rng.uniform(0.2, 1.2, (L, 2, 3)), rng.normal(size=(L, 2, 3))
        np.testing.assert_allclose(scan(a, b), linear_recurrence(a, b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mistake, cause", [
    ("swapped", "combine_order_swapped"), ("a_fixed", "a_not_composed"), ("in_place", "in_place_update"),
    ("short", "one_round_short"), ("float32", "wrong_dtype"), ("last_only", "wrong_shape"),
])
def test_wrong_scans_are_diagnosed(mistake, cause):
    verdict = quiet(lambda a, b: scan(a, b, mistake=mistake))
    assert not verdict.passed and verdict.cause == cause, verdict.message


def test_stub_and_bad_arguments():
    def stub(a, b):
        raise NotImplementedError

    verdict = quiet(stub)
    assert not verdict.passed and "not implemented" in verdict.message
    with pytest.raises(TypeError, match="fn must take the arguments"):
        check_hillis_steele(lambda a: a)
    with pytest.raises(TypeError):
        check_hillis_steele(3)
