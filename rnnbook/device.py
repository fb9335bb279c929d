"""Choosing where torch code runs (CUDA, then Apple's MPS, then the CPU), and how many CPU threads it uses."""

from __future__ import annotations

from rnnbook.checks import require_torch

require_torch("rnnbook.device")  # a clear ImportError if torch is missing

import torch
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # ships no type hints


def get_device(prefer: str | None = None) -> torch.device:
    """Return the best available device, or the one asked for.

    Parameters
    ----------
    prefer : {"cuda", "mps", "cpu"} or None
        ``None`` picks CUDA if available, then MPS, then the CPU. A name insists on that device.

    Returns
    -------
    torch.device

    Raises
    ------
    ValueError
        If ``prefer`` is not one of the names above.
    RuntimeError
        If the device asked for is not available on this machine.
    """
    available = {
        "cuda": torch.cuda.is_available(),
        "mps": bool(getattr(torch.backends, "mps", None)) and torch.backends.mps.is_available(),
        "cpu": True,
    }
    if prefer is None:
        return torch.device(next(name for name, ok in available.items() if ok))
    if prefer not in available:
        raise ValueError(f"prefer must be one of {sorted(available)} or None, got {prefer!r}")
    if not available[prefer]:
        raise RuntimeError(f"device {prefer!r} was asked for but is not available on this machine")
    return torch.device(prefer)


def describe(device: torch.device) -> str:
    """A one-line description of ``device`` (the GPU's name where there is one)."""
    if device.type == "cuda":
        return f"cuda: {torch.cuda.get_device_name(device)}"
    return device.type


def limit_threads(n: int = 1) -> None:
    """Use at most ``n`` CPU threads in torch, NumPy's BLAS and OpenMP, from now on in this process.

    The chapters multiply small matrices (tens of rows), where extra threads only add overhead, and
    threads that spin while waiting for work slow a busy machine down many times over (a chapter 4
    training step measured 0.8-1.0 s with the two default threads on a loaded 2-core machine, 40-50 ms
    with one). ``OMP_NUM_THREADS=1`` does the same only if it is set before the libraries load,
    which Jupyter and Colab do not do; this call works at any time, whatever the environment
    says. One thread also makes CPU float results independent of the number of cores.

    Parameters
    ----------
    n : int, default 1
        The most threads each library may use.

    Raises
    ------
    TypeError
        If ``n`` is not an int.
    ValueError
        If ``n < 1``.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"n must be an int (a number of threads), got {type(n).__name__} {n!r}")
    if n < 1:
        raise ValueError(f"n must be at least 1 (a number of threads), got {n}")
    torch.set_num_threads(n)
    threadpool_limits(limits=n)  # every BLAS and OpenMP library loaded so far, torch's included
