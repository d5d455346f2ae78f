"""Helpers for the tests: worker scripts run as subprocesses, and shared utilities."""
