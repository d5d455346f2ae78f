"""The interactive sign-in: PKCE and state, the loopback receiver and its pages,
paste-back, opening a browser, warming up the HTTP stack while the user is in the
browser, spending the code (:mod:`.exchange`), and :mod:`.flow`, which ties them into
one login.

Nothing here stores tokens itself: the flow hands the token endpoint's answer to
:mod:`claude_code_oauth.tokens.store`.
"""
