"""The kernel's own error type: a ValueError, so plain NumPy callers can catch it as such."""


class KernelError(ValueError):
    pass
