"""Chapter 7's exercise checker (rnnbook.exercises.memory): it accepts a correct target of the original
adding problem and the chapter's hidden solution, and names each typical wrong answer.

The wrong answers are written here independently of the checker's own variants: each is a plausible
reader's function with one mistake, switched on by a keyword.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from rnnbook.data import adding_problem_original
from rnnbook.exercises import check_adding_target


def quiet(fn):
    with contextlib.redirect_stdout(io.StringIO()):
        return check_adding_target(fn)


def target(X, *, mistake=None):
    """0.5 + (X_1 + X_2) / 4 from a batch (L, B, 2), with one optional mistake."""
    y = np.empty((X.shape[1], 1))
    for b in range(X.shape[1]):
        marked = [t for t in range(X.shape[0]) if X[t, b, 1] == 1.0]
        if mistake == "minus_ones":
            marked += [t for t in range(X.shape[0]) if X[t, b, 1] == -1.0]   # and subtract nothing: add them
            s = sum(X[t, b, 0] * X[t, b, 1] for t in marked)
        else:
            s = sum(X[t, b, 0] for t in marked)
        y[b, 0] = {"le": s, "no_offset": s / 4, "halved": 0.5 + s / 2}.get(mistake, 0.5 + s / 4)
    if mistake == "flat":
        return y[:, 0]
    if mistake == "float32":
        return y.astype(np.float32)
    return y


def test_a_correct_target_passes_and_is_the_generators():
    assert quiet(target)
    X, y = adding_problem_original(50, 30, np.random.default_rng(0), dtype=np.float64)
    np.testing.assert_allclose(target(X), y, rtol=1e-12)   # the checker's reference agrees with the generator


@pytest.mark.parametrize("mistake, cause", [
    ("minus_ones", "minus_ones_counted"), ("le", "le_variant"), ("no_offset", "no_offset"),
    ("halved", "halved_not_quartered"), ("flat", "wrong_shape"), ("float32", "wrong_dtype"),
])
def test_wrong_targets_are_diagnosed(mistake, cause):
    verdict = quiet(lambda X: target(X, mistake=mistake))
    assert not verdict.passed and verdict.cause == cause, verdict.message


def test_stub_and_bad_arguments():
    def stub(X):
        raise NotImplementedError

    assert quiet(stub).cause == "not_implemented"
    with pytest.raises(TypeError, match="fn must take the arguments"):
        check_adding_target(lambda X, Y: X)
    with pytest.raises(TypeError, match="fn must be the function you wrote"):
        check_adding_target("target")
