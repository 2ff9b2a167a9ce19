"""Refreshing one credential from real processes, against the loopback Authlib server with
rotating refresh tokens and RFC 9700 reuse detection (``revoke_family_on_reuse``).

* Eight ``tokendeck token`` processes on an expired credential: one refresh reaches the
  server, all eight print the same valid token, the rotated refresh token is stored.
* A refresher killed with SIGKILL at each step of a refresh, twice per step: the vault
  opens, ``PRAGMA integrity_check`` is ok, the stored pair is exactly the old one or
  exactly the new one the server issued, the kill released the refresh lock, and a later
  refresh either works or marks the credential ``needs_login`` with its tokens kept.

Everything runs at SQLCipher's default KDF cost (the product as shipped), in-process
setup included, because the subprocesses must be able to open the vault it creates.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import pytest

import vault
from tests.support.authserver import AuthServer
from vault.core.locks import credential_lock, lock_path
from vault.oauth.discovery import discover
from vault.services.refreshing import refresh

REPO = Path(__file__).resolve().parent.parent
PASS = "refresh process passphrase"
CLIENT_ID = "tokendeck-refresh"
NAME = "acme"
TOKENDECK = shutil.which("tokendeck", path=os.path.dirname(sys.executable)) or "tokendeck"
READERS = 8
ROUNDS = 2


class Pair(NamedTuple):
    access: str
    refresh: str


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    """The environment of a real ``tokendeck`` process on this test's vault."""
    # The vault is created in-process at the test KDF cost; vault.json records that cost,
    # so the subprocesses that open it use it too.
    return {
        **os.environ,
        "TOKENDECK_HOME": str(home),
        "TOKENDECK_PASSPHRASE": PASS,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
    }


@pytest.fixture
def server(auth_server: AuthServer) -> AuthServer:
    auth_server.register_client(CLIENT_ID)
    return auth_server


def new_vault(home: Path, server: AuthServer) -> None:
    """A passphrase vault with the loopback server registered as ``acme`` by discovery."""
    with vault.init_vault(home, mode="passphrase", passphrase=PASS) as v:
        v.records.set_client(
            vault.ClientRegistration(
                provider="acme", base="oidc", client_id=CLIENT_ID, overrides=discover("acme", server.issuer)
            )
        )


def sign_in(v: vault.Vault, server: AuthServer) -> Pair:
    """Store a fresh grant from the server as ``acme``, its access token already expired."""
    issued = server.issue_token(CLIENT_ID)
    now = time.time()
    v.records.save(
        vault.Credential(
            name=NAME,
            provider="acme",
            kind="oauth",
            account="alice@example.test",
            access_token=vault.Secret(issued["access_token"]),
            refresh_token=vault.Secret(issued["refresh_token"]),
            token_type="Bearer",
            scopes=tuple(issued["scope"].split()),
            expires_at=now - 10,
            created_at=now,
            updated_at=now,
            last_refreshed_at=now,
        ),
        replace=True,
        action="login",
    )
    return Pair(issued["access_token"], issued["refresh_token"])


def pair_of(credential: vault.Credential) -> Pair:
    """The stored pair; a blanked token fails here."""
    assert credential.access_token is not None, "the access token was blanked"
    assert credential.refresh_token is not None, "the refresh token was blanked"
    return Pair(credential.access_token.reveal(), credential.refresh_token.reveal())


def newest_issued(server: AuthServer) -> Pair:
    """The last token response the server minted (it has no public accessor for values)."""
    with server._store.lock:
        token = server._store.tokens[-1]
        assert token.refresh_token is not None
        return Pair(token.access_token, token.refresh_token)


def refresh_grants(server: AuthServer) -> list[tuple[int, str | None]]:
    return [(r.status, r.error) for r in server.token_requests() if r.grant_type == "refresh_token"]


