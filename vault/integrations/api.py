"""The few calls a program or an agent needs: a fresh token, Google credentials,
and an ``httpx.Auth``.  Tokens come from the running agent when there is one
(``tokendeck agent start``); otherwise each call opens the vault (same home and
unlock order as the CLI, never a prompt) only for as long as it needs it."""

from __future__ import annotations

import os
from typing import Any

Home = str | os.PathLike[str] | None


def get_token(name: str, *, home: Home = None) -> str:
    """A token for ``name`` that is valid now (refreshed first when it is due).

    Raises:
        VaultLocked, NotFound, NeedsSignIn, ProviderError: as the CLI's ``token``.
    """
    from vault.integrations.bearer import bearer_token

    return bearer_token(name, home=home)


def google_credentials(name: str, *, home: Home = None) -> Any:
    """``google.oauth2.credentials.Credentials`` for ``name`` whose refreshes go through
    the vault: rotation-safe, stored, and audited like every other refresh."""
    from vault.integrations.google import load_credentials

    return load_credentials(name, home=home)


def httpx_auth(name: str, *, home: Home = None) -> Any:
    """An ``httpx.Auth`` that sends a fresh bearer token and refreshes once on a 401 (needs
    httpx: ``pip install 'tokendeck[httpx]'``; on httpx2, :mod:`vault.integrations.httpx2_auth`)."""
    from vault.integrations.httpx_auth import VaultAuth

    return VaultAuth(name, home=home)
