"""The few calls a program or an agent needs: a fresh token, Google credentials,
and an ``httpx.Auth``.  Tokens come from the running agent when there is one
(``tokendeck agent start``); otherwise each call opens the vault (same home and
unlock order as the CLI, never a prompt) only for as long as it needs it."""

from __future__ import annotations

import os
from typing import Any

from vault.services.opening import open_vault

Home = str | os.PathLike[str] | None


def get_token(name: str, *, home: Home = None) -> str:
    """A token for ``name`` that is valid now (refreshed first when it is due).

    Raises:
        VaultLocked, NotFound, NeedsSignIn, ProviderError: as the CLI's ``token``.
    """
    answer = from_agent("token", name, home=home)
    if answer is not None:
        return answer[0]
    with open_vault(home) as v:
        return v.token(name)


def from_agent(op: str, *args: str, home: Home = None) -> list[str] | None:
    """The agent's result for ``op``, or None when there is no agent to ask (do it locally).

    Raises:
        VaultError: the subclass the agent raised (NotFound, NeedsSignIn, ...).
    """
    from vault.agent.wire import FALL_BACK, call, error_from

    answer = call(op, *args, home=None if home is None else os.fspath(home))
    if answer is None or answer[0] == FALL_BACK:
        return None
    if answer[0] != "0":
        raise error_from(answer)
    return answer[1:]


def google_credentials(name: str, *, home: Home = None) -> Any:
    """``google.oauth2.credentials.Credentials`` for ``name`` whose refreshes go through
    the vault: rotation-safe, stored, and audited like every other refresh."""
    from vault.integrations.google import load_credentials

    return load_credentials(name, home=home)


def httpx_auth(name: str, *, home: Home = None) -> Any:
    """An ``httpx.Auth`` that sends a fresh bearer token and refreshes once on a 401."""
    from vault.integrations.httpx_auth import VaultAuth

    return VaultAuth(name, home=home)
