"""Outside formats: one module each, reading or writing it and handing plain records to the core."""
