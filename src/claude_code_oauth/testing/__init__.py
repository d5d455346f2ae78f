"""Test doubles for Claude's OAuth and API endpoints: the emulator and a scripted browser."""
