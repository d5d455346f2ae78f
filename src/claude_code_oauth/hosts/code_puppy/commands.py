"""The slash commands: ``/claude-code-auth``, ``/claude-code-status``, ``/claude-code-logout``.

Each :class:`SlashCommand` names its description, the options it takes (the
CLI's own definitions, so both accept the same arguments) and what it runs.
Arguments are parsed by :mod:`claude_code_oauth.hosts.arguments`: ``--help``
shows the command's help, an unknown option is one line ending with the usage.
The work itself is the core's (:mod:`claude_code_oauth.operations`); output
goes through Code Puppy's messaging (:mod:`.messages`).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass

from . import messages
from .settings import host_settings


@dataclass(frozen=True)
class SlashCommand:
    name: str
    description: str
    run: Callable[[argparse.Namespace], None]
    options: tuple[Callable[[argparse.ArgumentParser], None], ...] = ()


def _auth(args: argparse.Namespace) -> None:
    from ... import operations
    from ...tokens.provider import export_to_environ, provider_for
    from .ctrl_c import cancels

    settings = host_settings()
    emit = messages.Emit()
    open_browser = not args.no_browser
    # Ctrl-C cancels the wait (Code Puppy's own SIGINT guard would swallow it).
    if args.no_models:
        operations.login(
            settings, emit, open_browser=open_browser, timeout=args.timeout, cancel_scope=cancels
        )
        change = None
    else:
        _, change = operations.login_and_register(
            settings, emit, open_browser=open_browser, timeout=args.timeout, cancel_scope=cancels
        )
    export_to_environ(provider_for(settings))
    # From what was just registered: re-reading the file would report a registry
    # problem a second time (login_and_register already warned about it).
    registered = change.registered if change else []
    if registered:
        emit.info(f"Select a model with: /set model {registered[0]}  (or /model to pick one)")


def _status(args: argparse.Namespace) -> None:
    from ...account import status
    from .supersede import bundled_present

    emit = messages.Emit()
    for level, line in status.render_levels(status.collect(host_settings()), emit.hints):
        getattr(emit, level)(line)
    if bundled_present():
        from .plugin import OWNER

        emit.info(
            "Code Puppy's bundled claude_code_oauth plugin is superseded by claude-code-oauth "
            f"(/plugins disable {OWNER} hands these commands back to it)."
        )


def _logout(args: argparse.Namespace) -> None:
    from ... import operations

    settings = host_settings()
    operations.logout(settings, messages.Emit())
    os.environ.pop(settings.api_key_env_var, None)


def _login_options(parser: argparse.ArgumentParser) -> None:
    from ...cli.login import add_login_options

    add_login_options(parser)


COMMANDS: dict[str, SlashCommand] = {
    command.name: command
    for command in (
        SlashCommand(
            "claude-code-auth",
            "Sign in to Claude (browser + PKCE) and register claude-code-* models",
            _auth,
            (_login_options,),
        ),
        SlashCommand(
            "claude-code-status",
            "Show the Claude sign-in: account, expiry, token file (no secrets)",
            _status,
        ),
        SlashCommand(
            "claude-code-logout",
            "Remove the Claude tokens and the registered claude-code-* models",
            _logout,
        ),
    )
}


def run(command: str, name: str) -> None:
    """Parse ``command`` (the whole line) and run slash command ``name``.

    Raises :class:`~claude_code_oauth.errors.ClaudeOAuthError` (a usage error
    included) for the caller to show as one line.
    """
    from .. import arguments

    spec = COMMANDS[name]
    parser = arguments.build(spec.name, spec.description, *spec.options)
    args = arguments.parse(parser, command)
    if isinstance(args, str):
        messages.Emit().info(args)
        return
    spec.run(args)
