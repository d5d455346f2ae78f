"""Drive a real Code Puppy from a script: slash commands and one model request.

    python -m claude_code_oauth.testing.puppy_session /claude-code-status \\
        /claude-code-auth --ask claude-code-<model> "Say hello"

Each slash command goes through Code Puppy's own ``handle_command`` after its
plugins are loaded (ours through its entry point); the messages Code Puppy
emits are printed as ``[type] text``. ``--ask MODEL PROMPT`` builds MODEL with
Code Puppy's model factory and runs one pydantic-ai agent turn. The caller sets
up the environment (HOME, emulator endpoints, BROWSER). Used by ``make demo``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Sequence

_SECRET = re.compile(r"sk-ant-o[ar]t01-[A-Za-z0-9_\-]+")


def _text(content: object) -> str:
    plain = getattr(content, "plain", None)
    return _SECRET.sub("[token]", plain if isinstance(plain, str) else str(content))


def run(steps: Sequence[str], ask: tuple[str, str] | None) -> int:
    from code_puppy import plugins

    plugins.load_plugin_callbacks()
    from code_puppy.command_line.command_handler import handle_command
    from code_puppy.messaging import get_global_queue

    queue = get_global_queue()
    for step in steps:
        print(f"puppy> {step}", flush=True)
        queue.clear_startup_buffer()
        handle_command(step)
        for message in queue.get_buffered_messages():
            for line in _text(message.content).splitlines():
                print(f"  [{message.type.value}] {line}", flush=True)
        queue.clear_startup_buffer()
    if ask:
        from code_puppy.model_factory import ModelFactory
        from pydantic_ai import Agent

        name, prompt = ask
        print(f"puppy> (agent turn on {name}) {prompt}", flush=True)
        model = ModelFactory.get_model(name, ModelFactory.load_config())
        answer = asyncio.run(Agent(model).run(prompt))
        print(f"  [answer] {_text(answer.output)}", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("steps", nargs="*", help="slash commands, run in order")
    parser.add_argument("--ask", nargs=2, metavar=("MODEL", "PROMPT"))
    args = parser.parse_args(argv)
    return run(args.steps, tuple(args.ask) if args.ask else None)


if __name__ == "__main__":
    sys.exit(main())
