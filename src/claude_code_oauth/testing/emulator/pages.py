"""HTML pages the emulator serves. Every value placed in a page is HTML-escaped."""

from __future__ import annotations

from html import escape

CONSENT_ACTION = "/oauth/authorize/decision"

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}"
    "code{font-size:1.1rem;word-break:break-all;background:#f4f1ea;padding:.4rem;display:block}"
    "button{font-size:1rem;margin-right:.5rem;padding:.4rem 1.2rem}"
)


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )


def consent_page(
    request_id: str,
    client_id: str,
    scope: str,
    redirect_uri: str,
    *,
    accounts: list[str] | None = None,
    selected: str | None = None,
    console: bool = False,
) -> str:
    """The Approve/Deny form; ``request_id`` is the single-use hidden field. With
    ``accounts`` (emails) the user also picks which account to approve as (radio
    ``account``, ``selected`` checked)."""
    scopes = "".join(f"<li>{escape(s)}</li>" for s in scope.split())
    choice = ""
    if accounts:
        options = "".join(
            f'<label><input type="radio" name="account" value="{escape(email)}"'
            f"{' checked' if email == selected else ''}> {escape(email)}</label><br>"
            for email in accounts
        )
        choice = f"<fieldset><legend>Continue as</legend>{options}</fieldset>"
    heading = (
        "Authorize access to your Anthropic Console organization"
        if console
        else "Authorize access to your Claude account"
    )
    note = "<p>It will be able to create an API key in your organization.</p>" if console else ""
    body = (
        f"<h1>{heading}</h1>"
        f"<p>The application <strong>{escape(client_id)}</strong> asks for:</p>"
        f"<ul>{scopes}</ul>{note}"
        f"<p>You will be sent back to <strong>{escape(redirect_uri)}</strong>.</p>"
        f'<form method="post" action="{CONSENT_ACTION}">'
        f'<input type="hidden" name="request_id" value="{escape(request_id)}">'
        f"{choice}"
        '<button type="submit" name="decision" value="approve">Approve</button>'
        '<button type="submit" name="decision" value="deny">Deny</button>'
        "</form>"
    )
    title = "Anthropic Console" if console else "Claude emulator"
    return _page(f"Authorize – {title}", body)


def error_page(title: str, message: str) -> str:
    """An error shown to the user instead of redirecting (unknown client, bad redirect_uri)."""
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>")


def manual_code_page(code: str, state: str) -> str:
    """The page that shows ``code#state`` for the user to paste back into the client."""
    body = (
        "<h1>Authentication code</h1>"
        "<p>Copy this code and paste it into the application:</p>"
        f'<code id="code">{escape(code)}#{escape(state)}</code>'
    )
    return _page("Authentication code – Claude emulator", body)


def manual_error_page(error: str, description: str) -> str:
    body = (
        "<h1>Authorization failed</h1>"
        f'<p id="error">{escape(error)}</p><p>{escape(description)}</p>'
    )
    return _page("Authorization failed – Claude emulator", body)


def cloudflare_challenge_page() -> str:
    """Shaped like Cloudflare's interstitial, which real clients meet instead of JSON."""
    body = (
        '<div class="main-wrapper"><h1>claude.ai</h1>'
        "<h2>Verifying you are human. This may take a few seconds.</h2>"
        "<noscript>Enable JavaScript and cookies to continue</noscript></div>"
    )
    return _page("Just a moment...", body)


def bad_gateway_page() -> str:
    body = "<center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center>"
    return _page("502 Bad Gateway", body)
