"""The three ways to sign in: browser + loopback, browser + pasted redirect, device code.

Each returns a :class:`~vault.oauth.tokens.TokenSet` and writes nothing: storing
is the caller's job, so a failed or cancelled sign-in cannot leave a half-written
credential.  The user-facing side (printing the URL, opening the browser,
asking for a paste, showing a device code) goes through :class:`SignInUI`, which
the CLI and the TUI each implement.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Protocol

import httpx2

from vault.core.model import ClientRegistration
from vault.core.providers import Provider, check_endpoint, loopback_redirect_uri
from vault.core.secret import Secret
from vault.errors import InvalidInput, ProviderError, SignInFailed
from vault.oauth.client import OAuthClient, form
from vault.oauth.http import describe_failure, json_object
from vault.oauth.loopback import Expectation, LoopbackListener, check_callback, free_port, query_params
from vault.oauth.sessions import open_session
from vault.oauth.tokens import TokenSet, raise_for_error, token_set

DEFAULT_TIMEOUT = 300.0
"""Five minutes for the user to finish in the browser."""

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@dataclass(frozen=True)
class DeviceCode:
    """What the user needs to approve a device sign-in (RFC 8628 §3.2)."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float
    device_code: Secret
    """Polled with; never shown."""


class SignInUI(Protocol):
    """How a flow talks to the person signing in."""

    def show_url(self, url: str) -> None:
        """Show the authorization URL (always, so it can be opened by hand)."""

    def open_browser(self, url: str) -> bool:
        """Open ``url`` (already checked to be https or loopback http); False if no browser."""

    def ask_redirect(self) -> str:
        """Ask for the URL the browser was redirected to (``--no-browser``)."""

    def show_device_code(self, code: DeviceCode) -> None:
        """Show the user code and where to enter it."""


Timings = MutableMapping[str, float]
"""Optional stage durations (seconds) filled in by the flows, for benchmarks/signin.py."""


class _Stopwatch:
    def __init__(self, timings: Timings | None) -> None:
        self._timings = timings
        self._mark = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        if self._timings is not None:
            self._timings[stage] = now - self._mark
        self._mark = now


def browser_sign_in(
    provider: Provider,
    registration: ClientRegistration,
    ui: SignInUI,
    *,
    scopes: tuple[str, ...],
    no_browser: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    transport: httpx2.BaseTransport | None = None,
    now: Callable[[], float] = time.time,
    timings: Timings | None = None,
    cancel: threading.Event | None = None,
) -> TokenSet:
    """Authorization code + PKCE S256 + state, answered on a loopback listener or pasted.

    The listener is accepting before the browser is opened.

    Raises:
        SignInFailed: refused, mismatched, timed out; ProviderError: the token call failed.
    """
    from authlib.common.security import generate_token

    if not provider.authorize_url or not provider.token_url:
        raise InvalidInput(f"{provider.key} has no authorization or token endpoint configured")
    state = generate_token(32)
    verifier = generate_token(64) if provider.pkce == "S256" else None  # RFC 7636 §4.1: 43-128 chars
    expected = Expectation(provider.key, state, provider.issuer if provider.iss_parameter_supported else None)
    watch = _Stopwatch(timings)
    listener: LoopbackListener | None = None
    if no_browser:
        redirect_uri = loopback_redirect_uri(provider.redirect_port or free_port())
    else:
        listener = LoopbackListener(expected, provider.redirect_port)
        listener.start()
        redirect_uri = listener.redirect_uri
    watch.lap("listener")
    session = open_session(provider, registration, redirect_uri, scopes, transport)
    try:
        url = session.authorization_url(state, verifier)
        check_endpoint(url, "the authorization URL")
        ui.show_url(url)
        if listener is None:
            code = check_callback(query_params(ui.ask_redirect().strip()), expected)
        else:
            # On its own thread: webbrowser waits for a $BROWSER command to exit, and a
            # browser that stays open must not hold up the callback or the timeout.
            threading.Thread(target=ui.open_browser, args=(url,), name="tokendeck-browser", daemon=True).start()
            code = listener.wait(timeout, cancel)
        watch.lap("browser")
        data = session.exchange(code, verifier)
        watch.lap("exchange")
    finally:
        session.close()
        if listener is not None:
            listener.close()
    if provider.refresh_sends_redirect_uri:
        data = {**data, "redirect_uri": redirect_uri}  # GitLab wants it again on every refresh
    return token_set(data, provider, now=now(), requested=scopes)


