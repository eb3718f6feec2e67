"""This process's memory: what it holds (RSS) and handing freed heap back to the system.

Loading an ONNX file parses and optimises a graph through many short-lived buffers; glibc
keeps the freed ones in its heap, so RSS stays at the load's high-water mark (InceptionV3:
+110 MB while loading, +62 MB once freed heap is handed back). On a 1 GB host that
difference decides how many models fit.
"""

from __future__ import annotations

import contextlib
import ctypes
import os


def rss_mb() -> float:
    """Resident memory of this process in MiB (0.0 where ``/proc`` is not available)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def release_free_heap() -> None:
    """Return the allocator's free pages to the system (glibc ``malloc_trim``; elsewhere a
    no-op: other allocators return them on their own or offer no such call)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
