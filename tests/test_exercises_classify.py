"""The checker of chapter 9's exercise (rnnbook.exercises.classify): it accepts a correct last-valid-state
readout, diagnoses each typical wrong one, and refuses bad arguments.

The wrong answers here are written independently of the checker's own variants: each is a plausible
reader's function with one mistake.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest
import torch

from rnnbook.exercises import check_last_valid
from rnnbook.exercises.classify import LAST_VALID, MISTAKES
from rnnbook.exercises.core import SIZES, run_check
from rnnbook.torch.classify import last_valid


def quiet(fn):
    with contextlib.redirect_stdout(io.StringIO()):
        return check_last_valid(fn)


def loop(Y, lengths):
    """The plainest correct answer: one sequence at a time."""
    return np.stack([Y[n - 1, b] for b, n in enumerate(lengths)])


def test_correct_answers_and_the_torch_readout_pass():
    assert quiet(loop).passed
    assert quiet(lambda Y, lengths: Y[lengths - 1, np.arange(len(lengths))]).passed
    verdict = quiet(lambda Y, lengths: last_valid(torch.from_numpy(Y), lengths).numpy())
    assert verdict.passed and verdict.cases == len(SIZES)


@pytest.mark.parametrize("wrong, cause", [
    (lambda Y, lengths: Y[-1].copy(), "padded_last_step"),
    (lambda Y, lengths: Y[0] + 0.0, "first_step"),
    (lambda Y, lengths: np.stack([Y[max(n - 2, 0), b] for b, n in enumerate(lengths)]), "one_step_early"),
    (lambda Y, lengths: np.stack([Y[min(n, len(Y) - 1), b] for b, n in enumerate(lengths)]), "one_step_late"),
])
def test_wrong_answers_are_diagnosed(wrong, cause):
    verdict = quiet(wrong)
    assert not verdict.passed and verdict.cause == cause and verdict.output == "h_last", verdict.message


def test_other_failures():
    def stub(Y, lengths):
        raise NotImplementedError

    def unclipped(Y, lengths):  # Y[l]: past the end for the longest sequence
        return Y[lengths, np.arange(len(lengths))]

    def in_place(Y, lengths):
        lengths -= 1
        return Y[lengths, np.arange(len(lengths))]

    assert quiet(stub).cause == "not_implemented"
    verdict = quiet(unclipped)
    assert verdict.cause == "exception" and "IndexError" in verdict.message
    assert quiet(in_place).cause == "modified_input"
    assert quiet(lambda Y, lengths: Y.sum(axis=0)).cause == "unknown"
    assert quiet(lambda Y, lengths: Y[-1].T).cause == "missing_transpose"
    swapped = quiet(lambda Y, lengths: Y.transpose(1, 0, 2)[lengths - 1, np.arange(len(lengths))])
    assert swapped.cause == "exception" and "IndexError" in swapped.message  # Y[b, t] for a time-major Y
    with pytest.raises(TypeError, match="fn must be the function you wrote"):
        check_last_valid(3)
    with pytest.raises(TypeError, match="fn must take the arguments"):
        check_last_valid(lambda Y: Y)


def test_every_mistake_differs_from_the_reference_on_the_first_case():
    Y, lengths = LAST_VALID.make_case(np.random.default_rng(LAST_VALID.seed), *SIZES[0])
    expected = LAST_VALID.reference(Y, lengths)["h_last"]
    for mistake in MISTAKES:
        variant = mistake.compute(Y, lengths)["h_last"]
        assert variant.shape != expected.shape or not np.allclose(variant, expected), mistake.cause
        assert run_check(LAST_VALID, lambda Y, lengths, m=mistake: m.compute(Y, lengths)["h_last"],
                         verbose=False).cause == mistake.cause
