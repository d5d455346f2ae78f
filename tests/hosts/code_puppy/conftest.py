"""Every in-host test runs once per configured Code Puppy installation
(see ``tests/helpers/puppy_hosts.py``); the test id names the release."""

from __future__ import annotations

import pytest

from helpers.puppy_hosts import PuppyHost, configured_hosts

HOSTS = configured_hosts()


@pytest.fixture(scope="session", params=HOSTS, ids=[f"cp{h.version}" for h in HOSTS])
def puppy(request: pytest.FixtureRequest) -> PuppyHost:
    return request.param
