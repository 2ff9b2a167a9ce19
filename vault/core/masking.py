"""A provider's words on their way into the vault (``last_error``, an audit line), with the
vault's own secrets masked: a server that echoes the refresh token it was sent, or the access
token, in its ``error_description`` does not get it stored in the clear."""

from __future__ import annotations

from typing import Any

from vault.errors import redact


def without_secrets(conn: Any, name: str | None, text: str | None) -> str | None:
    """``text`` (a provider's words, on their way to ``last_error`` or the audit log) with every
    secret the vault holds for credential ``name`` shown as ``***``: its tokens and its
    provider's client secret, whatever a server echoed."""
    if not text or name is None:
        return text
    row = conn.execute(
        "SELECT c.access_token, c.refresh_token, c.id_token, r.client_secret FROM credentials c "
        "LEFT JOIN client_registrations r ON r.provider = c.provider WHERE c.name = ?",
        (name,),
    ).fetchone()
    return text if row is None else redact(text, [v for v in row if isinstance(v, str) and v])
