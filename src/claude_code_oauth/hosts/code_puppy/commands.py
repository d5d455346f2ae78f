"""The slash commands: ``/claude-code-auth``, ``/claude-code-status``,
``/claude-code-usage``, ``/claude-code-logout``, ``/claude-code-switch``,
``/claude-code-fast``, ``/claude-code-doctor``, ``/claude-code-storage``.

Each :class:`SlashCommand` names its description, the options it takes (the
CLI's own definitions, so both accept the same arguments) and what it runs.
Arguments are parsed by :mod:`claude_code_oauth.hosts.arguments`: ``--help``
shows the command's help, an unknown option is one line ending with the usage.
The work itself is the application layer's (:mod:`claude_code_oauth.app`, one module
per use case, shared with the CLI); here only what is Code Puppy's own (its Ctrl-C,
its model setting, the token variable its session reads, the bundled plugin) and the
rendering through Code Puppy's messaging (:mod:`.messages`). Each command imports its
use case when it runs: this module is imported for ``/help`` and for any slash command
(to learn whether it is ours), which must not pay for every use case.
"""

from __future__ import annotations

import argparse
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


def _profile(args: argparse.Namespace) -> str | None:
    from ...command_options import profile_override

    return profile_override(args)


def _auth(args: argparse.Namespace) -> None:
    from ...app.sign_in import SignInOptions, sign_in
    from ...profiles.token_source import export_active_token
    from .ctrl_c import cancels

    options = SignInOptions.from_arguments(args)
    emit = messages.Emit()
    # Ctrl-C cancels the wait (Code Puppy's own SIGINT guard would swallow it).
    _, change = sign_in(host_settings(_profile(args)), emit, options, cancel_scope=cancels)
    export_active_token(host_settings())
    # From what was just registered: re-reading the file would report a registry
    # problem a second time (sign_in already warned about it).
    registered = change.registered if change else []
    if registered:
        emit.info(f"Select a model with: /set model {registered[0]}  (or /model to pick one)")


def _status(args: argparse.Namespace) -> None:
    from ...app.reporter import report
    from ...app.status import status_among_profiles
    from .supersede import bundled_present

    emit = messages.Emit()
    report(emit, status_among_profiles(host_settings(_profile(args)), hints=emit.hints))
    if bundled_present():
        from .owner import OWNER

        emit.info(
            "Code Puppy's bundled claude_code_oauth plugin is superseded by claude-code-oauth "
            f"(/plugins disable {OWNER} hands these commands back to it)."
        )


def _usage(args: argparse.Namespace) -> None:
    from ...app.usage import collect

    emit = messages.Emit()
    result = collect(host_settings(_profile(args)), refresh=args.refresh)
    for note in result.notes:
        emit.warning(note)
    if args.json:
        emit.info(result.json_text())
    else:
        for line in result.lines:
            emit.info(line)


def _usage_options(parser: argparse.ArgumentParser) -> None:
    from ...command_options import add_usage_options

    add_usage_options(parser)


def _logout(args: argparse.Namespace) -> None:
    from ...app.sign_out import sign_out
    from ...profiles.token_source import export_active_token

    emit = messages.Emit()
    selected = _selected_model()
    _, removed = sign_out(host_settings(_profile(args)), emit)
    # The variable follows the active profile: removed if that one is now signed out.
    export_active_token(host_settings())
    if selected is not None and selected in removed:
        emit.warning(
            f"Code Puppy's current model, {selected}, was one of them: choose another with "
            "/model, or sign in again with /claude-code-auth."
        )


def _selected_model() -> str | None:
    """The model Code Puppy is set to (its ``model`` setting), if any. Read without
    Code Puppy's validation, which would load the model list — and report a damaged
    registry a second time. Never fails the command."""
    try:
        from code_puppy.config import get_value

        name = get_value("model")
    except Exception:
        return None
    return name if isinstance(name, str) else None


def _switch(args: argparse.Namespace) -> None:
    from ...app.switch import switch
    from ...config_rules import require_profile_name
    from ...profiles.token_source import export_active_token

    emit = messages.Emit()
    if args.name is None:
        _list_profiles(emit)
        return
    name = require_profile_name(args.name, "/claude-code-switch")
    switch(host_settings(), name, emit)
    export_active_token(host_settings())


def _list_profiles(emit: messages.Emit) -> None:
    from ...app.profiles import profile_list

    listing = profile_list(host_settings())
    if listing.problem is not None:
        emit.warning(listing.problem)
    emit.info("Claude profiles (* active):")
    for line in listing.lines():
        emit.info(line)
    emit.info(
        "Switch with /claude-code-switch NAME; add one with /claude-code-auth --profile NAME."
    )


