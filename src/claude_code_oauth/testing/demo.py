"""`make demo`: the whole job, end to end, offline, on the bundled Claude emulator.

1. Starts the emulator as its own process (consent page included).
2. Runs `claude-code-oauth login`; a scripted browser (via BROWSER) approves
   the consent page and follows the redirect to the loopback callback.
3. Shows where the tokens were saved (mode 0600), `status`, the registered
   models and `doctor`; no token is ever printed.
4. Inside a real Code Puppy: `/claude-code-status` before and after
   `/claude-code-auth`, then one agent turn on a `claude-code-*` model, and a
   turn Claude refuses (the third-party refusal): one line that says why.
5. `claude-code-oauth usage`, from the snapshot that turn left, then `--refresh`.
6. A Console sign-in as profile `api`: `login --console` creates an API key (only
   the key is kept), `status`, `token` (withheld), `logout`.

Everything lives in a temporary directory (your real ~/.code_puppy is never
touched) that is removed at the end.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .emulator.control import client_env


def banner(text: str) -> None:
    print(f"\n=== {text} ===", flush=True)


def show(cmd: list[str], env: dict[str, str], label: str | None = None) -> int:
    print(f"$ {label or ' '.join(cmd)}", flush=True)
    done = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL)
    if done.returncode:
        print(f"(exit status {done.returncode})", flush=True)
    return done.returncode


def start_emulator(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "claude_code_oauth.testing.emulator", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline().strip()
    print(first, flush=True)
    if not first.startswith("Claude emulator listening on "):
        raise SystemExit("the emulator did not start")
    return proc, first.rsplit(" ", 1)[-1]


def inject(base: str, endpoint: str, fault: str) -> None:
    """Ask the emulator process to misbehave once (its control endpoint)."""
    import json
    import urllib.request

    request = urllib.request.Request(
        base + "/_emulator/faults",
        data=json.dumps({"endpoint": endpoint, "fault": fault}).encode(),
        headers={"Content-Type": "application/json"},
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as answer:
        answer.read()


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="claude-code-oauth-demo-"))
    cli = shutil.which("claude-code-oauth", path=str(Path(sys.executable).parent))
    cli_cmd = [cli] if cli else [sys.executable, "-m", "claude_code_oauth"]
    base_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_CODE_OAUTH_", "XDG_"))
    }
    base_env.pop("DISPLAY", None)
    emulator = None
    try:
        banner("1. The Claude emulator")
        emulator, base = start_emulator(base_env)
        home = root / "home"
        home.mkdir()
        env = dict(base_env)
        env.update(client_env(base))
        env.update(
            HOME=str(home),
            BROWSER=f"{sys.executable} -m claude_code_oauth.testing.scripted_browser %s",
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        )

        banner("2. claude-code-oauth login (a scripted browser approves the consent page)")
        started = time.perf_counter()
        if show([*cli_cmd, "login", "--timeout", "60"], env, "claude-code-oauth login"):
            return 1
        print(f"(login took {time.perf_counter() - started:.2f} s)")

        banner("3. What was saved")
        token_file = home / ".code_puppy" / "claude_code_oauth.json"
        mode = stat.S_IMODE(token_file.stat().st_mode)
        print(f"{token_file}: mode {mode:04o}, {token_file.stat().st_size} bytes")
        show([*cli_cmd, "status"], env, "claude-code-oauth status")
        show([*cli_cmd, "models"], env, "claude-code-oauth models")
        print("$ claude-code-oauth token   (output withheld: it is a live token)")
        token = subprocess.run(
            [*cli_cmd, "token"], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        print(f"  -> a {len(token)}-character access token on stdout, nothing else")
        del token
        show([*cli_cmd, "doctor"], env, "claude-code-oauth doctor")

        banner("4. Inside a real Code Puppy")
        try:
            import code_puppy  # noqa: F401
        except ImportError:
            print("code-puppy is not installed in this environment; run `make demo`.")
            return 1
        puppy_home = root / "puppy-home"
        (puppy_home / ".code_puppy").mkdir(parents=True)
        (puppy_home / ".code_puppy" / "puppy.cfg").write_text(
            "[puppy]\npuppy_name = Demo\nowner_name = Demo\n"
        )
        puppy_env = dict(env, HOME=str(puppy_home))
        model = "claude-code-claude-haiku-4-5-20251001"
        steps = ["/claude-code-status", "/claude-code-auth", "/claude-code-status"]
        cmd = [sys.executable, "-m", "claude_code_oauth.testing.puppy_session", *steps]
        if show([*cmd, "--ask", model, "Say hello"], puppy_env, "code-puppy (scripted session)"):
            return 1

        banner("4b. When Claude refuses: the answer says why, in one line")
        print("(the emulator is told to answer the next request with Claude's third-party refusal)")
        inject(base, "messages", "400_third_party")
        ask = [sys.executable, "-m", "claude_code_oauth.testing.puppy_session"]
        refused = [*ask, "--ask", model, "Say hello again"]
        if show(refused, puppy_env, "code-puppy (a refused turn)"):
            return 1

        banner("5. Usage, kept from the answer Code Puppy just got (no network)")
        show([*cli_cmd, "usage"], puppy_env, "claude-code-oauth usage")
        show([*cli_cmd, "usage", "--refresh"], puppy_env, "claude-code-oauth usage --refresh")

        banner("6. A Console sign-in (an API key) as profile api")
        api = ["--profile", "api"]
        label = "claude-code-oauth login --console --profile api --pin"
        if show([*cli_cmd, "login", "--console", *api, "--pin", "--timeout", "60"], env, label):
            return 1
        show([*cli_cmd, "status", *api], env, "claude-code-oauth status --profile api")
        print("$ claude-code-oauth token --profile api   (output withheld: it is a live key)")
        key = subprocess.run(
            [*cli_cmd, "token", *api], env=env, capture_output=True, text=True, check=True
        ).stdout.strip()
        print(f"  -> a {len(key)}-character API key on stdout, nothing else")
        del key
        show([*cli_cmd, "logout", *api], env, "claude-code-oauth logout --profile api")
        banner(
            "Done: emulator, login, 0600 token file, Code Puppy commands, a model turn, usage, "
            "a Console sign-in"
        )
        return 0
    finally:
        if emulator is not None:
            emulator.terminate()
            emulator.wait(10)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
