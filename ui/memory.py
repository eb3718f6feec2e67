"""Process-wide memory care for the Streamlit server.

Streamlit runs every browser session's script in a thread of its own, and glibc gives
threads that allocate at the same time separate heaps ("arenas"). Each arena keeps the
memory it once needed even after it is freed, so with eight users at once the server
held 727 MB at its peak (``python -m benchmarks.load_sessions``, N = 8). Streamlit Cloud
gives an app about 1 GB. Handing freed heap back to the system after each script run
(``malloc_trim``) keeps what the process holds close to what it uses.
"""

from __future__ import annotations

import ctypes

_trim = None


def release_free_heap() -> bool:
    """Return freed heap memory of every glibc arena to the system; False elsewhere."""
    global _trim
    if _trim is None:
        try:
            _trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):  # not glibc: nothing to do
            _trim = False
    return bool(_trim and _trim(0))
