"""Adapters that run the core inside a host application. Only modules under
``hosts`` may import a host's own packages.
"""
