"""A one-line description of the machine a benchmark ran on."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe() -> str:
    cpu = _cpuinfo("model name") or platform.processor() or "unknown CPU"
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{cpu}, {cores()} cores{memory}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cpu_ghz(default: float = 2.1) -> float:
    """The CPU's clock as the kernel reports it (a virtual machine reports the nominal one)."""
    try:
        return float(_cpuinfo("cpu MHz") or "") / 1000
    except ValueError:
        return default


def cpu_flags() -> set[str]:
    """The instruction-set flags the kernel reports for the first CPU (empty when unknown)."""
    return set((_cpuinfo("flags") or "").split())


def _cpuinfo(field: str) -> str | None:
    """The first CPU's `field` in /proc/cpuinfo, or None where there is none."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(field):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None