def _doctor(args: argparse.Namespace) -> None:
    from ...app.doctor import checkup

    emit = messages.Emit()
    result = checkup(host_settings(_profile(args)), inference=args.inference, notice=emit.warning)
    if args.json:
        emit.info(result.json_text())
        return
    # One message: Code Puppy renders separate messages in no guaranteed order.
    (emit.success if result.ok else emit.warning)("\n".join(result.lines()))


def _doctor_options(parser: argparse.ArgumentParser) -> None:
    from ...command_options import add_doctor_options

    add_doctor_options(parser)


def _storage(args: argparse.Namespace) -> None:
    from ...app.move_storage import move_storage, where_stored
    from ...app.reporter import report

    emit = messages.Emit()
    config = host_settings(_profile(args))
    if args.to is None:
        report(emit, where_stored(config, only=config.profile if args.profile else None))
        emit.info("Move them with /claude-code-storage keyring (or file).")
        return
    move_storage(config, args.to, emit, every_profile=args.all_profiles)


def _storage_options(parser: argparse.ArgumentParser) -> None:
    from ...command_options import add_storage_options

    parser.add_argument(
        "to",
        nargs="?",
        choices=("keyring", "file"),
        help="move the credentials to the OS keyring, or back into the token file "
        "(none: say where each profile's live)",
    )
    add_storage_options(parser)


def _fast(args: argparse.Namespace) -> None:
    from ...models.capabilities import fast_mode_supported
    from .model_choices import FAST_COST, toggle_fast

    emit = messages.Emit()
    prefix = host_settings().prefix
    model = _session_model()
    if not model or not model.startswith(prefix):
        emit.warning(
            f"Fast mode applies to {prefix}* models; select one with /model first "
            f"(the current model is {model or 'not set'})."
        )
        return
    if not fast_mode_supported():
        emit.warning(
            "Fast mode cannot be sent by this Code Puppy: its pydantic-ai has no `speed` "
            "setting (nothing was changed; a newer Code Puppy has it)."
        )
        return
    wanted = None if args.state is None else args.state == "on"
    if toggle_fast(model, wanted):
        emit.success(
            f"Fast mode on for {model}: its requests ask Claude for faster output "
            f"(speed: fast). {FAST_COST}"
        )
    else:
        emit.info(f"Fast mode off for {model}: standard speed.")


def _session_model() -> str | None:
    """The model this Code Puppy session uses (its ``model`` setting if that fails)."""
    try:
        from code_puppy.config import get_global_model_name

        name = get_global_model_name()
    except Exception:
        return _selected_model()
    return name if isinstance(name, str) else None


def _fast_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "state", nargs="?", choices=("on", "off"), help="turn it on or off (none: toggle)"
    )


def _login_options(parser: argparse.ArgumentParser) -> None:
    from ...command_options import add_login_options

    add_login_options(parser)


def _profile_option(parser: argparse.ArgumentParser) -> None:
    from ...command_options import add_profile_option

    add_profile_option(parser)


def _switch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "name", metavar="NAME", nargs="?", help="the profile to make active (none: list them)"
    )


COMMANDS: dict[str, SlashCommand] = {
    command.name: command
    for command in (
        SlashCommand(
            "claude-code-auth",
            "Sign in to Claude (browser + PKCE; --console: an API key) and register models",
            _auth,
            (_login_options,),
        ),
        SlashCommand(
            "claude-code-status",
            "Show the Claude sign-in: account, expiry, usage, token file (no secrets)",
            _status,
            (_profile_option,),
        ),
        SlashCommand(
            "claude-code-usage",
            "Show the Claude plan, usage limits with reset times, and extra usage",
            _usage,
            (_usage_options, _profile_option),
        ),
        SlashCommand(
            "claude-code-logout",
            "Revoke the Claude login; remove its tokens and the claude-code-* models",
            _logout,
            (_profile_option,),
        ),
        SlashCommand(
            "claude-code-switch",
            "List the Claude profiles, or make one active: /claude-code-switch NAME",
            _switch,
            (_switch_options,),
        ),
        SlashCommand(
            "claude-code-fast",
            "Fast mode on/off for the current claude-code-* model (billed at a higher rate)",
            _fast,
            (_fast_options,),
        ),
        SlashCommand(
            "claude-code-doctor",
            "Check the Claude setup: config, files, sign-in, endpoints (no secrets)",
            _doctor,
            (_doctor_options, _profile_option),
        ),
        SlashCommand(
            "claude-code-storage",
            "Where the Claude credentials live; move them: /claude-code-storage keyring|file",
            _storage,
            (_storage_options,),
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
