"""Every in-host test runs once per configured Code Puppy installation
(see ``tests/helpers/puppy_hosts.py``); the test id names the release.

The ``puppy`` fixture is autouse: a test that drives Code Puppy through
``puppy_driver.run_driver`` without naming an interpreter gets the installation
of its parametrisation, so no in-host test can quietly run on one release only.
A module that tests an adapter module inside pytest's own process (its Code
Puppy is the one in ``.venv``) says so with ``IN_THIS_PROCESS = True`` and is not
parametrised: an id naming another release would claim a run that never happened.
A module that says ``ON_MISMATCHED_HOST = True`` runs only on the installation whose
anthropic SDK its pydantic-ai cannot drive (``puppy_hosts.mismatched_host``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers import puppy_driver
from helpers.puppy_hosts import MISMATCHED_VARIABLE, PuppyHost, configured_hosts, mismatched_host

HOSTS = configured_hosts()
MISMATCHED = mismatched_host()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if getattr(metafunc.module, "IN_THIS_PROCESS", False):
        return
    if getattr(metafunc.module, "ON_MISMATCHED_HOST", False):
        if MISMATCHED is None:
            unset = pytest.mark.skip(reason=f"{MISMATCHED_VARIABLE} is not set (make test sets it)")
            metafunc.parametrize("puppy", [pytest.param(None, marks=unset)], ids=["mismatched"])
        else:
            metafunc.parametrize(
                "puppy",
                [MISMATCHED],
                ids=[f"cp{MISMATCHED.version}"],
                indirect=True,
                scope="session",
            )
        return
    metafunc.parametrize(
        "puppy", HOSTS, ids=[f"cp{h.version}" for h in HOSTS], indirect=True, scope="session"
    )


@pytest.fixture(scope="session", autouse=True)
def puppy(request: pytest.FixtureRequest) -> Iterator[PuppyHost | None]:
    host: PuppyHost | None = getattr(request, "param", None)
    if host is None:  # a module that runs in this process only
        yield None
        return
    previous = puppy_driver.DEFAULT_PYTHON
    puppy_driver.DEFAULT_PYTHON = host.python
    try:
        yield host
    finally:
        puppy_driver.DEFAULT_PYTHON = previous