def tokendeck(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([TOKENDECK, *argv], capture_output=True, env=env, timeout=60, check=False)


def holds_open(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has ``path`` open (Linux ``/proc``)."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                return True
        except OSError:
            continue
    return False


# ------------------------------------------------------------ eight at once


@pytest.mark.parametrize(
    "pile_up",
    [False, pytest.param(True, marks=pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc"))],
    ids=["started-together", "all-waiting-on-the-lock"],
)
def test_eight_processes_refresh_an_expired_credential_once(
    env: dict[str, str], home: Path, server: AuthServer, pile_up: bool
) -> None:
    """``pile_up`` holds the refresh lock until all eight processes have read the expired
    credential and are waiting for the lock inside ``refresh()``, so each of them is
    certain to contend; without it they are simply started at the same moment."""
    new_vault(home, server)
    with vault.open_vault(home, PASS) as v:
        old = sign_in(v, server)
    lock = lock_path(home, NAME)
    with credential_lock(home, NAME) if pile_up else contextlib.nullcontext():
        procs = [
            subprocess.Popen([TOKENDECK, "token", NAME], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(READERS)
        ]
        if pile_up:
            deadline = time.monotonic() + 20  # the waiters give up after 30 s
            while not all(holds_open(p.pid, lock) for p in procs):
                assert all(p.poll() is None for p in procs), "a process finished while the lock was held"
                assert time.monotonic() < deadline, "the processes never reached the refresh lock"
                time.sleep(0.02)
            assert refresh_grants(server) == []
    outputs = [p.communicate(timeout=60) for p in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()
        assert b"Traceback" not in err

    printed = {out for out, _ in outputs}
    assert len(printed) == 1, "the processes printed different tokens"
    token = printed.pop().decode().rstrip("\n")
    assert refresh_grants(server) == [(200, None)]  # exactly one refresh reached the server
    assert server.token_request_count("refresh_token") == 1
    new = newest_issued(server)
    assert token == new.access != old.access
    assert server.token_state(token) == "active"
    assert server.token_state(new.refresh) == "active"
    assert server.token_state(old.refresh) == "revoked"  # rotated once, never presented again

    listed = tokendeck(env, "list", "--json")
    assert listed.returncode == 0, listed.stderr.decode()
    [entry] = json.loads(listed.stdout)
    assert (entry["name"], entry["status"], entry["has_refresh_token"]) == (NAME, "active", True)
    assert entry["last_error"] is None
    with vault.open_vault(home, PASS) as v:
        stored = v.get(NAME)
        assert stored.stored_status == "active"
        assert pair_of(stored) == new  # the rotated refresh token is the one kept
        assert [e.outcome for e in v.records.audit_log(credential=NAME) if e.action == "refresh"] == ["ok"]


def test_eight_reads_right_after_a_refresh_refresh_nothing(env: dict[str, str], home: Path, server: AuthServer) -> None:
    """A 20-second access token, just refreshed: eight parallel ``tokendeck token`` reads
    print it, and none of them refreshes it again (its read margin is an eighth of its
    life, 2.5 s, not a fixed minute that a 20-second token is always inside)."""
    server.settings.access_token_lifetime = 20
    new_vault(home, server)
    with vault.open_vault(home, PASS) as v:
        sign_in(v, server)
        refreshed = refresh(v, NAME)
    assert server.token_request_count("refresh_token") == 1
    procs = [
        subprocess.Popen([TOKENDECK, "token", NAME], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(READERS)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err.decode() for _, err in outputs]
    assert {out.decode().rstrip("\n") for out, _ in outputs} == {pair_of(refreshed).access}
    assert server.token_request_count("refresh_token") == 1  # no read refreshed it again


# ---------------------------------------------------------- killed mid-refresh

CHILD = r"""
import json, os, signal, sys

import vault
import vault.core.repository
import vault.oauth.client
import vault.oauth.tokens
import vault.services.refreshing

step = sys.argv[1]


def die(**facts):
    print(json.dumps({"step": step, **facts}), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


if step == "before-request":  # the lock is held, nothing has been sent
    token_request = vault.oauth.client.OAuthClient.token_request

    def patched(self, *args, **kwargs):
        die()
        return token_request(self, *args, **kwargs)

    vault.oauth.client.OAuthClient.token_request = patched
elif step == "after-response":  # the provider rotated, nothing is saved
    token_set = vault.oauth.tokens.token_set

    def patched(*args, **kwargs):
        tokens = token_set(*args, **kwargs)
        die(access=tokens.access_token.reveal(), refresh=tokens.refresh_token.reveal())
        return tokens

    vault.oauth.tokens.token_set = patched
elif step == "mid-save":  # inside the save's transaction: after the UPDATE, before COMMIT
    audit = vault.core.repository.Repository._audit

    def patched(self, conn, credential, action, outcome, detail):
        if action == "refresh":
            row = conn.execute("SELECT access_token, refresh_token FROM credentials WHERE name = ?", (credential,))
            access, refresh = row.fetchone()
            die(access=access, refresh=refresh)
        return audit(self, conn, credential, action, outcome, detail)

    vault.core.repository.Repository._audit = patched
elif step == "after-save":  # committed, nothing handed out yet
    save = vault.core.repository.Repository.save_refreshed

    def patched(self, credential, **kwargs):
        save(self, credential, **kwargs)
        die(access=credential.access_token.reveal(), refresh=credential.refresh_token.reveal())

    vault.core.repository.Repository.save_refreshed = patched
else:
    raise SystemExit(f"unknown step {step}")

with vault.open_vault() as v:
    vault.services.refreshing.refresh(v, "acme", force=True)
print("the refresh finished without being killed")
sys.exit(3)
"""

STEPS = {
    # step: (the server rotated before the kill, the new pair is what stays stored)
    "before-request": (False, False),
    "after-response": (True, False),
    "mid-save": (True, False),
    "after-save": (True, True),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_a_refresher_killed_at_any_step_loses_nothing_silently(
    env: dict[str, str], home: Path, server: AuthServer, step: str
) -> None:
    rotated, keeps_new = STEPS[step]
    new_vault(home, server)
    for round_ in range(ROUNDS):
        with vault.open_vault(home, PASS) as v:
            old = sign_in(v, server)  # a fresh grant each round, so each round starts alike
        grants_before = len(refresh_grants(server))

        child = subprocess.run(
            [sys.executable, "-c", CHILD, step], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
        )
        assert child.returncode == -signal.SIGKILL, f"round {round_}: {child.stdout}{child.stderr}"
        said = json.loads(child.stdout)
        assert said["step"] == step

        grants = refresh_grants(server)[grants_before:]
        assert grants == ([(200, None)] if rotated else [])
        new = newest_issued(server) if rotated else None
        if new is not None:
            assert new != old and server.token_state(old.refresh) == "revoked"
            if step != "before-request":  # what the child held when it died is what the server sent
                assert Pair(said["access"], said["refresh"]) == new

        with vault.open_vault(home, PASS) as v:  # the vault opens
            assert [tuple(r) for r in v.records._store.query("PRAGMA integrity_check")] == [("ok",)]
            stored = v.get(NAME)
            pair = pair_of(stored)
            assert pair in (old, new), "the stored pair is neither the old one nor the new one (half-updated)"
            assert pair == (new if keeps_new else old), f"round {round_}: unexpected pair after a kill at {step}"
            assert stored.stored_status == "active"

            with credential_lock(home, NAME, wait=0):  # the kill released the refresh lock
                pass

            try:
                after = refresh(v, NAME, force=True)
            except vault.NeedsSignIn as exc:
                marked = v.get(NAME)
                assert marked.stored_status == "needs_login", "a failed refresh must mark the credential"
                assert pair_of(marked) == pair, "a failed refresh must keep the tokens"
                assert marked.last_error is not None and "invalid_grant" in marked.last_error
                assert NAME in str(exc) and pair.access not in str(exc) and pair.refresh not in str(exc)
                listed = [c.public(time.time()) for c in v.credentials()]
                assert [(c["name"], c["status"], c["has_refresh_token"]) for c in listed] == [
                    (NAME, "needs_login", True)
                ]
                ended_as = "needs_login"
                # Presenting the rotated token revoked the whole grant (RFC 9700 §4.14.2).
                assert new is not None and server.token_state(new.refresh) == "revoked"
            else:
                assert after.stored_status == "active"
                assert pair_of(after) == newest_issued(server) != pair
                assert server.token_state(after.access_token.reveal()) == "active"  # type: ignore[union-attr]
                assert refresh_grants(server)[-1] == (200, None)
                ended_as = "refreshed"
        # The old pair after the provider rotated is dead: sign in again.  Otherwise it works.
        assert ended_as == ("needs_login" if rotated and not keeps_new else "refreshed"), f"round {round_}"


def test_a_lock_that_cannot_be_made_is_one_line_and_nothing_is_sent(home: Path, auth_server: AuthServer) -> None:
    """Where the lock file cannot be made (a full or read-only disk; here its directory's name is
    taken by a file), the refresh fails with one line before any request, and nothing changes."""
    from tests.support.seeded import seed

    with vault.init_vault(home, mode="keyring") as v:
        seed(v, auth_server, "acme", expires_in=-5)
        before = v.get("acme")
        locks = lock_path(home, "acme").parent
        shutil.rmtree(locks, ignore_errors=True)
        locks.write_text("in the way")
        sent = auth_server.token_request_count("refresh_token")
        with pytest.raises(vault.VaultError, match="cannot make acme's refresh lock in .*; nothing was changed"):
            refresh(v, "acme", force=True)
        assert auth_server.token_request_count("refresh_token") == sent and v.get("acme") == before
