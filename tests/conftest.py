"""Deterministic Hypothesis runs for the project's own tests: the same examples every run,
no .hypothesis/ database, no deadline (a loaded 2-core CI box is slow, not wrong)."""
from hypothesis import settings

settings.register_profile("cnnlab", derandomize=True, database=None, deadline=None,
                          max_examples=100)
settings.load_profile("cnnlab")
