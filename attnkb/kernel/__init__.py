"""Pure-NumPy attention kernel with PyTorch's reference semantics.

No file I/O, no YAML, no attnkb imports outside this package: it can be lifted out whole.
"""

from attnkb.kernel.attention import attention, hard_weights
from attnkb.kernel.efficient import (
    blocked_attention,
    linear_attention,
    linformer_attention,
    local_attention,
)
from attnkb.kernel.errors import KernelError
from attnkb.kernel.multihead import MultiheadParams, multi_head_attention
from attnkb.kernel.scores import SCORES
from attnkb.kernel.scores import compute as compute_scores
from attnkb.kernel.softmax import causal_mask, softmax, window_mask

__all__ = [
    "SCORES",
    "KernelError",
    "MultiheadParams",
    "attention",
    "blocked_attention",
    "causal_mask",
    "compute_scores",
    "hard_weights",
    "linear_attention",
    "linformer_attention",
    "local_attention",
    "multi_head_attention",
    "softmax",
    "window_mask",
]
