"""Chapter 6's exercise checker (rnnbook.exercises.check_windows): it accepts the reference and the
chapter's hidden solution, and rejects each typical wrong answer with the right diagnosis.

The wrong answers here are written independently of the checker's own wrong variants: each is a
plausible reader's function with one mistake, switched on by a keyword.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import nbformat
import numpy as np
import pytest

from rnnbook.data import make_windows
from rnnbook.exercises import check_windows

ROOT = Path(__file__).resolve().parents[1]


def quiet(fn):
    with contextlib.redirect_stdout(io.StringIO()):
        return check_windows(fn)


def windows(series, lookback, horizon, *, mistake=None):
    """A reader's loop over the windows, with one optional mistake."""
    xs, ys = [], []
    last = len(series) - horizon + (0 if mistake == "one_too_few" else 1)
    for t in range(lookback, last):
        x = series[t - lookback:t]
        first = t - 1 if mistake == "off_by_one" else t
        xs.append(x[::-1] if mistake == "reversed" else x)
        ys.append(series[first:first + horizon, -1 if mistake == "last_column" else 0])
    X, Y = np.stack(xs), np.stack(ys)
    if mistake == "batch_first":
        return X, Y
    if mistake == "float32":
        return X.transpose(1, 0, 2).astype(np.float32), Y
    if mistake == "in_place":
        series[0, 0] = 0.0
    return X.transpose(1, 0, 2), Y


def test_accepts_the_reference_and_a_loop():
    assert quiet(lambda s, L, h: make_windows(s, L, h)).passed
    assert quiet(windows).passed


@pytest.mark.parametrize("mistake, cause", [
    ("off_by_one", "targets_overlap_inputs"),
    ("reversed", "inputs_reversed"),
    ("last_column", "wrong_target_column"),
    ("batch_first", "wrong_shape"),
    ("one_too_few", "wrong_shape"),
    ("float32", "wrong_dtype"),
    ("in_place", "modified_input"),
])
def test_names_each_mistake(mistake, cause):
    verdict = quiet(lambda s, L, h: windows(s, L, h, mistake=mistake))
    assert not verdict.passed and verdict.cause == cause, verdict.message


def test_not_implemented_and_bad_function():
    def stub(series, lookback, horizon):
        raise NotImplementedError

    assert quiet(stub).cause == "not_implemented"
    with pytest.raises(TypeError, match="series, lookback, horizon"):
        check_windows(lambda series: series)


def test_the_chapter_solution_passes():
    """The hidden solution cell of chapter 6 passes the checker, as executed in the committed notebook."""
    nb = nbformat.read(ROOT / "chapters" / "06_forecast.ipynb", as_version=4)
    solution = [c for c in nb.cells if "solution" in c.metadata.get("tags", [])]
    assert len(solution) == 1
    namespace = {"np": np}
    exec(solution[0].source.replace("verdict = check_windows(solution_windows)\nassert verdict.passed", ""), namespace)
    assert quiet(namespace["solution_windows"]).passed
    printed = "".join(o.get("text", "") for o in solution[0].outputs)
    assert "passed" in printed
