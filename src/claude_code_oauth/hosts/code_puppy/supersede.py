"""Take over from Code Puppy's bundled ``claude_code_oauth`` plugin, reversibly.

The bundled plugin answers four of our commands (every plugin's handler runs
for a command, so its login would start too, and its ``/claude-code-fast``
would toggle fast mode straight back) and its prompt and heartbeat hooks act on
any model named ``claude-code*`` — including ours, which would then be sent the
"You are Claude Code" identity prompt. We do not delete its hooks: each is
replaced by a wrapper that is still *owned by the bundled plugin* and that,
while our plugin is enabled, stands aside for our commands and models.
So ``/plugins disable <ours>`` gives everything back to the bundled plugin at
once, and ``/plugins disable claude_code_oauth`` still disables it.

Every Code Puppy from the first with entry-point plugins (0.0.716) to the newest
is handled by feature, never by version number:

* the bundled plugin is found by its callbacks' *owner* (``claude_code_oauth``),
  wherever it lives — inside ``code_puppy`` (0.0.716) or in the
  ``code-puppy-core-plugins`` package (later releases);
* the loading context that makes a wrapper the bundled plugin's is set with
  whichever API the host has — a token to restore (0.0.850 on) or one global
  owner to put back (before);
* superseding is all or nothing: every wrapper is registered and checked
  before any original is removed, so a failure half-way (an API that refuses, a
  registration the host silently drops) leaves the bundled plugin exactly as it
  was — the same callbacks in the same order — and :func:`failure` says why.
  Our own commands answer either way.

Only public ``code_puppy.callbacks`` functions are used; nothing here raises
into Code Puppy.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any

BUNDLED_OWNER = "claude_code_oauth"
OUR_COMMANDS = frozenset(
    {"claude-code-auth", "claude-code-status", "claude-code-logout", "claude-code-fast"}
)
_MARK = "_claude_code_oauth_superseded"
#: The bundled plugin's module ends with this, under ``code_puppy.plugins`` (0.0.716)
#: or ``code_puppy_core_plugins`` (later releases).
BUNDLED_MODULE_SUFFIX = ".claude_code_oauth.register_callbacks"
_BUNDLED_PACKAGES = ("code_puppy", "code_puppy_core_plugins")

_failure: str | None = None


class SupersedeError(Exception):
    """The bundled plugin could not be wrapped; it was left as it was."""


def failure() -> str | None:
    """Why the last attempt to supersede the bundled plugin failed (``None``: it did not)."""
    return _failure


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


@contextlib.contextmanager
def owned_by(callbacks: Any, owner: str) -> Iterator[None]:
    """Callbacks registered inside are owned by ``owner``; the previous loading
    context is restored afterwards, whichever loading-context API the host has.

    From 0.0.850 ``set_loading_context`` returns a token that
    ``clear_loading_context(token)`` restores; before, both keep one global
    owner, which we put back ourselves (we may be inside our own or the bundled
    plugin's import, whose loader clears it when that import ends).
    """
    previous = callbacks.get_loading_context()
    token = callbacks.set_loading_context(owner)
    try:
        if callbacks.get_loading_context() != owner:
            raise SupersedeError("Code Puppy did not accept a plugin loading context")
        yield
    finally:
        if token is not None:
            callbacks.clear_loading_context(token)
        elif previous is not None:
            callbacks.set_loading_context(previous)
        else:
            callbacks.clear_loading_context()


def _registered_as_bundled(callbacks: Any, phase: str, func: Any) -> bool:
    listed = callbacks.get_callbacks(phase, include_disabled=True)
    return any(f is func for f in listed) and callbacks.get_callback_owner(func) == BUNDLED_OWNER


def _plan(
    callbacks: Any, ours_enabled: Callable[[], bool], is_our_model: Callable[[str], bool]
) -> tuple[list[tuple[str, Any, Any]], int]:
    """``([(phase, original, wrapper)], already wrapped)`` for the bundled hooks."""
    plan: list[tuple[str, Any, Any]] = []
    done = 0
    for phase, make in _make_wrappers(ours_enabled, is_our_model).items():
        for func in callbacks.get_callbacks(phase, include_disabled=True):
            if callbacks.get_callback_owner(func) != BUNDLED_OWNER:
                continue
            if getattr(func, _MARK, False):
                done += 1
                continue
            wrapper = make(func)
            setattr(wrapper, _MARK, True)
            plan.append((phase, func, wrapper))
    return plan, done


def _swap(callbacks: Any, plan: list[tuple[str, Any, Any]]) -> None:
    """Register every wrapper (checked), then remove the originals; all or nothing."""
    registered: list[tuple[str, Any]] = []
    removed: list[tuple[str, Any]] = []
    try:
        with owned_by(callbacks, BUNDLED_OWNER):
            for phase, _, wrapper in plan:
                callbacks.register_callback(phase, wrapper)
                if not _registered_as_bundled(callbacks, phase, wrapper):
                    # 0.0.850+ drops a registration it considers late, with only a log line.
                    raise SupersedeError(f"Code Puppy did not register the {phase} wrapper")
                registered.append((phase, wrapper))
        for phase, original, _ in plan:
            if not callbacks.unregister_callback(phase, original):
                raise SupersedeError(f"the bundled {phase} hook could not be unregistered")
            removed.append((phase, original))
    except BaseException:
        for phase, wrapper in registered:
            with contextlib.suppress(Exception):
                callbacks.unregister_callback(phase, wrapper)
        if removed:  # cannot happen with the public API; put the originals back anyway
            with contextlib.suppress(Exception), owned_by(callbacks, BUNDLED_OWNER):
                for phase, original in removed:
                    callbacks.register_callback(phase, original)
        raise


def supersede_bundled(our_owner: str, is_our_model: Callable[[str], bool]) -> int:
    """Wrap the bundled plugin's hooks (idempotent); returns how many are wrapped now.

    Never raises: on failure the bundled plugin is left as it was, ``0`` is
    returned and :func:`failure` says why.
    """
    global _failure
    try:
        from code_puppy import callbacks

        def ours_enabled() -> bool:
            return bool(callbacks.is_callback_owner_enabled(our_owner))

        plan, done = _plan(callbacks, ours_enabled, is_our_model)
        if plan:
            _swap(callbacks, plan)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, SupersedeError) else type(exc).__name__
        _failure = (
            f"Code Puppy's bundled claude_code_oauth plugin could not be stood aside "
            f"({reason}), so it answers /claude-code-* commands too. "
            "/plugins disable claude_code_oauth turns it off."
        )
        return 0
    _failure = None
    return done + len(plan)


def _is_bundled_module(name: str) -> bool:
    return name.endswith(BUNDLED_MODULE_SUFFIX) and name.split(".", 1)[0] in _BUNDLED_PACKAGES


class _WhenBundledLoads:
    """A ``sys.meta_path`` finder: run ``then()`` right after the bundled
    plugin's module has executed (and registered its hooks).

    Code Puppy loads entry points sorted by name, so the core-plugins package
    normally comes before us and is wrapped when we load; 0.0.716 loads its
    in-tree copy after every entry point. This covers any order without waiting
    for the ``startup`` phase, which a direct ``handle_command`` never fires.
    """

    def __init__(self, then: Callable[[], object]) -> None:
        self._then = then

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if not _is_bundled_module(name):
            return None
        import sys
        from importlib.util import find_spec

        if self in sys.meta_path:  # one module per process; get out of the way
            sys.meta_path.remove(self)
        spec = find_spec(name)
        loader = getattr(spec, "loader", None)
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        original = loader.exec_module
        then = self._then

        def exec_module(module: Any) -> None:
            original(module)
            with contextlib.suppress(Exception):  # never break the bundled plugin's import
                then()

        loader.exec_module = exec_module  # this loader instance serves this import only
        return spec


def supersede_when_loaded(our_owner: str, is_our_model: Callable[[str], bool]) -> None:
    """Wrap the bundled plugin now, or as soon as it is imported if it is not yet."""
    import sys

    supersede_bundled(our_owner, is_our_model)
    if not any(_is_bundled_module(name) for name in list(sys.modules)):
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
