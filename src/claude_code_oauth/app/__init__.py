"""The use cases both front ends run — sign in, sign out, switch, status, usage, doctor,
profiles, models, move storage — one module each, written once: each takes the settings, the
command's options and a :class:`~.reporter.Reporter` (or returns its lines), and the CLI
(:mod:`claude_code_oauth.cli`) and Code Puppy's slash commands
(:mod:`claude_code_oauth.hosts.code_puppy`) only parse arguments and render.

Imports nothing: each module imports what it needs when it runs, so the ``usage`` fast
path and the plugin's start-up pay only for the use case they run.
"""
