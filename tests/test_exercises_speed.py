"""The checker of chapter 11's exercise (rnnbook.exercises.speed): it passes a right answer, and
names each common mistake when given it; the reference is counted independently here."""

from __future__ import annotations

import pytest

from rnnbook.exercises.speed import CASES, MISTAKES, check_gru_step_cost, gru_step_cost


def test_reference_counts_a_gru_step_by_hand():
    """B=2, H=3, itemsize 4: W_hh 9x3, b_hh 9, the (2, 9) slice, h in and out (2, 3) each."""
    flops, nbytes = gru_step_cost(2, 100, 3, 4)
    assert flops == 2 * 2 * 3 * 9  # (2, 3) @ (3, 9): 54 multiply-adds
    assert nbytes == 4 * (27 + 9 + 18 + 12)


def written_by_a_reader(B, D, H, itemsize):
    return 6 * B * H * H, itemsize * (3 * H * H + 3 * H + 3 * B * H + 2 * B * H)


def test_a_right_answer_passes(capsys):
    verdict = check_gru_step_cost(written_by_a_reader)
    assert verdict.passed and verdict.cases == len(CASES)
    assert "passed" in capsys.readouterr().out
    assert check_gru_step_cost(lambda *a: tuple(map(float, written_by_a_reader(*a))), verbose=False).passed


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m.cause)
def test_each_mistake_is_named(mistake):
    verdict = check_gru_step_cost(mistake.compute, verbose=False)
    assert not verdict.passed and verdict.cause == mistake.cause, verdict.message


def test_the_mistakes_are_told_apart_on_the_first_case():
    costs = [m.compute(*CASES[0]) for m in MISTAKES] + [gru_step_cost(*CASES[0])]
    assert len(set(costs)) == len(costs)


def not_yet(B, D, H, itemsize):
    raise NotImplementedError


@pytest.mark.parametrize("fn, cause", [
    (not_yet, "not_implemented"),
    (lambda B, D, H, itemsize: 1 / 0, "exception"),
    (lambda B, D, H, itemsize: 5, "wrong_structure"),
    (lambda B, D, H, itemsize: (1.5, 2), "wrong_structure"),
    (lambda B, D, H, itemsize: (1, 2), "unknown"),
])
def test_failures_are_explained(fn, cause):
    assert check_gru_step_cost(fn, verbose=False).cause == cause


def test_not_callable_is_a_type_error():
    with pytest.raises(TypeError, match="fn"):
        check_gru_step_cost("gru_step_cost")
