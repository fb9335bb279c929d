"""The logic of benchmarks/harness.py, bench_ladder.py and bench_memory.py that is not timing
(issue 13): the summary of repeats, the interleaving, the TF32 switches, the exact saved-bytes
count, the provenance fields, the JSON + markdown + plot files, and that every contender of the
ladder benchmark computes what torch.nn computes from the same weights. (Speed itself is measured,
never asserted.)"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_ladder  # noqa: E402
import bench_memory  # noqa: E402
import harness  # noqa: E402

CPU = torch.device("cpu")


def test_timing_summary_median_quartiles_and_spread():
    t = harness.Timing.of([5.0, 1.0, 3.0, 2.0, 4.0])
    assert (t.median, t.q25, t.q75, t.low, t.high, t.repeats) == (3.0, 2.0, 4.0, 1.0, 5.0, 5)
    assert t.spread == pytest.approx(2.0 / 3.0)
    one = harness.Timing.of([7.0])
    assert (one.median, one.q25, one.q75, one.spread) == (7.0, 7.0, 7.0, 0.0)
    with pytest.raises(ValueError, match="at least one time"):
        harness.Timing.of([])


def test_contenders_alternate_after_their_warm_up():
    calls: list[str] = []
    fns = {name: (lambda name=name: calls.append(name)) for name in "abc"}
    result = harness.time_interleaved(fns, CPU, repeats=4, warmup=2)
    assert calls[:6] == ["a", "a", "b", "b", "c", "c"]  # warm-up: each contender, before any timing
    assert calls[6:] == list("abc" + "cba" + "abc" + "cba")  # the order alternates every repeat
    assert {name: t.repeats for name, t in result.items()} == {"a": 4, "b": 4, "c": 4}
    assert harness.interleaved_median_ms(fns, CPU, repeats=1).keys() == fns.keys()
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        harness.time_interleaved(fns, CPU, repeats=0)


def test_tf32_is_set_equal_for_cudnn_and_cublas_and_reported():
    before = harness.tf32_settings()
    try:
        assert harness.set_tf32(True) == {"cudnn.allow_tf32": True, "cuda.matmul.allow_tf32": True}
        assert harness.set_tf32(False) == {"cudnn.allow_tf32": False, "cuda.matmul.allow_tf32": False}
        assert torch.backends.cudnn.allow_tf32 is False and torch.backends.cuda.matmul.allow_tf32 is False
        with pytest.raises(TypeError, match="enabled must be a bool"):
            harness.set_tf32("on")
    finally:
        torch.backends.cudnn.allow_tf32 = before["cudnn.allow_tf32"]
        torch.backends.cuda.matmul.allow_tf32 = before["cuda.matmul.allow_tf32"]


def test_saved_bytes_counts_each_saved_buffer_once_and_leaves_out_the_excluded():
    x = torch.randn(10, 10, requires_grad=True)  # float32: 400 bytes
    assert harness.saved_bytes(lambda: torch.sigmoid(x)) == 400  # sigmoid saves its output
    assert harness.saved_bytes(lambda: torch.sigmoid(x), exclude=[x]) == 400  # which is not x
    assert harness.saved_bytes(lambda: x * x) == 400  # x saved twice: one buffer
    assert harness.saved_bytes(lambda: x * x, exclude=[x]) == 0
    y = torch.sigmoid(x)
    assert harness.saved_bytes(lambda: (y[:5] * y[5:]).sum(), exclude=[x]) == 400  # two views of y's buffer
    with torch.no_grad():
        assert harness.saved_bytes(lambda: torch.sigmoid(x)) == 0  # nothing is kept without autograd


def test_provenance_has_device_versions_tf32_date_and_command():
    info = harness.provenance_info(CPU, (0.5, 0.4, 0.3))
    for key in ("device", "torch", "numpy", "python", "rnnbook", "tf32", "load_before", "date", "command",
                "torch_threads", "cpu_count", "cuda", "cudnn"):
        assert key in info
    assert info["torch"] == torch.__version__ and info["device_type"] == "cpu"
    assert info["date"].endswith("UTC") and "python" in info["command"]
    text = harness.provenance_markdown(info)
    assert f"torch {torch.__version__}" in text and "TF32: cudnn.allow_tf32=" in text
    assert "0.50, 0.40, 0.30 before" in text and "(no effect on a CPU)" in text
    json.dumps(info)  # it goes into the JSON file as it is


def test_results_are_written_as_json_markdown_and_plot_and_read_back(tmp_path):
    rows = [{"rung": "torch.nn", "ms": 2.0, "peak MiB": None}, {"rung": "ours", "ms": 3.0, "peak MiB": None}]
    info = harness.provenance_info(CPU, ())
    plotted = []
    paths = harness.save_results(rows, "## title", info, "demo", "x", tmp_path,
                                 plot=lambda r, path: (plotted.append(r), path.write_bytes(b"png")))
    assert {p.name for p in paths.values()} == {"demo_x.md", "demo_x.json", "demo_x.png"}
    assert plotted == [rows]
    md = paths["md"].read_text()
    assert "| rung | ms |" in md and "| ours | 3.00 |" in md and "peak MiB" not in md  # None columns dropped
    assert md.startswith("## title") and "- command:" in md
    data = harness.load_results(paths["json"])
    assert data == {"title": "## title", "provenance": info, "rows": rows}
    (tmp_path / "bad.json").write_text('{"rows": []}')
    with pytest.raises(ValueError, match="lacks"):
        harness.load_results(tmp_path / "bad.json")
    with pytest.raises(ValueError, match="at least one result"):
        harness.save_results([], "t", info, "e", out=tmp_path)
    with pytest.raises(ValueError, match="keys of the first"):
        harness.save_results([{"a": 1}, {"b": 2}], "t", info, "e", out=tmp_path)


#: Every contender but the compiled one, whose compilation takes minutes on this CPU (tests/test_ladder.py
#: tests that rung; here what matters is that the benchmark gives each contender torch.nn's weights).
QUICK = [name for name in bench_ladder.rungs() if "fused" not in name]


@pytest.mark.parametrize("cell", bench_ladder.CELLS)
def test_every_ladder_contender_computes_what_torch_nn_computes(cell):
    """Same weights, same input: a contender that is timed must be the same layer."""
    X, found = bench_ladder.contenders(cell, T=6, B=3, D=4, H=5, device=CPU, dtype=torch.float64, names=QUICK)
    assert list(found)[0] == "torch.nn" and len(found) >= 2
    runs_anywhere = {"torch.nn", "rnnbook.torch", "1 naive", "2 premul", "3 handwritten"}
    assert runs_anywhere <= set(found) <= set(QUICK)  # graphed (and triton without Triton) need a GPU: skipped
    Y_ref = found["torch.nn"][0](X)[0]
    for name, (layer, forward, step, first) in found.items():
        torch.testing.assert_close(layer(X)[0], Y_ref, rtol=1e-10, atol=1e-12, msg=name)
        step()
        assert X.grad is not None and X.grad.shape == X.shape


def test_ladder_rows_carry_ratios_to_torch_nn_and_saved_bytes():
    rows = bench_ladder.bench_size("GRU", 5, 2, 3, 4, CPU, torch.float32, repeats=1, warmup=0, names=QUICK)
    assert rows[0]["rung"] == "torch.nn" and rows[0]["fwd ratio"] == 1.0 and rows[0]["fwd+bwd ratio"] == 1.0
    assert all(r["saved MiB"] > 0 and r["peak MiB"] is None and r["first call s"] > 0 for r in rows)


def test_memory_rows_recomputation_holds_less_than_plain():
    rows = bench_memory.measure(T=16, B=2, H=3, chunk=8, device=CPU, repeats=1)
    assert [r["way"] for r in rows] == ["plain", "recompute, K=sqrt(T)", "recompute, K=8"]
    assert [r["K"] for r in rows] == [16, 4, 8]
    plain, sqrt_k, _ = rows
    assert sqrt_k["saved MiB"] < sqrt_k["+ one chunk MiB"] < plain["saved MiB"]
    assert plain["time ratio"] == 1.0
