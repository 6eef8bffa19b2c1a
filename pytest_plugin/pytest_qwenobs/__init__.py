"""pytest-qwenobs: fixtures for testing Qwen apps against a fake DashScope, cassettes, span assertions."""
