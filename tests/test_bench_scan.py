"""benchmarks/bench_scan.py (chapter 12): every contender of a row computes the same minGRU function
(so the benchmark times one computation four ways, torch.nn.GRU aside), and a tiny run writes its
JSON + markdown + plot with provenance. (Speed itself is measured, never asserted.)"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_scan  # noqa: E402

from rnnbook.torch.scan import MinGRU, linear_recurrence


def test_hoisted_loop_and_modes_compute_one_function():
    torch.manual_seed(0)
    layer = MinGRU(6, 5, dtype=torch.float64)
    X = torch.randn(30, 3, 6, dtype=torch.float64)
    log_a, log_b = layer.coefficients(X)
    hoisted = linear_recurrence(log_a.exp(), log_b.exp())
    parallel, _ = layer(X)
    layer.mode = "sequential"
    sequential, _ = layer(X)
    torch.testing.assert_close(hoisted, parallel, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(sequential, parallel, rtol=1e-12, atol=1e-14)


def test_a_tiny_run_writes_results_with_provenance(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["bench_scan.py", "--device", "cpu", "--T", "4,8", "--B", "2", "--H", "3",
                                      "--repeats", "1", "--warmup", "0", "--out", str(tmp_path), "--label", "test"])
    bench_scan.main()
    result = json.loads((tmp_path / "scan_cpu_test.json").read_text())
    rows = result["rows"]
    assert [(r["T"], r["contender"]) for r in rows] == [
        (T, c) for T in (4, 8) for c in ("sequential", "hoisted loop", "parallel", "torch.nn.GRU")]
    assert all(r["time / parallel"] > 0 for r in rows)
    assert all(r["time / parallel"] == 1.0 for r in rows if r["contender"] == "parallel")
    assert "device" in result["provenance"]
    assert (tmp_path / "scan_cpu_test.md").exists() and (tmp_path / "scan_cpu_test.png").exists()
