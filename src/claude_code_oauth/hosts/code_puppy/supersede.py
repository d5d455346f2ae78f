"""Take over from Code Puppy's bundled ``claude_code_oauth`` plugin, reversibly.

The bundled plugin answers the same three commands (every plugin's handler runs
for a command, so its login would start too) and its prompt and heartbeat hooks
act on any model named ``claude-code*`` — including ours, which would then be
sent the "You are Claude Code" identity prompt. We do not delete its hooks:
each is replaced by a wrapper that is still *owned by the bundled plugin* and
that, while our plugin is enabled, stands aside for our commands and models.
So ``/plugins disable <ours>`` gives everything back to the bundled plugin at
once, and ``/plugins disable claude_code_oauth`` still disables it.

Only public ``code_puppy.callbacks`` functions are used.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

BUNDLED_OWNER = "claude_code_oauth"
OUR_COMMANDS = frozenset({"claude-code-auth", "claude-code-status", "claude-code-logout"})
_MARK = "_claude_code_oauth_superseded"


def _help_name(entry: Any) -> str | None:
    if isinstance(entry, tuple) and entry:
        return str(entry[0]).lstrip("/")
    if isinstance(entry, str):
        return entry.split(" - ", 1)[0].strip().lstrip("/")
    return None


def _make_wrappers(
    ours_enabled: Callable[[], bool], is_our_model: Callable[[str], bool]
) -> dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]]:
    def command(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def wrapper(command: str, name: str) -> Any:
            if name in OUR_COMMANDS and ours_enabled():
                return None
            return original(command, name)

        return wrapper

    def help_(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def wrapper() -> Any:
            result = original()
            if not ours_enabled():
                return result
            if isinstance(result, list):
                return [e for e in result if _help_name(e) not in OUR_COMMANDS]
            return None if _help_name(result) in OUR_COMMANDS else result

        return wrapper

    def prompt(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def wrapper(model_name: str, *args: Any, **kwargs: Any) -> Any:
            if ours_enabled() and is_our_model(model_name):
                return None
            return original(model_name, *args, **kwargs)

        return wrapper

    def run_hook(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            model_name = kwargs.get("model_name", args[1] if len(args) > 1 else "")
            if ours_enabled() and is_our_model(str(model_name)):
                return None
            return await original(*args, **kwargs)

        return wrapper

    return {
        "custom_command": command,
        "custom_command_help": help_,
        "prepare_model_prompt": prompt,
        "agent_run_start": run_hook,
        "agent_run_end": run_hook,
    }


def supersede_bundled(our_owner: str, is_our_model: Callable[[str], bool]) -> int:
    """Wrap the bundled plugin's hooks (idempotent); returns how many are wrapped now."""
    from code_puppy import callbacks

    def ours_enabled() -> bool:
        return callbacks.is_callback_owner_enabled(our_owner)

    wrapped = 0
    for phase, make in _make_wrappers(ours_enabled, is_our_model).items():
        for func in callbacks.get_callbacks(phase, include_disabled=True):  # type: ignore[arg-type]
            if callbacks.get_callback_owner(func) != BUNDLED_OWNER:
                continue
            if getattr(func, _MARK, False):
                wrapped += 1
                continue
            wrapper = make(func)
            setattr(wrapper, _MARK, True)
            # Registered under the bundled plugin's name so its own enable/disable
            # switch keeps working on the wrapper.
            token = callbacks.set_loading_context(BUNDLED_OWNER)
            try:
                callbacks.unregister_callback(phase, func)  # type: ignore[arg-type]
                try:
                    callbacks.register_callback(phase, wrapper)  # type: ignore[arg-type]
                except Exception:
                    callbacks.register_callback(phase, func)  # type: ignore[arg-type]
                    raise
            finally:
                callbacks.clear_loading_context(token)
            wrapped += 1
    return wrapped


BUNDLED_MODULE = "code_puppy_core_plugins.claude_code_oauth.register_callbacks"


class _WhenBundledLoads:
    """A one-shot ``sys.meta_path`` finder: run ``then()`` right after the bundled
    plugin's module has executed (and registered its hooks).

    Code Puppy loads entry points sorted by name, so the bundled plugin normally
    comes first and is wrapped when we load; this covers any other order without
    waiting for the ``startup`` phase, which a direct ``handle_command`` never fires.
    """

    def __init__(self, then: Callable[[], object]) -> None:
        self._then = then

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != BUNDLED_MODULE:
            return None
        import sys
        from importlib.util import find_spec

        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = find_spec(name)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        original = loader.exec_module
        then = self._then

        def exec_module(module: Any) -> None:
            original(module)
            then()

        loader.exec_module = exec_module  # this loader instance serves this import only
        return spec


def supersede_when_loaded(our_owner: str, is_our_model: Callable[[str], bool]) -> None:
    """Wrap the bundled plugin now, or as soon as it is imported if it is not yet."""
    import sys

    supersede_bundled(our_owner, is_our_model)
    if BUNDLED_MODULE not in sys.modules:
        sys.meta_path.insert(
            0, _WhenBundledLoads(lambda: supersede_bundled(our_owner, is_our_model))
        )


def bundled_present() -> bool:
    """Whether the bundled plugin is loaded and enabled in this process."""
    from code_puppy import callbacks

    return callbacks.is_callback_owner_enabled(BUNDLED_OWNER) and any(
        callbacks.get_callback_owner(func) == BUNDLED_OWNER
        for func in callbacks.get_callbacks("custom_command", include_disabled=True)
    )
