"""``httpx.Auth`` backed by the vault: a fresh bearer token on every request, one
forced refresh and retry when the server answers 401 (through the agent when one runs)."""

from __future__ import annotations

import os
from collections.abc import Generator

import httpx


class VaultAuth(httpx.Auth):
    """Authenticate httpx requests with a credential from the vault.

    Args:
        name: the credential.
        home: the vault home (default as the CLI).
    """

    def __init__(self, name: str, *, home: str | os.PathLike[str] | None = None) -> None:
        self.name = name
        self.home = home

    def __repr__(self) -> str:
        return f"VaultAuth({self.name!r})"

    def _token(self, force: bool) -> str:
        from vault.integrations.bearer import bearer_token

        return bearer_token(self.name, force=force, home=self.home)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token(force=False)}"
        response = yield request
        if response.status_code == 401:
            request.headers["Authorization"] = f"Bearer {self._token(force=True)}"
            yield request
