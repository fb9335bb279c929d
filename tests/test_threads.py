"""rnnbook.device.limit_threads: one CPU thread in torch, BLAS and OpenMP, whatever the environment set.

Each case runs in a fresh interpreter, since thread pools are per process and are sized when the
libraries load: with OMP_NUM_THREADS=8 (or unset, the default of Jupyter and Colab) the pools
start larger, and the call must bring every one of them down.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rnnbook.device import limit_threads

PROBE = """
import json, sys
import numpy as np
import torch
from threadpoolctl import threadpool_info
from rnnbook.device import limit_threads

np.ones((64, 64)) @ np.ones((64, 64)); torch.ones(64, 64) @ torch.ones(64, 64)  # pools started
def now():
    return {"torch": torch.get_num_threads(), **{i["internal_api"]: i["num_threads"] for i in threadpool_info()}}
before = now()
limit_threads(*map(int, sys.argv[1:]))
print(json.dumps({"before": before, "after": now()}))
"""


def _probe(omp: str | None, *args: int) -> dict[str, dict[str, int]]:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    if omp is not None:
        env["OMP_NUM_THREADS"] = omp
    run = subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("omp", ["8", None], ids=["OMP_NUM_THREADS=8", "unset"])
def test_limit_threads_overrides_the_environment(omp):
    result = _probe(omp)
    if (os.cpu_count() or 1) > 1:  # the pools really started larger (else this test proves nothing)
        assert min(result["before"].values()) > 1, result["before"]
    after = result["after"]
    assert {"torch", "openmp", "openblas"} <= set(after), f"a thread pool was not found: {after}"
    assert set(after.values()) == {1}, f"after limit_threads(): {after}"


@pytest.mark.slow
def test_limit_threads_to_n():
    after = _probe("8", 2)["after"]
    assert set(after.values()) == {2}, after


@pytest.mark.parametrize("n, error", [(0, ValueError), (-1, ValueError), (1.0, TypeError), ("1", TypeError), (True, TypeError)])
def test_limit_threads_bad_input(n, error):
    with pytest.raises(error, match="n must be"):
        limit_threads(n)
