"""Code Puppy adapter: the hooks behind our slash commands (:mod:`.commands`)
and the model type of our ``claude-code-*`` entries.

Code Puppy imports this module at start-up through the ``code_puppy.plugins``
entry point. Importing it only registers callbacks: httpx, anthropic,
pydantic-ai and rich are loaded when a command runs or a model is built. All
the work lives in the core modules; this file maps Code Puppy's hooks to them
and turns every failure into one ``emit_error`` line (never an exception into
Code Puppy).
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from code_puppy import callbacks

from .messages import Emit
from .owner import OWNER
from .settings import host_settings
from .supersede import supersede_bundled, supersede_when_loaded

_registry_cache: tuple[tuple[int, int, int], dict[str, Any]] | None = None
_warned_login_expiry = False
_registry_error: str | None = None


def _error(text: str) -> None:
    Emit().error(text)


# -- our models ------------------------------------------------------------------


def _our_entries() -> dict[str, Any]:
    """Our marked entries in extra_models.json, cached on the file's identity."""
    global _registry_cache
    from ...models.registry import registered_models

    settings = host_settings()
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


def _registry_problem() -> tuple[dict[str, Any], str | None]:
    """Our entries, or ``{}`` and the one line that says why they cannot be read."""
    from ...errors import ClaudeOAuthError

    try:
        return dict(_our_entries()), None
    except ClaudeOAuthError as exc:
        return {}, f"claude-code-oauth: cannot read the model registry: {exc.reason}"
    except Exception as exc:
        return {}, f"claude-code-oauth: cannot read the model registry ({type(exc).__name__})."


def _load_models_config() -> dict[str, Any]:
    # Returned as plugin models so ours win over same-named claude-code-* entries the
    # bundled plugin keeps in claude_models.json (which Code Puppy merges later).
    global _registry_error
    entries, problem = _registry_problem()
    # Code Puppy reloads the model list very often: say it once per problem.
    if problem is not None and problem != _registry_error:
        _error(problem)
    _registry_error = problem
    return entries


def _registry_problem_was_reported() -> None:
    """After a command that reported the models file's state itself (auth,
    logout): the next model reload must not say the same problem again."""
    global _registry_error
    _registry_error = _registry_problem()[1]


def _build_model(model_name: str, model_config: dict[str, Any], config: Any) -> Any:
    """Our model for an entry (either of our types): pinned entries (``oauth_profile``)
    always use their profile; the others ask which profile is active on every request.
    A Console sign-in's requests carry its API key (``x-api-key``, no OAuth header).

    Being signed out (or a login that ended) does not stop the model being built:
    each request then says so in one line (Code Puppy would otherwise fall back to
    another model and send the prompt elsewhere)."""
    global _warned_login_expiry
    from ...errors import ClaudeOAuthError
    from ...models.anthropic_model import build_model
    from ...models.registry import pinned_profile
    from ...profiles.token_source import ProfileTokenSource, export_active_token
    from ...profiles.usage_watch import ProfileUsageWatch
    from .model_choices import choices_for
    from .model_errors import on_failure

    _speak_code_puppy()
    try:
        settings = host_settings()
        pinned = pinned_profile(model_config)
        if pinned is not None:
            from ...config_rules import require_profile_name

            require_profile_name(pinned, "oauth_profile")
        else:
            with contextlib.suppress(ClaudeOAuthError):
                export_active_token(settings)
        source = ProfileTokenSource(settings, pinned)
        record = None
        with contextlib.suppress(ClaudeOAuthError):
            record = source.current()
        if record is not None and not _warned_login_expiry:
            import time

            from ...account.status import login_expiry_warning

            warning = login_expiry_warning(record, time.time())
            if warning:
                _warned_login_expiry = True
                Emit().warning(warning)
        settings.extra_usage  # noqa: B018 - a bad value is reported here, once per model
        watch = ProfileUsageWatch(source, Emit().warning)
        return build_model(
            model_name,
            model_config,
            settings,
            source,
            observers=(watch,),
            on_failure=on_failure(model_name),
            usage_guard=watch,
            host_choices=choices_for(model_name),
            on_warning=Emit().warning,
        )
    except ClaudeOAuthError as exc:
        _error(f"{model_name}: {exc}")
        return None


def _model_types() -> list[dict[str, Any]]:
    # Subscription entries and Console (API-key) entries: one handler, whose model sends
    # whatever credential the profile behind each request holds (x-api-key for a key).
    from ...models.registry import MODEL_TYPES

    return [{"type": model_type, "handler": _build_model} for model_type in MODEL_TYPES]


# -- commands ----------------------------------------------------------------------


def _custom_command(command: str, name: str) -> bool | None:
    from .commands import COMMANDS

    if name not in COMMANDS:
        return None
    _speak_code_puppy()
    supersede_bundled(OWNER, _is_our_model)
    from . import messages, supersede

    # One message per command, in order (see messages.command_output).
    with messages.command_output():
        _run_command(command, name)
        problem = supersede.failure()
        if problem:
            Emit().warning(problem)
    if name in _COMMANDS_THAT_REPORT_THE_REGISTRY:
        _registry_problem_was_reported()
    return True


#: Commands whose output already names a problem with the models file.
_COMMANDS_THAT_REPORT_THE_REGISTRY = frozenset({"claude-code-auth", "claude-code-logout"})


def _run_command(command: str, name: str) -> None:
    """Run ``/name``; every failure becomes one reported line, never an exception."""
    from ...errors import ClaudeOAuthError, LoginCancelled
    from .commands import run

    _sweep()
    try:
        run(command, name)
    except LoginCancelled:
        # Ctrl-C: the terminal may have echoed "^C" where the line would start.
        Emit().info("")
        Emit().warning("Sign-in cancelled; nothing was changed.")
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


def _custom_help() -> list[tuple[str, str]]:
    from .commands import COMMANDS

    return [(command.name, command.description) for command in COMMANDS.values()]


def _startup() -> None:
    # Covers a bundled plugin that loaded after us.
    supersede_bundled(OWNER, _is_our_model)
    _sweep()


def _sweep() -> None:
    """Clear what killed writers left in the data directory, adopting tokens a failed
    save kept there (see :func:`claude_code_oauth.tokens.store.sweep`); never raises."""
    try:
        from ...tokens.store import sweep

        sweep(host_settings())
    except Exception:
        return


def _speak_code_puppy() -> None:
    """Everything this process shows reaches Code Puppy's prompt: errors raised deep
    in the core name /claude-code-auth, not a shell command. Said when our code first
    runs (a command, a model built), not at import: start-up stays light."""
    from ...hints import set_host_hints
    from .messages import code_puppy_hints

    set_host_hints(code_puppy_hints())


callbacks.register_callback("custom_command", _custom_command)
callbacks.register_callback("custom_command_help", _custom_help)
callbacks.register_callback("register_model_type", _model_types)
callbacks.register_callback("load_models_config", _load_models_config)
callbacks.register_callback("startup", _startup)
supersede_when_loaded(OWNER, _is_our_model)
