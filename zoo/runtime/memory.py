"""This process's memory: what it holds (RSS), and freed heap handed back to the system.

glibc keeps freed heap pages in the process, and gives threads that allocate at the same
time separate heaps ("arenas") that each keep the memory they once needed. Two places
leave much of it behind: loading an ONNX file (a graph parsed and optimised through
short-lived buffers: InceptionV3 +110 MB while loading, +62 MB once handed back), and
Streamlit's script runs, one thread per browser session (eight users at once held 727 MB
at the peak, ``python -m benchmarks.load_sessions``). On a 1 GB host (Streamlit Community
Cloud) ``malloc_trim`` after each keeps what the process holds close to what it uses.

Large arrays (a 2k x 2k scan as float32 is 16 MB) are the other half: glibc serves them
with ``mmap`` (handed back on free) only above a threshold that it raises to the size of
each such block freed, so after the first few scans they come from the heaps and stay as
holes between live blocks, which no trim can hand back. :func:`tune_heap` pins the
threshold at :data:`MMAP_THRESHOLD`.
"""

from __future__ import annotations

import ctypes
import os

_trim = None
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (glibc malloc.h)
#: Blocks from this size up get their own mapping, returned to the system when freed.
MMAP_THRESHOLD = 1 << 20


def rss_mb() -> float:
    """Resident memory of this process in MiB (0.0 where ``/proc`` is not available)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def release_free_heap() -> bool:
    """Return freed heap memory of every glibc arena to the system; False elsewhere (other
    allocators return it on their own or offer no such call)."""
    global _trim
    if _trim is None:
        try:
            _trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc: nothing to do
            _trim = False
    return bool(_trim and _trim(0))


def tune_heap(threshold: int = MMAP_THRESHOLD) -> bool:
    """Pin glibc's mmap threshold (see the module docstring); False where not glibc, or
    where ``MALLOC_MMAP_THRESHOLD_`` is set (the operator's choice stands)."""
    if os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, threshold))
