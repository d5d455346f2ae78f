"""``doctor``: a checklist a user runs when something is wrong.

:func:`run_checks` returns one :class:`Check` per item, in a fixed order, each
``ok`` or not with a one-line ``detail`` (the cause) and, when not ok, a
``fix``. Local checks (:mod:`.local`) read files only; :mod:`.host_stack` builds
one request in memory (this Python's anthropic SDK and pydantic-ai); remote checks
(:mod:`.remote`) make at most one request each, within ``http_timeout``, and
never spend or probe a refresh token to learn whether the token endpoint is
reachable. Only ``inference=True`` sends a model request (``max_tokens`` 1, the
cheapest listed model), which counts against the account's usage.

A Console sign-in (an API key) is checked for what it uses: the Console's
authorize page (for the next sign-in) and the key itself on the models endpoint
(and with ``inference``, a request); the token endpoint and the OAuth profile
endpoint are left out — an API key is never refreshed and has no OAuth profile.

The JSON form (:meth:`Check.to_json`) has stable keys: ``name``, ``ok``,
``detail``, ``fix``. Nothing here ever holds a token.
"""

from .check import INFERENCE_NOTICE, NAMES, TITLES, Check, all_ok, report_json
from .checklist import run_checks

__all__ = ["INFERENCE_NOTICE", "NAMES", "TITLES", "Check", "all_ok", "report_json", "run_checks"]
