"""``httpx2.Auth`` backed by the vault, for programs on httpx2 (pydantic's fork of httpx,
which tokendeck installs): the same as :mod:`vault.integrations.httpx_auth`, a fresh bearer
token on every request and one forced refresh and retry when the server answers 401."""

from __future__ import annotations

import os
from collections.abc import Generator

import httpx2

from vault.integrations.bearer import bearer_flow


class VaultAuth(httpx2.Auth):
    """Authenticate httpx2 requests with a credential from the vault.

    Args:
        name: the credential.
        home: the vault home (default as the CLI).
    """

    def __init__(self, name: str, *, home: str | os.PathLike[str] | None = None) -> None:
        self.name = name
        self.home = home

    def __repr__(self) -> str:
        return f"VaultAuth({self.name!r})"

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        yield from bearer_flow(request, self.name, self.home)
