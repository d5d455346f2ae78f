"""The chaos benchmark's judge: a death in the window vs. a bug, each made to happen.

The window, on purpose: a `token` process refreshes, the server rotates, and the
answer trickles through the proxy while the process is SIGKILLed holding the
lock; the next process presents the spent token and the login dies. A "bug"
is the same loss without a kill (the answer is dropped).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from claude_code_oauth.config import Settings
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.hostile_proxy import HostileProxy
from claude_code_oauth.testing.refresh_deaths import BUG, WINDOW, Kill, classify, lock_holders
from claude_code_oauth.tokens import store as token_store
from helpers.polling import wait_for
from helpers.tokens import seed

pytestmark = pytest.mark.multiprocess

TOKEN = "/v1/oauth/token"


@pytest.fixture
def env(client_env: dict[str, str], proxy: HostileProxy) -> dict[str, str]:
    return proxy.env(client_env)


def token(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "claude_code_oauth", "token"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_kill_after_the_rotation_and_before_the_save_is_the_window(
    emulator: ClaudeEmulator, proxy: HostileProxy, env: dict[str, str], data_dir: Path
) -> None:
    seed(emulator, data_dir / "claude_code_oauth.json", expires_in=-10)
    lock_file = token_store.lock_path(Settings(environ=env).token_path)
    proxy.add_rule(TOKEN, trickle=1.0)  # the server has rotated; its answer trickles
    victim = token(env)
    try:
        wait_for(lambda: len(emulator.refresh_grants) == 1)
        held = victim.pid in lock_holders(lock_file)
        victim.send_signal(signal.SIGKILL)
        kill = Kill(time.monotonic(), victim.pid, held)
    finally:
        victim.kill()
        victim.communicate()
    assert held, "the refreshing process did not hold the token lock"
    survivor = token(env)
    out, err = survivor.communicate(timeout=60)
    assert survivor.returncode == 1 and out == "" and "Traceback" not in err
    assert "login has ended" in err  # the replay ended the login
    (death,) = classify(emulator, [kill])
    assert death.kind == WINDOW and str(victim.pid) in death.why


def test_a_rotated_token_lost_without_a_kill_is_a_bug(
    emulator: ClaudeEmulator, proxy: HostileProxy, env: dict[str, str], data_dir: Path
) -> None:
    seed(emulator, data_dir / "claude_code_oauth.json", expires_in=-10)
    proxy.add_rule(TOKEN, trickle=1.0)
    first = token({**env, "CLAUDE_CODE_OAUTH_HTTP_TIMEOUT": "1"})  # gives up: answer lost
    first.communicate(timeout=60)
    assert first.returncode == 1
    second = token(env)
    second.communicate(timeout=60)
    unrelated = Kill(time.monotonic(), 1, held_lock=False)  # a kill, but not of a lock holder
    (death,) = classify(emulator, [unrelated])
    assert death.kind == BUG and "no lock holder was killed" in death.why


def test_no_replay_no_death(emulator: ClaudeEmulator, env: dict[str, str], data_dir: Path) -> None:
    seed(emulator, data_dir / "claude_code_oauth.json", expires_in=-10)
    done = token(env)
    done.communicate(timeout=60)
    assert done.returncode == 0
    assert len(emulator.refresh_grants) == 1 and classify(emulator, []) == []
