"""The Code Puppy installations the in-host tests run against.

``CLAUDE_CODE_OAUTH_TEST_CODE_PUPPY_VENVS`` lists virtual environments, separated
by ``os.pathsep``, each holding a ``code-puppy`` and this package (``make test``
passes ``.venv`` with the newest release and ``.venv-cp-oldest`` with the oldest
supported one). Unset, the tests use the environment pytest itself runs in.
A listed environment without Code Puppy is an error, never a skip.
"""

from __future__ import annotations

import glob
import os
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from . import puppy_driver

VENVS_VARIABLE = "CLAUDE_CODE_OAUTH_TEST_CODE_PUPPY_VENVS"


@dataclass(frozen=True)
class PuppyHost:
    """One Code Puppy installation: its venv, its version, how to run it."""

    venv: str
    version: str

    @property
    def python(self) -> str:
        return os.path.join(self.venv, "bin", "python")

    @property
    def code_puppy(self) -> str:
        """The interactive ``code-puppy`` console script."""
        return os.path.join(self.venv, "bin", "code-puppy")

    def run(
        self, steps: list[dict[str, Any]], env: dict[str, str], **kwargs: Any
    ) -> puppy_driver.Transcript:
        """Run the scenario driver under this installation's Python."""
        return puppy_driver.run_driver(steps, env, python=self.python, **kwargs)


def _version(venv: str) -> str:
    for site in glob.glob(os.path.join(venv, "lib", "python3*", "site-packages")):
        for dist in metadata.distributions(name="code-puppy", path=[site]):
            return dist.version
    raise RuntimeError(f"{VENVS_VARIABLE}: no code-puppy is installed in {venv}")


def configured_hosts() -> list[PuppyHost]:
    """The installations to test against, in the order given."""
    raw = os.environ.get(VENVS_VARIABLE, "")
    venvs = [v for v in raw.split(os.pathsep) if v.strip()] or [sys.prefix]
    return [PuppyHost(os.path.abspath(v), _version(os.path.abspath(v))) for v in venvs]
