"""Code Puppy adapter: ``/claude-code-auth``, ``/claude-code-status``,
``/claude-code-logout`` and the model type of our ``claude-code-*`` entries.

Code Puppy imports this module at start-up through the ``code_puppy.plugins``
entry point. Importing it only registers callbacks: httpx, anthropic,
pydantic-ai and rich are loaded when a command runs or a model is built. All
the work lives in the core modules; this file maps Code Puppy's hooks to them
and turns every failure into one ``emit_error`` line (never an exception into
Code Puppy).
"""

from __future__ import annotations

import os
from typing import Any

from code_puppy import callbacks

from .code_puppy_supersede import bundled_present, supersede_bundled, supersede_when_loaded

#: Our entry-point name (distinct from the bundled plugin's, so each can be disabled).
ENTRY_POINT_NAME = "claude_code_oauth_pkce"
OWNER = callbacks.get_loading_context() or ENTRY_POINT_NAME

HELP = [
    ("claude-code-auth", "Sign in to Claude (browser + PKCE) and register claude-code-* models"),
    ("claude-code-status", "Show the Claude sign-in: account, expiry, token file (no secrets)"),
    ("claude-code-logout", "Remove the Claude tokens and the registered claude-code-* models"),
]
_COMMANDS = {name for name, _ in HELP}
#: Status lines that report a problem (shown as warnings).
_registry_cache: tuple[tuple[int, int, int], dict[str, Any]] | None = None
_warned_login_expiry = False
_registry_error: str | None = None


def _settings() -> Any:
    from code_puppy import config as cp_config

    from .config import Settings, env_name

    overrides = {}
    if not os.environ.get(env_name("data_dir")):
        # Code Puppy's own DATA_DIR, read at call time (tests and users may move it).
        overrides["data_dir"] = str(cp_config.DATA_DIR)
    return Settings(overrides)


class _Emit:
    """A :class:`operations.Reporter` over Code Puppy's messaging."""

    def info(self, text: str) -> None:
        from code_puppy.messaging import emit_info

        emit_info(text)

    def success(self, text: str) -> None:
        from code_puppy.messaging import emit_success

        emit_success(text)

    def warning(self, text: str) -> None:
        from code_puppy.messaging import emit_warning

        emit_warning(text)


def _error(text: str) -> None:
    from code_puppy.messaging import emit_error

    emit_error(text)


# -- our models ------------------------------------------------------------------


def _our_entries() -> dict[str, Any]:
    """Our marked entries in extra_models.json, cached on the file's identity."""
    global _registry_cache
    from .model_registry import registered_models

    settings = _settings()
    try:
        info = os.stat(settings.models_path)
    except OSError:
        return {}
    key = (info.st_ino, info.st_size, info.st_mtime_ns)
    if _registry_cache is None or _registry_cache[0] != key:
        _registry_cache = (key, registered_models(settings))
    return _registry_cache[1]


def _is_our_model(model_name: str) -> bool:
    try:
        return model_name in _our_entries()
    except Exception:
        return False


def _load_models_config() -> dict[str, Any]:
    # Returned as plugin models so ours win over same-named claude-code-* entries the
    # bundled plugin keeps in claude_models.json (which Code Puppy merges later).
    global _registry_error
    try:
        entries = dict(_our_entries())
    except Exception as exc:
        # Code Puppy reloads the model list very often: say it once per problem.
        message = f"claude-code-oauth: cannot read the model registry: {exc}"
        if message != _registry_error:
            _registry_error = message
            _error(message)
        return {}
    _registry_error = None
    return entries


def _build_model(model_name: str, model_config: dict[str, Any], config: Any) -> Any:
    global _warned_login_expiry
    from .anthropic_model import build_model
    from .errors import ClaudeOAuthError
    from .token_provider import export_to_environ, provider_for

    try:
        settings = _settings()
        provider = provider_for(settings)
        export_to_environ(provider)
        record = provider.current()
        if record is not None and not _warned_login_expiry:
            import time

            from .status import login_expiry_warning

            warning = login_expiry_warning(record, time.time())
            if warning:
                _warned_login_expiry = True
                _Emit().warning(warning)
        return build_model(model_name, model_config, settings, provider)
    except ClaudeOAuthError as exc:
        _error(f"{model_name}: {exc}")
        return None


def _model_types() -> list[dict[str, Any]]:
    from .model_registry import MODEL_TYPE

    return [{"type": MODEL_TYPE, "handler": _build_model}]


# -- commands ----------------------------------------------------------------------


def _auth(args: list[str]) -> None:
    from . import operations
    from .token_provider import export_to_environ, provider_for

    settings = _settings()
    _, change = operations.login_and_register(
        settings, _Emit(), open_browser="--no-browser" not in args
    )
    export_to_environ(provider_for(settings))
    # From what was just registered: re-reading the file would report a registry
    # problem a second time (login_and_register already warned about it).
    registered = change.registered if change else []
    if registered:
        _Emit().info(f"Select a model with: /set model {registered[0]}  (or /model to pick one)")


def _status() -> None:
    from . import status

    emit = _Emit()
    for level, line in status.render_levels(status.collect(_settings())):
        getattr(emit, level)(line)
    if bundled_present():
        emit.info(
            "Code Puppy's bundled claude_code_oauth plugin is superseded by claude-code-oauth "
            f"(/plugins disable {OWNER} hands these commands back to it)."
        )


def _logout() -> None:
    from . import operations

    settings = _settings()
    operations.logout(settings, _Emit())
    os.environ.pop(settings.api_key_env_var, None)


def _custom_command(command: str, name: str) -> bool | None:
    if name not in _COMMANDS:
        return None
    supersede_bundled(OWNER, _is_our_model)
    from .errors import ClaudeOAuthError

    try:
        args = command.split()[1:]
        if name == "claude-code-auth":
            _auth(args)
        elif name == "claude-code-status":
            _status()
        else:
            _logout()
    except ClaudeOAuthError as exc:
        _error(str(exc))
    except KeyboardInterrupt:
        _error("Cancelled.")
    except Exception as exc:  # a command must never raise into Code Puppy
        # Only the type: an unexpected exception's text is not known to be secret-free.
        _error(
            f"/{name} failed unexpectedly ({type(exc).__name__}); files are only ever "
            "replaced atomically, so none is half-written."
        )
    return True


def _custom_help() -> list[tuple[str, str]]:
    return list(HELP)


def _startup() -> None:
    # Covers a bundled plugin that loaded after us.
    supersede_bundled(OWNER, _is_our_model)


callbacks.register_callback("custom_command", _custom_command)
callbacks.register_callback("custom_command_help", _custom_help)
callbacks.register_callback("register_model_type", _model_types)
callbacks.register_callback("load_models_config", _load_models_config)
callbacks.register_callback("startup", _startup)
supersede_when_loaded(OWNER, _is_our_model)
