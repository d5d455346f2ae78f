"""The doctor's check of this Python's Anthropic stack: the anthropic SDK, the HTTP
library it is built on, and pydantic-ai (see :mod:`claude_code_oauth.models.host_stack`).

It sends nothing: one request is built and answered in memory. Without pydantic-ai
(the plain ``claude-code-oauth`` command, no Code Puppy here) it passes and says there
is nothing to check; it imports nothing then.
"""

from __future__ import annotations

from .check import Check


def host_stack() -> Check:
    """Whether our models (and Code Puppy's Anthropic ones) can run in this Python."""
    from ..models.host_stack import check

    stack = check()
    if not stack.present:
        return Check(
            "host_stack",
            True,
            "no pydantic-ai in this Python (Code Puppy is not installed here): nothing to check",
        )
    if stack.cause is None:
        return Check(
            "host_stack",
            True,
            f"{stack.describe()}: they work together (a request built and read back in memory)",
        )
    on = f"; the SDK is on {stack.http}" if stack.http else ""
    return Check(
        "host_stack",
        False,
        f"{stack.problem} ({stack.cause}{on}): no Anthropic model can run in this Python",
        f"`{stack.fix}`, then restart Code Puppy.",
    )
