"""Choosing where torch code runs: CUDA, then Apple's MPS, then the CPU."""

from __future__ import annotations

from rnnbook.checks import require_torch

require_torch("rnnbook.device")  # a clear ImportError if torch is missing

import torch


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
