"""Execution backends for ONNX Runtime, chosen automatically.

Each backend names the ORT execution provider, the packages it needs and how to
tell whether it can run here. :func:`select_providers` returns the available ones
in order of preference (TensorRT, CUDA, CPU); ``$MEDZOO_PROVIDERS`` (comma-separated
backend names, e.g. ``cpu``) overrides the choice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

PROVIDERS_ENV = "MEDZOO_PROVIDERS"


@dataclass(frozen=True)
class Backend:
    name: str
    provider: str
    dependencies: tuple[str, ...]

    def is_available(self) -> bool:
        return self.provider in ort.get_available_providers()


BACKENDS = (
    Backend("tensorrt", "TensorrtExecutionProvider", ("onnxruntime-gpu", "TensorRT")),
    Backend("cuda", "CUDAExecutionProvider", ("onnxruntime-gpu", "CUDA", "cuDNN")),
    Backend("cpu", "CPUExecutionProvider", ("onnxruntime",)),
)


def select_providers() -> list[str]:
    """ORT provider names to try, best first; always ends with the CPU provider."""
    wanted = os.environ.get(PROVIDERS_ENV)
    names = [n.strip().lower() for n in wanted.split(",")] if wanted else None
    by_name = {b.name: b for b in BACKENDS}
    if names:
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ValueError(
                f"{PROVIDERS_ENV} names unknown backends {unknown}; known: {sorted(by_name)}"
            )
        chosen = [by_name[n] for n in names if by_name[n].is_available()]
    else:
        chosen = [b for b in BACKENDS if b.is_available()]
    providers = [b.provider for b in chosen]
    if "CPUExecutionProvider" not in providers:
        providers.append("CPUExecutionProvider")
    return providers


def available_cpus() -> int:
    """CPUs this process may really use: affinity and the cgroup quota both count.

    ORT's default thread count is the host's core count, which in a container with
    a CPU quota (Streamlit Cloud, CI) oversubscribes and slows every inference.
    """
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        count = os.cpu_count() or 1
    quota = _cgroup_cpu_quota()
    if quota is not None:
        count = min(count, quota)
    return max(1, count)


def _cgroup_cpu_quota() -> int | None:
    cpu_max = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2: "<quota> <period>" or "max <period>"
    try:
        quota, period = cpu_max.read_text().split()[:2]
        return None if quota == "max" else max(1, int(int(quota) / int(period)))
    except (OSError, ValueError):
        pass
    try:  # cgroup v1
        quota_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").read_text())
        period_us = int(Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us").read_text())
        return None if quota_us <= 0 else max(1, quota_us // period_us)
    except (OSError, ValueError):
        return None
