"""The MCP bridge signs in again mid-session when the server asks for it (the MCP spec's
step-up authorization): a ``401`` that a refresh did not cure, or a ``403`` with
``error="insufficient_scope"``, as a server answers a request that needs more than the token
carries.

The sign-in is ``tokendeck login --mcp``'s own (:func:`vault.services.mcp_signin.login_mcp`),
in the user's browser, for the same credential, asking for the scopes it holds and those the
challenge names (mcp-remote recovers the same way); the request is then sent once more.
Each set of scopes is asked for once per session: a server that refuses again after a
sign-in that asked for what it wanted gets no second sign-in (the retry limit), and the MCP
client gets one line saying so.  Where no browser can be opened, the client gets one line
naming the command to run.

The browser is started detached from the bridge's standard streams: stdin and stdout are
the MCP client's channel, so a browser must neither read one nor write to the other.  It is
``$BROWSER`` (as :mod:`webbrowser` reads it: commands separated by ``os.pathsep``, ``%s``
for the URL), else the desktop's opener (``open`` on macOS, ``xdg-open`` in a graphical
session on Linux); a console browser is never started.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import subprocess
import sys
import threading

from vault.core.model import mcp_sign_in_command
from vault.errors import SignInFailed, VaultError
from vault.services.opening import SessionVault
from vault.settings import BROWSER_ENV, DISPLAY_ENVS

log = logging.getLogger("tokendeck.mcp_bridge")


def browser_commands(environ: dict[str, str] | None = None) -> list[list[str]]:
    """The commands that may open a URL here (each with ``%s`` where the URL goes), in order."""
    env = os.environ if environ is None else environ
    given = env.get(BROWSER_ENV, "")
    if given:
        return [shlex.split(entry) for entry in given.split(os.pathsep) if entry.strip()]
    if sys.platform == "darwin":
        return [["open", "%s"]]
    if any(env.get(name) for name in DISPLAY_ENVS):
        return [["xdg-open", "%s"]]
    return []


def open_detached(url: str, environ: dict[str, str] | None = None) -> bool:
    """Start the first browser command that exists on ``url``, its standard streams away from
    the bridge's; False when there is none."""
    for command in browser_commands(environ):
        if not command or shutil.which(command[0]) is None:
            continue
        argv = [part.replace("%s", url) for part in command] if any("%s" in p for p in command) else [*command, url]
        try:
            subprocess.Popen(  # noqa: S603 - the user's $BROWSER or the desktop's opener, no shell
                argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        except OSError:
            continue
        return True
    return False


class BridgeSignIn:
    """The sign-in conversation of a bridge: no terminal, the log on stderr, the browser
    detached; when no browser can be opened the sign-in is cancelled at once."""

    def __init__(self) -> None:
        self.cancel = threading.Event()
        self.no_browser = False

    def show_url(self, url: str) -> None:
        log.warning("signing in again in the browser; if it does not open, visit: %s", url)

    def open_browser(self, url: str) -> bool:
        opened = open_detached(url)
        if not opened:
            self.no_browser = True
            self.cancel.set()
        return opened

    def ask_redirect(self) -> str:  # pragma: no cover - the bridge never signs in with --no-browser
        raise SignInFailed("mcp", "no_browser", "the bridge cannot ask for a pasted URL")

    def show_device_code(self, code: object) -> None:  # pragma: no cover - MCP sign-in is never a device one
        raise SignInFailed("mcp", "no_device", "the bridge does not sign in with a device code")


class StepUpRefused(Exception):
    """Why a step-up sign-in could not be done: one line for the MCP client, no secret.

    Args:
        reason: a word for programs (``data.reason`` of the bridge's JSON-RPC error).
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class StepUp:
    """Sign-ins again for one bridge session: at most one per set of scopes asked for.

    Args:
        name: the credential.
        url: its MCP server's URL.
        session_vault: the vault, unlocked once for the session
            (:class:`~vault.services.opening.SessionVault`).
    """

    def __init__(self, name: str, url: str, session_vault: SessionVault) -> None:
        self.name, self.url = name, url
        self._vault = session_vault
        self._asked: set[frozenset[str]] = set()
        self._lock = threading.Lock()

    def sign_in(self, status: int, scope: str | None) -> None:
        """Sign in again for ``scope`` (the challenge's; None: it named none), blocking until
        done; the caller sends its request once more after.

        Raises:
            StepUpRefused: the retry limit (this session signed in for these scopes already),
                no browser, the vault cannot be unlocked here, or the sign-in failed.
        """
        from vault.services.mcp_signin import login_mcp

        wanted = frozenset((scope or "").split())
        named = f"scope {scope!r}" if scope else "a sign-in"
        command = mcp_sign_in_command(self.url, self.name) + (f" --scope {shlex.quote(scope)}" if scope else "")
        with self._lock:
            if wanted in self._asked:
                raise StepUpRefused(
                    "sign_in_refused",
                    f"the MCP server at {self.url} asks again for {named} ({status}) after this session signed in "
                    f"for it; not signing in again (check that your account there may have it)",
                )
            self._asked.add(wanted)
            log.warning(
                "the MCP server at %s asks for %s (%s): signing %s in again", self.url, named, status, self.name
            )
            ui = BridgeSignIn()
            try:
                with self._vault.opened() as vault:
                    held = vault.get(self.name).scopes
                    login_mcp(vault, self.url, ui, name=self.name, scopes=[*held, *wanted], cancel=ui.cancel)
            except VaultError as exc:
                if ui.no_browser:
                    raise StepUpRefused(
                        "needs_sign_in",
                        f"the MCP server at {self.url} asks for {named} and the bridge cannot open a browser here: "
                        f"run {command}",
                    ) from None
                raise StepUpRefused(
                    "needs_sign_in", f"signing {self.name} in again for {named} failed ({exc.message}): run {command}"
                ) from None
