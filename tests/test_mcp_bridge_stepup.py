"""Issue 29: the bridge meets a server that asks for more only on a later request (step-up
authorization: ``403`` ``insufficient_scope``): it signs the same credential in again through
the user's browser for the wider scope and sends the request once more; a server that keeps
refusing gets one sign-in, then one line; where no browser can be opened the MCP client is
told what to run.  The real bridge process, the SDK's stdio client, the SDK MCP server with
a step-up middleware, the loopback Authlib server.  (The MCP conformance suite checks the same
against its own scripted servers: tests/test_interop_conformance.py.)"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import anyio

import vault
from tests.support.authserver import AuthServer
from tests.support.bridge import PASS, refused_call, session_calls, stored_token
from tests.support.fake_browser import browser_command
from tests.support.mcp_server import Seen


def state(home: Path) -> tuple[tuple[str, ...], str | None, tuple[str, ...]]:
    """The credential's scopes and access token, and the registration's default scopes."""
    with vault.open_vault(home, PASS) as v:
        credential = v.get("tools")
        registration = v.records.get_client(credential.provider)
        token = credential.access_token.reveal() if credential.access_token else None
        return credential.scopes, token, tuple(registration.overrides.get("default_scopes", ()))


def test_a_request_for_more_scope_signs_in_again_and_the_call_goes_through(
    signed_in: tuple[str, Seen, dict[str, str]], auth_server: AuthServer, home: Path, tmp_path: Path
) -> None:
    url, seen, env = signed_in
    before = state(home)
    seen.demand("write", stored_token(home))
    results = anyio.run(session_calls, env, tmp_path / "bridge.err")
    assert results == ["add,echo", "{'result': 40}"]
    assert seen.stepped_up == 1
    asked = auth_server.last_authorization_request
    assert asked is not None and set(asked["scope"].split()) == {*before[0], "write"}  # held + asked for
    scopes, token, registered = state(home)
    assert token != before[1] and "write" in scopes and "write" in registered  # asked for next time too
    said = (tmp_path / "bridge.err").read_text()
    assert f"the MCP server at {url} asks for scope 'write' (403): signing tools in again" in said
    assert token is not None and token not in said


def test_a_server_that_keeps_refusing_gets_one_sign_in_then_one_line(
    signed_in: tuple[str, Seen, dict[str, str]], auth_server: AuthServer, home: Path, tmp_path: Path
) -> None:
    url, seen, env = signed_in
    seen.demand("write", stored_token(home), always=True)
    sign_ins = auth_server.token_request_count("authorization_code")
    refused = refused_call(env, tmp_path / "bridge.err")
    assert refused.error.data == {"reason": "sign_in_refused"}, refused.error.message
    assert refused.error.message == (
        f"tokendeck mcp-bridge: the MCP server at {url} still asks for more (403, error insufficient_scope, "
        "scope write) after tools signed in again for it; not signing in again (check that your account there "
        "may have that scope)"
    )
    assert auth_server.token_request_count("authorization_code") == sign_ins + 1
    assert seen.stepped_up == 2  # the first request and its one retry


def test_without_a_browser_the_client_is_told_what_to_run_and_the_vault_is_unchanged(
    signed_in: tuple[str, Seen, dict[str, str]], auth_server: AuthServer, home: Path, tmp_path: Path
) -> None:
    url, seen, env = signed_in
    headless = {k: v for k, v in env.items() if k not in ("BROWSER", "DISPLAY", "WAYLAND_DISPLAY")}
    before = state(home)
    sign_ins = auth_server.token_request_count("authorization_code")
    seen.demand("write", stored_token(home))
    refused = refused_call(headless, tmp_path / "bridge.err")
    assert refused.error.data == {"reason": "needs_sign_in"}
    assert refused.error.message == (
        f"tokendeck mcp-bridge: the MCP server at {url} asks for scope 'write' and the bridge cannot open a "
        f"browser here: run tokendeck login --mcp {url} --name tools --scope write"
    )
    assert auth_server.token_request_count("authorization_code") == sign_ins and state(home) == before


def test_a_browser_that_writes_to_standard_output_cannot_break_the_session(
    signed_in: tuple[str, Seen, dict[str, str]], home: Path, tmp_path: Path
) -> None:
    """stdout is the MCP client's channel: the browser is started away from it."""
    _url, seen, env = signed_in
    chatty = tmp_path / "chatty-browser"
    chatty.write_text(f'#!/bin/sh\necho "Opening in existing browser session."\nexec {browser_command()}\n'.replace(
        "%s", '"$1"'
    ))  # fmt: skip
    chatty.chmod(chatty.stat().st_mode | stat.S_IXUSR)
    seen.demand("write", stored_token(home))
    results = anyio.run(session_calls, {**env, "BROWSER": f"{chatty} %s"}, tmp_path / "bridge.err")
    assert results == ["add,echo", "{'result': 40}"]
    assert os.path.exists(sys.executable)
