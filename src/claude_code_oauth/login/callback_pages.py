"""The small pages the loopback receiver shows in the browser.

Self-contained HTML (no scripts, no external resources), everything echoed is
escaped, no secret is ever included, and every page says the tab may be closed.
"""

from __future__ import annotations

import html

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body{{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0;display:flex;
min-height:100vh;align-items:center;justify-content:center;background:#faf9f5;color:#1f1e1d}}
main{{max-width:32rem;padding:2rem;border-radius:12px;background:#fff;
box-shadow:0 1px 4px rgba(0,0,0,.12)}}
h1{{font-size:1.3rem;margin:0 0 .75rem;color:{colour}}}
p{{line-height:1.5;margin:.5rem 0}}
</style></head>
<body><main><h1 id="result" data-ok="{ok}">{heading}</h1>
<p>{message}</p>
<p>You may close this tab and return to the terminal.</p>
</main></body></html>
"""

#: Headers for every page: nothing cached, no referrer, nothing loaded, no framing.
SECURITY_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def render(title: str, heading: str, message: str, *, ok: bool) -> bytes:
    """A page; ``title``, ``heading`` and ``message`` are escaped here."""
    page = _TEMPLATE.format(
        title=html.escape(title),
        heading=html.escape(heading),
        message=html.escape(message),
        colour="#2f7d32" if ok else "#b3261e",
        ok="true" if ok else "false",
    )
    return page.encode("utf-8")


def signed_in(detail: str = "") -> bytes:
    return render(
        "Signed in - claude-code-oauth",
        "Signed in to Claude",
        detail or "claude-code-oauth received your sign-in.",
        ok=True,
    )


def received() -> bytes:
    return render(
        "Sign-in received - claude-code-oauth",
        "Sign-in received",
        "The terminal is finishing the sign-in; check it for the result.",
        ok=True,
    )


def failed(message: str) -> bytes:
    return render("Sign-in failed - claude-code-oauth", "Sign-in failed", message, ok=False)


def already_done() -> bytes:
    return render(
        "Already handled - claude-code-oauth",
        "This sign-in was already handled",
        "The login in progress has already received its answer.",
        ok=False,
    )


def wrong_state() -> bytes:
    return render(
        "Unexpected response - claude-code-oauth",
        "This response does not belong to the sign-in in progress",
        "It may come from an older browser tab. The terminal is still waiting: use the link "
        "it printed most recently.",
        ok=False,
    )


def not_found() -> bytes:
    return render("Not found - claude-code-oauth", "Not found", "Nothing here.", ok=False)


def refused_host() -> bytes:
    return render(
        "Refused - claude-code-oauth",
        "Refused",
        "This sign-in receiver only answers requests addressed to localhost.",
        ok=False,
    )


def redirecting() -> bytes:
    """The body of the start address's 302 (browsers follow the Location at once)."""
    return render(
        "Redirecting - claude-code-oauth",
        "Redirecting to Claude",
        "Your browser should continue to Claude's sign-in page.",
        ok=True,
    )


def start_used() -> bytes:
    return render(
        "Link already used - claude-code-oauth",
        "This sign-in link was already used",
        "Each login opens it once. Use the sign-in URL printed in the terminal instead.",
        ok=False,
    )
