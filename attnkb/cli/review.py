"""Placeholder module registered later."""
