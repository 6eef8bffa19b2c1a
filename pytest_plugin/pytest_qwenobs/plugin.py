"""The pytest11 entry point: hooks and fixtures only."""
