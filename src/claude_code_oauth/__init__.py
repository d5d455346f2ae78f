"""Sign in to Claude with OAuth (PKCE + loopback) for Code Puppy and scripts.

Importing this package is deliberately cheap: it defines the version and nothing
else, because Code Puppy imports every plugin at start-up and the ``token``
command's fast path must stay close to bare-interpreter start-up time.
"""

__version__ = "0.1.0"

USER_AGENT = f"claude-code-oauth/{__version__}"

__all__ = ["USER_AGENT", "__version__"]
