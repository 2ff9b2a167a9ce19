"""OAuth 2.0 on the client side: sign-in (authorization code + PKCE on a loopback
listener, device grant, pasted redirect), discovery, identity, token parsing.

The protocol helpers are Authlib's (URLs, token bodies, PKCE), sent over httpx2
(:mod:`vault.oauth.http`); what is here is what no library does: the loopback
listener and its pages, the checks on every URL before a browser sees it, and
turning each provider's token response quirks into one
:class:`~vault.oauth.tokens.TokenSet`.  Nothing in this package
is imported by ``tokendeck token`` for a token that is still fresh.
"""
