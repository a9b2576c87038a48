"""Attention examples written in notes: the block format, running it, and updating it.

The element budget lives here, not in ``spec``, so that the command line can show it as a
default without importing NumPy (which ``attnkb --help`` must not pay for).
"""

DEFAULT_MAX_ELEMENTS = 10_000_000
