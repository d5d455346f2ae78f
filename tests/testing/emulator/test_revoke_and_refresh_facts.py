"""The token endpoint as Claude Code 2.1.332 sees it (CONTEXT §2c): the revoke endpoint,
the refresh's ``scope``, answers without a new refresh token, scopes an organization
withholds, an account on hold, and the refusals of a refresh that spend nothing."""

from __future__ import annotations

import httpx
import pytest

from claude_code_oauth.testing.emulator.control import ISSUED_SECRETS, ClaudeEmulator, token_digest
from claude_code_oauth.testing.emulator.faults import STALE_MESSAGE

BETA = "oauth-2025-04-20"
EMAIL = "emulated.user@example.com"
REVOKE = "/v1/oauth/token/revoke"


def refresh(
    emu: ClaudeEmulator, client: httpx.Client, token: str, scope: str | None = None
) -> httpx.Response:
    body = {"grant_type": "refresh_token", "refresh_token": token, "client_id": emu.client_id}
    if scope is not None:
        body["scope"] = scope
    return client.post("/v1/oauth/token", json=body)


def revoke(
    emu: ClaudeEmulator, client: httpx.Client, token: str, hint: str = "refresh_token"
) -> httpx.Response:
    body = {"token": token, "token_type_hint": hint, "client_id": emu.client_id}
    return client.post(REVOKE, json=body)


def models_status(client: httpx.Client, access_token: str) -> int:
    headers = {"authorization": f"Bearer {access_token}", "anthropic-beta": BETA}
    return client.get("/v1/models", headers=headers).status_code


# -- revoke ------------------------------------------------------------------------------


def test_revoking_the_refresh_token_ends_the_whole_login(emu, client):
    login = emu.issue_login()
    other = emu.issue_login()
    answer = revoke(emu, client, login["refresh_token"])
    assert answer.status_code == 200 and answer.json() == {}
    assert answer.headers["request-id"].startswith("req_")
    # Its refresh token and its access tokens stop working; the access token is told
    # it was revoked, as Claude says it.
    assert refresh(emu, client, login["refresh_token"]).json()["error"] == "invalid_grant"
    assert models_status(client, login["access_token"]) == 403
    assert models_status(client, other["access_token"]) == 200
    (entry,) = emu.revocations
    assert (entry.token, entry.hint, entry.kind) == (
        token_digest(login["refresh_token"]),
        "refresh_token",
        "refresh_token",
    )
    assert entry.login_id is not None and emu.replays == 0
    stats = client.get("/_emulator/stats").json()
    assert stats["revocations"] == 1
    assert not any(secret in repr(emu.revocations) for secret in ISSUED_SECRETS)


def test_revoking_an_access_token_ends_only_that_token(emu, client):
    login = emu.issue_login()
    assert revoke(emu, client, login["access_token"], "access_token").status_code == 200
    assert models_status(client, login["access_token"]) == 403
    fresh = refresh(emu, client, login["refresh_token"]).json()
    assert models_status(client, fresh["access_token"]) == 200
    assert [r.kind for r in emu.revocations] == ["access_token"]


def test_an_unknown_token_is_revoked_without_complaint(emu, client):
    # RFC 7009 §2.2: an invalid token is answered 200 too.
    answer = revoke(emu, client, "sk-ant-ort01-unknown")  # token-shaped, never issued
    assert answer.status_code == 200
    (entry,) = emu.revocations
    assert entry.kind is None and entry.login_id is None


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"token": "x", "token_type_hint": "refresh_token"}, 400, "invalid_request"),
        ({"token_type_hint": "refresh_token", "client_id": None}, 400, "invalid_request"),
        ({"token": "x", "client_id": "another-client"}, 401, "invalid_client"),
    ],
)
def test_revoke_refusals(emu, client, body, status, error):
    body = {k: (emu.client_id if k == "client_id" and v is None else v) for k, v in body.items()}
    answer = client.post(REVOKE, json=body)
    assert (answer.status_code, answer.json()["error"]) == (status, error)
    assert emu.revocations == []


def test_revoke_takes_json_only(emu, client):
    login = emu.issue_login()
    answer = client.post(REVOKE, data={"token": login["refresh_token"]})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "Invalid request format"
    assert refresh(emu, client, login["refresh_token"]).status_code == 200


def test_faults_reach_the_revoke_endpoint(emu, client):
    login = emu.issue_login()
    emu.inject("token_revoke", "500")
    assert revoke(emu, client, login["refresh_token"]).status_code == 500
    assert emu.revocations == [] and refresh(emu, client, login["refresh_token"]).status_code == 200


# -- the refresh's scope -----------------------------------------------------------------


def test_a_refresh_may_ask_for_its_grant_or_less_and_without_scope_keeps_it(emu, client):
    login = emu.issue_login(scope="user:profile user:inference")
    first = refresh(emu, client, login["refresh_token"], "user:inference user:profile")
    assert first.status_code == 200 and first.json()["scope"] == "user:profile user:inference"
    second = refresh(emu, client, first.json()["refresh_token"], "user:inference")
    assert second.status_code == 200
    third = refresh(emu, client, second.json()["refresh_token"])
    assert third.json()["scope"] == "user:profile user:inference"


