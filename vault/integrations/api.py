"""The few calls a program or an agent needs: a fresh token, Google credentials,
and an ``httpx.Auth``.  Tokens come from the running agent when there is one
(``tokendeck agent start``); otherwise each call opens the vault (same home and
unlock order as the CLI, never a prompt) only for as long as it needs it."""

from __future__ import annotations

import os
from typing import Any

from vault.agent.wire import result
from vault.services.opening import open_vault

Home = str | os.PathLike[str] | None


def get_token(name: str, *, home: Home = None) -> str:
    """A token for ``name`` that is valid now (refreshed first when it is due).

    Raises:
        VaultLocked, NotFound, NeedsSignIn, ProviderError: as the CLI's ``token``.
    """
    answer = result("token", name, home=home)
    if answer is not None:
        return answer[0]
    with open_vault(home) as v:
        return v.token(name)


def bearer_token(name: str, *, force: bool = False, home: Home = None) -> str:
    """:func:`get_token`, or with ``force`` a token refreshed now (after a server said 401):
    the one rule the ``httpx`` auth and the MCP bridge both send tokens by.

    Raises:
        as :func:`get_token`, and ProviderError when a forced refresh fails.
    """
    if not force:
        return get_token(name, home=home)
    answer = result("refresh", name, home=home)
    if answer is not None:
        return answer[0]
    with open_vault(home) as v:
        from vault.services.tokens import refresh

        refresh(v, name, force=True)
        return v.token(name)


def google_credentials(name: str, *, home: Home = None) -> Any:
    """``google.oauth2.credentials.Credentials`` for ``name`` whose refreshes go through
    the vault: rotation-safe, stored, and audited like every other refresh."""
    from vault.integrations.google import load_credentials

    return load_credentials(name, home=home)


def httpx_auth(name: str, *, home: Home = None) -> Any:
    """An ``httpx.Auth`` that sends a fresh bearer token and refreshes once on a 401."""
    from vault.integrations.httpx_auth import VaultAuth

    return VaultAuth(name, home=home)
