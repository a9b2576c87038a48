"""Spaced repetition: cards from notes, FSRS scheduling, the review log, review sessions."""