def test_a_scope_beyond_the_grant_is_invalid_scope_and_spends_nothing(emu, client):
    login = emu.issue_login(scope="user:profile user:inference")
    refused = refresh(emu, client, login["refresh_token"], "user:profile user:inference x:y")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"
    again = refresh(emu, client, login["refresh_token"], "user:profile user:inference")
    assert again.status_code == 200 and emu.replays == 0
    assert emu.grants["refresh_token"] == 1


def test_a_scope_must_be_a_string(emu, client):
    login = emu.issue_login()
    body = {
        "grant_type": "refresh_token",
        "refresh_token": login["refresh_token"],
        "client_id": emu.client_id,
        "scope": ["user:profile"],
    }
    assert client.post("/v1/oauth/token", json=body).json()["error"] == "invalid_request"


# -- what an organization withholds ------------------------------------------------------


def test_a_withheld_scope_is_left_out_of_the_grant_silently(emu, client):
    emu.add_account("dev@example.com", withheld_scopes=("org:create_api_key",))
    login = emu.issue_login(email="dev@example.com")
    assert login["scope"] == "user:profile user:inference"
    emu.withhold_scopes(EMAIL, "user:inference")
    console = emu.issue_login()
    assert console["scope"] == "org:create_api_key user:profile"


def test_a_scope_withdrawn_after_sign_in_is_lost_at_the_next_refresh(emu, client):
    login = emu.issue_login()
    stored = login["scope"]
    emu.withhold_scopes(EMAIL, "org:create_api_key")
    # The grant no longer holds what the client stored: asking for it is invalid_scope...
    refused = refresh(emu, client, login["refresh_token"], stored)
    assert refused.json()["error"] == "invalid_scope"
    # ...and without scope the login keeps what is left of its grant.
    fresh = refresh(emu, client, login["refresh_token"])
    assert fresh.status_code == 200 and fresh.json()["scope"] == "user:profile user:inference"
    emu.withhold_scopes(EMAIL)
    assert emu.issue_login()["scope"] == stored


# -- answers without a new refresh token -------------------------------------------------


def test_no_refresh_token_answers_without_one_and_keeps_the_old_one_valid(emu, client):
    login = emu.issue_login()
    emu.inject("token", "no_refresh_token")
    kept = refresh(emu, client, login["refresh_token"])
    assert kept.status_code == 200 and "refresh_token" not in kept.json()
    assert models_status(client, kept.json()["access_token"]) == 200
    rotated = refresh(emu, client, login["refresh_token"])
    assert rotated.status_code == 200 and "refresh_token" in rotated.json()
    assert emu.grants["refresh_token"] == 2 and emu.replays == 0
    first, second = emu.refresh_grants
    assert first.spent == first.issued == token_digest(login["refresh_token"])
    assert second.issued != second.spent


# -- an account on hold ------------------------------------------------------------------


def test_an_account_on_hold_refuses_every_refresh_until_lifted(emu, client):
    login = emu.issue_login()
    emu.hold_account(EMAIL)
    held = refresh(emu, client, login["refresh_token"])
    assert held.status_code == 400
    assert held.json() == {
        "error": "invalid_grant",
        "error_description": "account_on_hold",
        "error_uri": "https://claude.ai/restricted",
    }
    emu.hold_account(EMAIL, "https://claude.ai/restricted?ref=TS-1")
    assert refresh(emu, client, login["refresh_token"]).json()["error_uri"].endswith("TS-1")
    emu.hold_account(EMAIL, None)
    assert refresh(emu, client, login["refresh_token"]).status_code == 200
    assert emu.grants["refresh_token"] == 1


# -- the refusals of a refresh as faults ---------------------------------------------------


def test_refresh_refusal_faults_spend_nothing(emu, client):
    login = emu.issue_login()
    emu.inject("token", "invalid_scope")
    emu.inject("token", "account_on_hold", error_uri="https://claude.ai/restricted?ref=x")
    emu.inject("token", "session_stale_relogin")
    scope = refresh(emu, client, login["refresh_token"])
    assert (scope.status_code, scope.json()["error"]) == (400, "invalid_scope")
    hold = refresh(emu, client, login["refresh_token"]).json()
    assert hold["error_description"] == "account_on_hold" and hold["error_uri"].endswith("ref=x")
    stale = refresh(emu, client, login["refresh_token"])
    assert stale.status_code == 403
    assert stale.json()["error"] == {
        "type": "permission_error",
        "message": STALE_MESSAGE,
        "resource": "session_stale_relogin",
    }
    assert refresh(emu, client, login["refresh_token"]).status_code == 200


@pytest.mark.parametrize(
    ("fault", "params"),
    [
        ("account_on_hold", {"error_uri": 5}),
        ("account_on_hold", {"error_uri": ""}),
        ("invalid_scope", {"error_uri": "x"}),
        ("403_scope_insufficient", {"user_facing": "yes"}),
    ],
)
def test_fault_parameters_are_checked(emu, fault, params):
    with pytest.raises(ValueError):
        emu.inject("token", fault, **params)
