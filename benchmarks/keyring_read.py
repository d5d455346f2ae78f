"""Whole-process time of reading one profile's secrets from the Secret Service, directly
over D-Bus (our client) and through the `keyring` library, against the floor of any
console script, `python -c "import re, sys"`.

On a private session bus with a real gnome-keyring (the tests' own
`testing/private_keyring.py`), interleaved, medians. Also timed: today's `token` (the
token file) and, in one process, `token`'s fast path followed by our Secret Service
read — what `token` will cost once the secrets live in the keyring. Goal (issue 22):
that within 3x the floor.

    .venv/bin/python benchmarks/keyring_read.py [--runs 40]
"""

from __future__ import annotations

import argparse
import compileall
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from claude_code_oauth.config import Settings
from claude_code_oauth.secret_store.secret_service import SecretServiceStore
from claude_code_oauth.testing.emulator.control import ClaudeEmulator
from claude_code_oauth.testing.private_keyring import PrivateKeyring
from claude_code_oauth.tokens.store import TokenRecord, save
from timing import interleaved, median_ms

FLOOR = "floor: python -c 'import re, sys'"
DIRECT = "Secret Service read, direct (ours)"
LIBRARY = "keyring.get_password (keyring library)"
TOKEN_FILE = "claude-code-oauth token (file, today)"
TOKEN_AND_READ = "token fast path + direct read, one process"

DIRECT_READ = (
    "import re, sys\n"
    "from claude_code_oauth.secret_store.secret_service import SecretServiceStore\n"
    "sys.stdout.buffer.write(SecretServiceStore().get('default'))\n"
)
TOKEN_THEN_READ = (
    "import re, sys\n"
    "from claude_code_oauth.cli import main\n"
    "main(['token'])\n"
    "from claude_code_oauth.secret_store.secret_service import SecretServiceStore\n"
    "sys.stdout.buffer.write(SecretServiceStore().get('default'))\n"
)
LIBRARY_READ = (
    "import sys, keyring\nsys.stdout.write(keyring.get_password('claude-code-oauth', 'default'))\n"
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    script = shutil.which("claude-code-oauth", path=str(Path(sys.executable).parent))
    if script is None:
        print("claude-code-oauth is not installed next to this Python", file=sys.stderr)
        return 2
    import claude_code_oauth

    # As pip leaves an installed package: byte-compiled (see token_fast_path.py).
    compileall.compile_dir(Path(claude_code_oauth.__file__).parent, quiet=1)
    with PrivateKeyring() as keyring, tempfile.TemporaryDirectory() as tmp, ClaudeEmulator() as emu:
        env = {**os.environ, **keyring.env, "CLAUDE_CODE_OAUTH_DATA_DIR": tmp}
        env.pop("CLAUDE_CODE_OAUTH_PROFILE", None)
        record = TokenRecord.from_token_response(emu.issue_login(), now=time.time())
        save(Settings(environ=env).token_path, record)
        secrets = (
            b'{"access_token": "'
            + record.access_token.encode()
            + b'", "refresh_token": "'
            + record.refresh_token.encode()
            + b'"}'
        )
        SecretServiceStore(environ=env, timeout=30).set("default", secrets)
        _store_with_the_library(env, secrets.decode())
        commands = {
            FLOOR: ([sys.executable, "-c", "import re, sys"], env),
            TOKEN_FILE: ([script, "token"], env),
            DIRECT: ([sys.executable, "-c", DIRECT_READ], env),
            TOKEN_AND_READ: ([sys.executable, "-c", TOKEN_THEN_READ], env),
            LIBRARY: ([sys.executable, "-c", LIBRARY_READ], env),
        }
        interleaved(commands, 3)  # warm caches
        samples = interleaved(commands, args.runs)
    medians = {name: median_ms(values) for name, values in samples.items()}
    floor = medians[FLOOR]
    for name, value in medians.items():
        print(f"{name:<45} median {value:6.1f} ms  {value / floor:4.2f}x floor")
    print(
        f"the read alone: direct +{medians[DIRECT] - floor:.1f} ms over the floor, "
        f"keyring library +{medians[LIBRARY] - floor:.1f} ms"
    )
    met = medians[TOKEN_AND_READ] / floor <= 3.0
    print(f"goal: token with the Secret Service within 3x the floor: {'met' if met else 'NOT met'}")
    return 0 if met else 1


def _store_with_the_library(env: dict[str, str], value: str) -> None:
    """The same secrets where `keyring.get_password` looks (its own attributes)."""
    import subprocess

    code = "import sys, keyring; keyring.set_password('claude-code-oauth', 'default', sys.argv[1])"
    subprocess.run([sys.executable, "-c", code, value], env=env, check=True, timeout=60)


if __name__ == "__main__":
    sys.exit(main())
