"""How records map to the vault's rows: a row read back as a model object (and the audit log's query).

Secrets come out wrapped in :class:`~vault.core.secret.Secret`; JSON columns
(scopes, extras, params, overrides) are decoded here and nowhere else.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from vault.core.model import AuditEvent, ClientRegistration, Credential
from vault.core.secret import Secret
from vault.core.store import Row


def secret(value: str | None) -> Secret | None:
    return None if value is None else Secret(value)


def reveal(value: Secret | None) -> str | None:
    return None if value is None else value.reveal()


def credential_from(row: Row) -> Credential:
    return Credential(
        name=row["name"],
        provider=row["provider"],
        kind=row["kind"],
        account=row["account"],
        access_token=secret(row["access_token"]),
        refresh_token=secret(row["refresh_token"]),
        id_token=secret(row["id_token"]),
        token_type=row["token_type"],
        scopes=tuple(json.loads(row["scopes"])),
        expires_at=row["expires_at"],
        refresh_expires_at=row["refresh_expires_at"],
        stored_status=row["status"],
        last_error=row["last_error"],
        extras=json.loads(row["extras"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        last_refreshed_at=row["last_refreshed_at"],
        last_used_at=row["last_used_at"],
        refresh_failures=row["refresh_failures"],
        retry_at=row["retry_at"],
    )


def credential_row(c: Credential) -> dict[str, object]:
    """The ``credentials`` table's columns for ``c`` (tokens revealed: for the database only)."""
    return {
        "name": c.name,
        "provider": c.provider,
        "kind": c.kind,
        "account": c.account,
        "access_token": reveal(c.access_token),
        "refresh_token": reveal(c.refresh_token),
        "id_token": reveal(c.id_token),
        "token_type": c.token_type,
        "scopes": json.dumps(list(c.scopes)),
        "expires_at": c.expires_at,
        "refresh_expires_at": c.refresh_expires_at,
        "status": c.stored_status,
        "last_error": c.last_error,
        "extras": json.dumps(dict(c.extras)),
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "last_refreshed_at": c.last_refreshed_at,
        "last_used_at": c.last_used_at,
        "refresh_failures": c.refresh_failures,
        "retry_at": c.retry_at,
    }


def client_from(row: Row) -> ClientRegistration:
    return ClientRegistration(
        provider=row["provider"],
        base=row["base"],
        client_id=row["client_id"],
        client_secret=secret(row["client_secret"]),
        params=json.loads(row["params"]),
        overrides=json.loads(row["overrides"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def audit_from(row: Row) -> AuditEvent:
    return AuditEvent(row["at"], row["credential"], row["action"], row["outcome"], row["detail"])


def audit_select(*, credential: str | None, limit: int | None, actions: Sequence[str]) -> tuple[str, list[object]]:
    """The query for :meth:`~vault.core.repository.Repository.audit_log`: the newest events
    first (of ``credential``, of ``actions``, ``limit`` of them, as given) and its parameters."""
    params: list[object] = [credential] if credential else []
    params += actions
    where = " AND ".join(
        ["credential = ?"] * bool(credential) + [f"action IN ({','.join('?' * len(actions))})"] * bool(actions)
    )
    sql = f"SELECT * FROM audit {'WHERE ' + where if where else ''} ORDER BY id DESC"  # noqa: S608 - fixed fragments
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return sql, params
