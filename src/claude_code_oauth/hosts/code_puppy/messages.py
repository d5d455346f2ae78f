"""Our words in Code Puppy: its ``emit_*`` messaging behind the core's Reporter."""

from __future__ import annotations


class Emit:
    """A :class:`claude_code_oauth.operations.Reporter` over Code Puppy's messaging."""

    def info(self, text: str) -> None:
        from code_puppy.messaging import emit_info

        emit_info(text)

    def success(self, text: str) -> None:
        from code_puppy.messaging import emit_success

        emit_success(text)

    def warning(self, text: str) -> None:
        from code_puppy.messaging import emit_warning

        emit_warning(text)

    def error(self, text: str) -> None:
        from code_puppy.messaging import emit_error

        emit_error(text)
