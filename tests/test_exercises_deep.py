"""Chapter 8's exercise checker (rnnbook.exercises.deep): it accepts right answers, names each typical
wrong one, and every one of its wrong variants differs from the reference and is diagnosed as itself.

The reader's functions here are written independently of the checker's variants (loops over the batch
with index arithmetic, one mistake switched on by a keyword).
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

from rnnbook.exercises.core import SIZES, run_check
from rnnbook.exercises.deep import REVERSE_PADDED, check_reverse_padded
from rnnbook.numpy.stack import reverse_padded


def quiet(fn):
    with contextlib.redirect_stdout(io.StringIO()):
        return check_reverse_padded(fn)


def reader(X, lengths, mistake=None):
    T, B = X.shape[:2]
    out = np.zeros_like(X) if mistake == "zeros" else X.copy()
    for b in range(B):
        L = T if mistake == "flip_all" else int(lengths[b]) - (1 if mistake == "off_by_one" else 0)
        for t in range(L):
            out[t, b] = X[L - 1 - t, b]
    if mistake == "batch_axis":
        return X[:, ::-1].copy()
    if mistake == "float32":
        return out.astype(np.float32)
    if mistake == "in_place":
        X[...] = out
        return out
    return out


def test_right_answers_pass():
    assert quiet(reader).passed
    assert quiet(reverse_padded).passed
    verdict = quiet(lambda X, lengths: reader(X, lengths))
    assert verdict.cases == len(SIZES) and f"all {len(SIZES)} cases" in verdict.message


@pytest.mark.parametrize("mistake, cause", [
    ("flip_all", "whole_padded_sequence_flipped"), ("zeros", "padding_zeroed"), ("off_by_one", "length_off_by_one"),
    ("batch_axis", "wrong_axis"), ("float32", "wrong_dtype"), ("in_place", "modified_input"),
])
def test_each_mistake_is_named(mistake, cause):
    verdict = quiet(lambda X, lengths: reader(X, lengths, mistake))
    assert not verdict.passed and verdict.cause == cause, verdict.message


def test_not_implemented_and_bad_arguments():
    def stub(X, lengths):
        raise NotImplementedError

    assert quiet(stub).cause == "not_implemented"
    with pytest.raises(TypeError, match="fn must take the arguments"):
        check_reverse_padded(lambda X: X)


def test_every_variant_differs_on_the_first_case_and_is_diagnosed_as_itself():
    args = REVERSE_PADDED.make_case(np.random.default_rng(REVERSE_PADDED.seed), *SIZES[0])
    expected = REVERSE_PADDED.reference(*args)["X_rev"]
    for mistake in REVERSE_PADDED.mistakes:
        assert not np.allclose(mistake.compute(*args)["X_rev"], expected), mistake.explanation
        with contextlib.redirect_stdout(io.StringIO()):
            verdict = run_check(REVERSE_PADDED, lambda X, lengths, m=mistake: m.compute(X, lengths)["X_rev"])
        assert verdict.cause == mistake.cause, (mistake.explanation, verdict.message)
