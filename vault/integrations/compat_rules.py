"""The original ``TokenStorage``'s rules for its input, written once for the drop-in
(:mod:`vault.integrations.compat`) and for importing the plaintext file it left
(:mod:`vault.integrations.plaintext_import`, ``tokendeck import token-storage``): how it kept
a user id, the order it listed them in, and what it stored that is odd, said as the one
warning line each such record gets (never quoting a token)."""

from __future__ import annotations

from vault.core.model import check_token_size, token_fault
from vault.errors import InvalidInput


def byte_order(ids: list[str]) -> list[str]:
    """User ids in the order the original listed them: its ``SELECT user_id`` had no ``ORDER BY``
    and SQLite answered it from the ``UNIQUE`` index on the column, whose BINARY collation is
    UTF-8 byte order (``'' < '42' < 'Alice@x' < 'Zoë' < 'alice@x'``).  For ``str`` that is code
    point order, which is how Python compares strings."""
    return sorted(ids)


def user_key(user_id: object) -> str:
    """A user id as the original kept it: a string as it is, an integer as its text (its
    column was text, and SQLite stores ``42`` as ``'42'``, and finds it again by ``42``).

    Raises:
        InvalidInput: anything else.
    """
    if isinstance(user_id, str):
        return user_id
    if isinstance(user_id, int):
        return str(int(user_id))  # a bool too, as SQLite stored it: 1 or 0
    raise InvalidInput("a user id must be a string or an integer")


def gdrive_oddities(token: object, refresh_token: object, client_id: object, secret: object) -> list[str]:
    """What is odd about Drive credentials the original would have stored, one clause each, never
    quoting a token: an access token that is no token, an empty refresh token, no client id.
    The warning of :meth:`~vault.integrations.compat.TokenStorage.upsert_gdrive_token` and the
    import's say these.

    Raises:
        InvalidInput: neither an access token nor a refresh token (the original refused no
            access token; tokendeck stores a refresh token alone), or a token that is no string.
    """
    for value, what in ((token, "access token"), (refresh_token, "refresh token")):
        if value is not None and not isinstance(value, str):
            raise InvalidInput(f"the {what} must be a string")
    if token is None and not refresh_token:
        raise InvalidInput("the credentials hold neither an access token nor a refresh token")
    odd = []
    fault = None if token is None else token_fault(str(token))
    if fault is not None:
        odd.append(f"{fault} (kept with status error until a refresh replaces it)")
    if refresh_token == "":
        odd.append("the refresh token is empty, so the vault cannot refresh it")
    if not client_id:
        unkept = " (nor its client secret, which is nothing without it)" if secret else ""
        odd.append(f"there is no client id, so the vault can neither refresh nor revoke it{unkept}")
    return odd


def jira_oddities(token: object, server_url: object) -> list[str]:
    """What is odd about a Jira record the original would have stored, one clause each, never
    quoting the token: a token that is no token (:func:`~vault.core.model.token_fault`), an
    empty ``server_url``.  The warning of
    :meth:`~vault.integrations.compat.TokenStorage.upsert_jira_token` and the plan
    of ``tokendeck import token-storage`` both say these.

    Raises:
        InvalidInput: what is not stored: no token or no server_url (``None``, which the
            original's NOT NULL columns refused too), or a token over 64 KiB.
    """
    if not isinstance(token, str):
        raise InvalidInput("no token (None)" if token is None else "the token must be a string")
    check_token_size(token)
    if not isinstance(server_url, str):
        raise InvalidInput("no server_url (None)" if server_url is None else "server_url must be a string")
    odd = []
    fault = token_fault(token)
    if fault is not None:
        odd.append(f"{fault} (kept with status error: tokendeck hands it out to nothing but TokenStorage)")
    if not server_url.strip():
        odd.append("its server_url is empty")
    return odd
