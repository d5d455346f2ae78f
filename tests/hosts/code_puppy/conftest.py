"""Every in-host test runs once per configured Code Puppy installation
(see ``tests/helpers/puppy_hosts.py``); the test id names the release.

The ``puppy`` fixture is autouse: a test that drives Code Puppy through
``puppy_driver.run_driver`` without naming an interpreter gets the installation
of its parametrisation, so no in-host test can quietly run on one release only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from helpers import puppy_driver
from helpers.puppy_hosts import PuppyHost, configured_hosts

HOSTS = configured_hosts()


@pytest.fixture(scope="session", params=HOSTS, ids=[f"cp{h.version}" for h in HOSTS], autouse=True)
def puppy(request: pytest.FixtureRequest) -> Iterator[PuppyHost]:
    host: PuppyHost = request.param
    previous = puppy_driver.DEFAULT_PYTHON
    puppy_driver.DEFAULT_PYTHON = host.python
    try:
        yield host
    finally:
        puppy_driver.DEFAULT_PYTHON = previous
