"""attnkb: a spaced-repetition knowledge base for Markdown study notes.

The core library (this package minus ``attnkb.cli``) never prints; the CLI renders.
"""

__version__ = "0.1.0"
