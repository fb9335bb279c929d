"""benchmarks/bench_ddp.py (chapter 13): the checks on its options, the arithmetic of its table (ratios
to the 1-process run, warm-up subtracted), and a tiny run on 1 and 2 processes that writes the scaling
table, the all-reduce table and the figure with provenance. (Speed itself is measured, never asserted.)"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import bench_ddp  # noqa: E402
from bench_ddp import Config  # noqa: E402

from rnnbook.text import Vocabulary, pydoc_corpus
from rnnbook.torch.charlm import CharModel

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_process_counts_are_checked_with_a_message_naming_the_option():
    assert bench_ddp.check_procs([2, 1, 2], CPU, 8, 0) == [1, 2]
    assert bench_ddp.check_procs([1, 4], CPU, 8, 0) == [1, 4]          # oversubscribed on 2 cores, but allowed
    with pytest.raises(ValueError, match="--procs must include 1"):
        bench_ddp.check_procs([2, 4], CPU, 8, 0)
    with pytest.raises(ValueError, match="--procs must be positive"):
        bench_ddp.check_procs([1, 0], CPU, 8, 0)
    with pytest.raises(ValueError, match=r"--global-batch 6 must be divisible .* not by \[4\]"):
        bench_ddp.check_procs([1, 2, 4], CPU, 6, 0)
    with pytest.raises(ValueError, match=r"one per GPU, but torch.cuda.device_count\(\) is 2"):
        bench_ddp.check_procs([1, 2, 4], CUDA, 8, 2)
    assert bench_ddp.check_procs([1, 2], CUDA, 8, 2) == [1, 2]
    with pytest.raises(ValueError, match="--device must be cpu or cuda"):
        bench_ddp.check_procs([1], torch.device("mps"), 8, 0)


def test_a_step_time_is_read_from_the_runs_throughput_and_a_wrong_run_is_refused():
    result = {"world_size": 2, "steps": 50, "timed_steps": 40, "chars_per_second": 16_000.0}
    assert bench_ddp.ms_per_step(result, Config(2, 8), T=20, steps=50, warmup_steps=10) == pytest.approx(10.0)
    with pytest.raises(RuntimeError, match="asked for 1 processes"):
        bench_ddp.ms_per_step(result, Config(1, 8), T=20, steps=50, warmup_steps=10)
    with pytest.raises(RuntimeError, match="40 timed; the run reports 2, 50 and 30"):
        bench_ddp.ms_per_step({**result, "timed_steps": 30}, Config(2, 8), T=20, steps=50, warmup_steps=10)


def test_ratios_are_taken_against_one_process_of_the_same_scaling():
    times = {Config(1, 4): [10.0, 11.0, 9.0], Config(2, 8): [12.0], Config(2, 4): [8.0], Config(1, 2): [6.0],
             Config(2, 8, True): [11.0], Config(2, 4, True): [7.0],
             Config(2, 8, comm=False): [11.5], Config(2, 4, comm=False): [7.5]}
    rows = bench_ddp.scaling_rows(times, [1, 2], B=4, G=4, T=5, threads=1, cpu=True)
    weak = {r["processes"]: r for r in rows if r["scaling"] == "weak"}
    strong = {r["processes"]: r for r in rows if r["scaling"] == "strong"}
    assert weak[1]["ms/step"] == 10.0 and weak[1]["chars/s"] == pytest.approx(4 * 5 / 0.010)
    assert weak[2]["chars/s"] == pytest.approx(8 * 5 / 0.012)
    assert weak[2]["vs 1 process"] == pytest.approx(10 / 12 * 2)               # twice the characters in 1.2x the time
    assert weak[2]["efficiency"] == pytest.approx(10 / 12)
    assert strong[2]["vs 1 process"] == pytest.approx(10 / 8)                  # the same characters in 0.8x the time
    assert weak[2]["alone"] == pytest.approx(2.0)
    assert strong[2]["alone"] == pytest.approx(10 / 6)                         # 1 process at B=2 against B=4
    assert weak[2]["together"] == pytest.approx(10 / 11 * 2)
    assert strong[2]["together"] == pytest.approx(10 / 7)
    assert weak[2]["no grad all-reduce"] == pytest.approx(10 / 11.5 * 2)       # DDP without the gradient all-reduce
    assert strong[2]["no grad all-reduce"] == pytest.approx(10 / 7.5)
    assert (weak[2]["ms/step together"], weak[2]["ms/step no grad all-reduce"]) == (11.0, 11.5)
    assert (strong[2]["ms/step together"], strong[2]["ms/step no grad all-reduce"]) == (7.0, 7.5)
    assert weak[1]["alone"] == weak[1]["together"] == strong[1]["together"] == weak[1]["no grad all-reduce"] == 1.0
    assert weak[1]["ms/step together"] == weak[1]["ms/step no grad all-reduce"] == weak[1]["ms/step"]
    assert (weak[2]["per-rank batch"], weak[2]["global batch"], strong[2]["per-rank batch"]) == (4, 8, 2)


def test_independent_processes_run_at_once_with_their_own_environment_and_no_torchrun_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "3")            # as inside a torchrun worker: must not leak into the jobs
    script = ("import json, os, sys, time; t = time.time(); time.sleep(1.0); "
              "json.dump({'rank': os.environ.get('RANK'), 'omp': os.environ['OMP_NUM_THREADS'], 'start': t}, "
              "open(sys.argv[1] + '/result.json', 'w'))")
    outs = [tmp_path / "a", tmp_path / "b"]
    results = bench_ddp.run_jobs([[sys.executable, "-c", script, str(o)] for o in outs], outs, 1, 60)
    assert [(r["rank"], r["omp"]) for r in results] == [(None, "1"), (None, "1")]
    assert abs(results[0]["start"] - results[1]["start"]) < 0.8     # started together: one after the other is >= 1 s
    results = bench_ddp.run_jobs([[sys.executable, "-c", script.replace("'rank': os.environ.get('RANK')",
                                                                        "'rank': os.environ['CUDA_VISIBLE_DEVICES']"),
                                   str(o)] for o in outs], outs, 1, 60,
                                 envs=[{"CUDA_VISIBLE_DEVICES": "5"}, {"CUDA_VISIBLE_DEVICES": "6"}])
    assert [r["rank"] for r in results] == ["5", "6"]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,7")
    assert bench_ddp.own_gpus(2, "cuda") == [{"CUDA_VISIBLE_DEVICES": "3"}, {"CUDA_VISIBLE_DEVICES": "7"}]
    assert bench_ddp.own_gpus(2, "cpu") is None
    with pytest.raises(RuntimeError, match=r"(?s)failed \(1\).*boom"):
        bench_ddp.run_jobs([[sys.executable, "-c", "raise SystemExit('boom')"]], [tmp_path / "c"], 1, 60)
    with pytest.raises(RuntimeError, match="hung for 1 s, killed"):
        bench_ddp.run_jobs([[sys.executable, "-c", "import time; time.sleep(60)"]], [tmp_path / "d"], 1, 1)


@pytest.mark.slow   # three torchrun launches and 4 plain processes: 25-45 s on 2 busy cores
def test_a_tiny_run_on_1_and_2_processes_writes_tables_with_provenance(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["bench_ddp.py", "--procs", "1,2", "--B", "1", "--global-batch", "2", "--T", "4",
                                      "--H", "8", "--chars", "2000", "--steps", "4", "--warmup-steps", "1",
                                      "--repeats", "1", "--out", str(tmp_path), "--label", "test"])
    bench_ddp.main()
    result = json.loads((tmp_path / "ddp_cpu_test.json").read_text())
    rows, info = result["rows"], result["provenance"]
    assert [(r["scaling"], r["processes"], r["global batch"]) for r in rows] == [
        ("weak", 1, 1), ("weak", 2, 2), ("strong", 1, 2), ("strong", 2, 2)]
    assert all(r["chars/s"] > 0 and r["ms/step"] > 0 for r in rows)
    for r in rows:   # the columns follow from the measured times
        assert r["chars/s"] == pytest.approx(r["global batch"] * 4 / (r["ms/step"] / 1e3))
        base = next(b for b in rows if b["scaling"] == r["scaling"] and b["processes"] == 1)
        assert r["vs 1 process"] == pytest.approx(r["chars/s"] / base["chars/s"])
        assert r["efficiency"] == pytest.approx(r["vs 1 process"] / r["processes"])
    assert all(r["alone"] > 0 and r["together"] > 0 and r["no grad all-reduce"] > 0 for r in rows)
    assert rows[0]["alone"] == rows[0]["together"] == rows[0]["no grad all-reduce"] == 1.0
    assert rows[1]["alone"] == pytest.approx(2.0)
    for r in rows:   # the references' times and ratios are one measurement, read two ways
        base = next(b for b in rows if b["scaling"] == r["scaling"] and b["processes"] == 1)
        for ratio, ms in (("together", "ms/step together"), ("no grad all-reduce", "ms/step no grad all-reduce")):
            assert r[ratio] == pytest.approx(base["ms/step"] / base["global batch"] * r["global batch"] / r[ms])
    weak2, strong2 = rows[1], rows[3]
    assert strong2["ms/step"] == weak2["ms/step"]               # one configuration (2 ranks of 1 stream), timed once
    assert weak2["oversubscribed"] == ("yes" if (info["cpu_count"] or 1) < 2 else "no")
    vocab = Vocabulary.from_text(pydoc_corpus()[:2000])
    params = sum(p.numel() for p in CharModel(len(vocab.chars), 8, "lstm").parameters())
    assert info["gradient_elements"] == params
    assert "torch.distributed.run --standalone --nproc-per-node N -m rnnbook.distributed" in info["launch"]
    assert {"device", "cpu_count", "torch", "date", "command"} <= set(info)
    allreduce = json.loads((tmp_path / "ddp_allreduce_cpu_test.json").read_text())["rows"]
    assert [r["elements"] for r in allreduce if r["what"] == "model gradient"] == [params]
    assert all(r["ms/all-reduce"] > 0 and r["bytes"] == 4 * r["elements"] for r in allreduce)
    assert all(r["GB/s (bytes / time)"] == pytest.approx(r["bytes"] / r["ms/all-reduce"] / 1e6) for r in allreduce)
    table = (tmp_path / "ddp_cpu_test.md").read_text()
    assert "| weak | 2 |" in table and "no grad all-reduce" in table and "--comm none" in table
    runs = info["ms_per_step_runs"]    # every run's time, each configuration once (repeats 1)
    assert set(runs) == {"N=1 B=1", "N=1 B=2", "N=2 B=2", "N=2 B=2 independent", "N=2 B=2 DDP --comm none"}
    assert runs["N=2 B=2 DDP --comm none"] == [round(weak2["ms/step no grad all-reduce"], 2)]
    assert "Every run's ms/step" in table
    assert ("no multi-GPU machine was available" in table) == (torch.cuda.device_count() < 2)
    assert (tmp_path / "ddp_cpu_test.png").stat().st_size > 0
