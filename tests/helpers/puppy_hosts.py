"""The Code Puppy installations the in-host tests run against.

``CLAUDE_CODE_OAUTH_TEST_CODE_PUPPY_VENVS`` lists virtual environments, separated
by ``os.pathsep``, each holding a ``code-puppy`` and this package (``make test``
passes ``.venv`` with the newest release and ``.venv-cp-oldest`` with the oldest
supported one). Unset, the tests use the environment pytest itself runs in.
A listed environment without Code Puppy is an error, never a skip.

``CLAUDE_CODE_OAUTH_TEST_MISMATCHED_CODE_PUPPY_VENV`` names one more: a release
whose fresh install pairs pydantic-ai with an anthropic SDK it cannot drive
(``make test`` builds ``.venv-cp-mismatched``). Only the modules that say
``ON_MISMATCHED_HOST = True`` run there, and only there; unset, they are skipped
with that reason (``make test`` always sets it).
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
MISMATCHED_VARIABLE = "CLAUDE_CODE_OAUTH_TEST_MISMATCHED_CODE_PUPPY_VENV"
#: In the mismatched venv, the fix's anthropic SDK (``pip install --target``): put on
#: PYTHONPATH, it stands where ``pip install 'anthropic<1'`` would have put it.
FIX_OVERLAY = "anthropic-fix"


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


def installed_version(venv: str, name: str, variable: str = VENVS_VARIABLE) -> str:
    """The version of distribution ``name`` installed in ``venv`` (an error if none)."""
    for site in glob.glob(os.path.join(venv, "lib", "python3*", "site-packages")):
        for dist in metadata.distributions(name=name, path=[site]):
            return dist.version
    raise RuntimeError(f"{variable}: no {name} is installed in {venv}")


def _version(venv: str, variable: str = VENVS_VARIABLE) -> str:
    return installed_version(venv, "code-puppy", variable)


def configured_hosts() -> list[PuppyHost]:
    """The installations to test against, in the order given."""
    raw = os.environ.get(VENVS_VARIABLE, "")
    venvs = [v for v in raw.split(os.pathsep) if v.strip()] or [sys.prefix]
    return [PuppyHost(os.path.abspath(v), _version(os.path.abspath(v))) for v in venvs]


def mismatched_host() -> PuppyHost | None:
    """The installation whose anthropic SDK its pydantic-ai cannot drive, if configured."""
    raw = os.environ.get(MISMATCHED_VARIABLE, "").strip()
    if not raw:
        return None
    venv = os.path.abspath(raw)
    return PuppyHost(venv, _version(venv, MISMATCHED_VARIABLE))