def device_sign_in(
    provider: Provider,
    registration: ClientRegistration,
    ui: SignInUI,
    *,
    scopes: tuple[str, ...],
    transport: httpx2.BaseTransport | None = None,
    now: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] | None = None,
    wall_clock: Callable[[], float] = time.time,
    cancel: threading.Event | None = None,
) -> TokenSet:
    """The device authorization grant (RFC 8628), with GitHub's and Google's deviations.

    Raises:
        InvalidInput: the provider has no device endpoint.
        SignInFailed: denied, or the code expired; ProviderError: anything else.
    """
    refusal = provider.device_refusal()
    if refusal is not None or not provider.device_authorization_url or not provider.token_url:
        raise InvalidInput(refusal or f"{provider.key} has no token endpoint configured")
    with OAuthClient(provider, registration, transport) as client:
        try:
            fields = {"scope": " ".join(scopes), **({"resource": provider.resource} if provider.resource else {})}
            response = client.post(provider.device_authorization_url, form(fields))
        except httpx2.HTTPError as exc:
            raise ProviderError(provider.key, "network", f"device endpoint: {describe_failure(exc)}") from None
        data = json_object(response, provider.key, "the device authorization response")
        raise_for_error(data, response.status_code, provider.key)
        code = _device_code(data, provider.key)
        ui.show_device_code(code)
        interval = code.interval
        deadline = now() + code.expires_in
        while True:
            if sleep is not None:
                sleep(interval)
            elif (cancel or threading.Event()).wait(interval):
                raise SignInFailed(provider.key, "cancelled", "the sign-in was cancelled")
            if now() > deadline:
                raise SignInFailed(provider.key, "expired_token", "the code expired before it was approved")
            try:
                answer = client.token_request(DEVICE_GRANT, device_code=code.device_code.reveal())
            except ProviderError as exc:
                if exc.code == "authorization_pending":
                    continue
                if exc.code == "slow_down":  # RFC 8628 §3.5: +5 s for this and every later poll
                    interval += 5
                    continue
                if exc.code == "access_denied":
                    raise SignInFailed(provider.key, "access_denied", "the sign-in was declined") from None
                if exc.code in ("expired_token", "token_expired"):
                    raise SignInFailed(
                        provider.key, "expired_token", "the code expired before it was approved"
                    ) from None
                hint = provider.device_error_hint(exc.description)
                if hint is not None:
                    raise ProviderError(provider.key, exc.code, hint) from None
                raise
            return token_set(answer, provider, now=wall_clock(), requested=scopes)


def _device_code(data: dict[str, object], provider: str) -> DeviceCode:
    uri = data.get("verification_uri") or data.get("verification_url")  # Google says _url
    device_code, user_code = data.get("device_code"), data.get("user_code")
    if not isinstance(device_code, str) or not isinstance(user_code, str) or not isinstance(uri, str):
        raise ProviderError(provider, "bad_response", "the device response lacks device_code, user_code or the URI")
    if not user_code or len(user_code) > 64 or not user_code.isprintable():  # shown to the user as it is
        raise ProviderError(provider, "bad_response", "the device response's user_code is not a short printable code")
    check_endpoint(uri, "the verification URI")
    complete = data.get("verification_uri_complete")
    if isinstance(complete, str):
        check_endpoint(complete, "the verification URI")
    try:
        expires_in = float(data.get("expires_in") or 900)  # type: ignore[arg-type]
        interval = float(data.get("interval") or 5)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ProviderError(
            provider, "bad_response", "the device response has a non-numeric expires_in or interval"
        ) from None
    return DeviceCode(
        user_code=user_code,
        verification_uri=uri,
        verification_uri_complete=complete if isinstance(complete, str) else None,
        expires_in=min(max(expires_in, 1.0), 3600.0),
        interval=min(max(interval, 1.0), 60.0),
        device_code=Secret(device_code),
    )
