"""A worker process for the cross-process token tests. Never prints a token.

Usage: ``python token_worker.py MODE [ARGS]`` with the client environment
(``CLAUDE_CODE_OAUTH_*``) pointing at the emulator and the data dir.

Modes:

* ``get`` / ``rejected``: one ``get_access_token()`` (or ``replace_rejected`` of
  the token in the file); prints ``{"hash", "error_type", "error", "warnings"}``.
* ``race THREADS READY_FILE GO_FILE get|rejected``: create READY_FILE, wait for
  GO_FILE, then THREADS threads call at once through the shared provider;
  prints ``{"results": [...]}``.
* ``hold-lock``: take the token lock, print ``locked``, sleep until killed.
* ``write-loop``: save the stored record again and again under the lock,
  print ``writing`` after the first save.
* ``refresh-loop``: force a real refresh again and again (each one rotates),
  print ``refreshing`` after the first.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from typing import Any

from claude_code_oauth.config import load_settings
from claude_code_oauth.errors import ClaudeOAuthError
from claude_code_oauth.tokens import store as token_store
from claude_code_oauth.tokens.provider import TokenProvider, provider_for


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def call(fn: Any, *args: Any) -> dict[str, Any]:
    try:
        token = fn(*args)
    except ClaudeOAuthError as exc:
        return {"hash": None, "error_type": type(exc).__name__, "error": str(exc)}
    except Exception as exc:  # reported, so a test sees every kind of failure
        return {"hash": None, "error_type": type(exc).__name__, "error": "unexpected"}
    return {"hash": digest(token), "error_type": None, "error": None}


def stored_token(settings: Any) -> str:
    record = token_store.load(settings.token_path)
    if record is None:
        raise SystemExit("no token file")
    return record.access_token


def one_call(mode: str) -> None:
    settings = load_settings()
    warnings: list[str] = []
    provider = TokenProvider(settings, on_warning=warnings.append)
    if mode == "get":
        result = call(provider.get_access_token)
    else:
        result = call(provider.replace_rejected, stored_token(settings))
    result["warnings"] = warnings
    print(json.dumps(result), flush=True)


def race(threads: int, ready_file: str, go_file: str, mode: str) -> None:
    settings = load_settings()
    provider = provider_for(settings)
    old = stored_token(settings) if mode == "rejected" else ""
    # Import what a refresh needs now, so every process is equally ready at GO.
    import filelock  # noqa: F401

    from claude_code_oauth.tokens import endpoint  # noqa: F401

    barrier = threading.Barrier(threads)
    results: list[dict[str, Any]] = [{} for _ in range(threads)]

    def run(index: int) -> None:
        barrier.wait()
        if mode == "rejected":
            results[index] = call(provider.replace_rejected, old)
        else:
            results[index] = call(provider.get_access_token)

    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    with open(ready_file, "w"):
        pass
    deadline = time.monotonic() + 60
    while not os.path.exists(go_file):
        if time.monotonic() > deadline:
            raise SystemExit("no GO")
        time.sleep(0.002)
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(json.dumps({"results": results}), flush=True)


def hold_lock() -> None:
    settings = load_settings()
    with token_store.held(token_store.token_lock(settings)):
        print("locked", flush=True)
        time.sleep(600)


def write_loop() -> None:
    settings = load_settings()
    path = settings.token_path
    record = token_store.load(path)
    assert record is not None
    generation = 0
    while True:
        generation += 1
        record.last_error = f"generation {generation} " + "x" * (generation % 4000)
        with token_store.held(token_store.token_lock(settings)):
            token_store.save(path, record)
        if generation == 1:
            print("writing", flush=True)


def refresh_loop() -> None:
    settings = load_settings()
    provider = TokenProvider(settings, on_warning=lambda text: None)
    first = True
    while True:
        provider.replace_rejected(provider.get_access_token())
        if first:
            print("refreshing", flush=True)
            first = False


def main(argv: list[str]) -> None:
    mode = argv[0]
    if mode in ("get", "rejected"):
        one_call(mode)
    elif mode == "race":
        race(int(argv[1]), argv[2], argv[3], argv[4])
    elif mode == "hold-lock":
        hold_lock()
    elif mode == "write-loop":
        write_loop()
    elif mode == "refresh-loop":
        refresh_loop()
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
