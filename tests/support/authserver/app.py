"""The Flask application: the test authorization server's routes, over Authlib's endpoints."""

from __future__ import annotations

import base64
import binascii
import html
import traceback
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal, cast
from urllib.parse import unquote_plus

import flask
from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2 import OAuth2Error
from werkzeug.exceptions import HTTPException

from tests.support.authserver.grants import (
    _AuthorizationCodeGrant,
    _BearerTokenValidator,
    _DeviceAuthorizationEndpoint,
    _DeviceCodeGrant,
    _FlaskAuthorizationServer,
    _IssuerParameter,
    _RefreshTokenGrant,
    _RegistrationEndpoint,
    _RevocationEndpoint,
    _S256CodeChallenge,
)
from tests.support.authserver.models import Client, RevocationRecord, TokenRequestRecord
from tests.support.authserver.settings import Override
from tests.support.authserver.store import _Store
from tests.support.provider_quirks import with_quirks

if TYPE_CHECKING:
    from tests.support.authserver.server import AuthServer

Response = flask.Response


def _html_page(title: str, body: str, status: int = 200) -> Response:
    page = (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title></head>\n<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )
    return Response(page, status=status, content_type="text/html; charset=utf-8")


def _override_response(override: Override) -> Response:
    status, content_type, body = override
    return Response(body, status=status, content_type=content_type)


def build_app(auth: AuthServer, store: _Store) -> flask.Flask:
    """The Flask application serving ``auth``'s endpoints over its ``store``."""
    app = flask.Flask(__name__)
    server = _FlaskAuthorizationServer(app, store)
    server.register_grant(_AuthorizationCodeGrant, [_S256CodeChallenge(auth.settings)])
    server.register_grant(_RefreshTokenGrant)
    server.register_grant(_DeviceCodeGrant)
    server.register_endpoint(_RevocationEndpoint)
    server.register_endpoint(_DeviceAuthorizationEndpoint(server))
    server.register_endpoint(_RegistrationEndpoint(server, auth.settings, auth.metadata))
    issuer_parameter = _IssuerParameter(store)
    server.register_extension(issuer_parameter)
    protector = ResourceProtector()
    protector.register_token_validator(_BearerTokenValidator(store))

    def authorization_error(error: OAuth2Error) -> Response:
        if error.redirect_uri:
            # RFC 6749 §4.1.2.1 redirect, with state and (RFC 9207) iss.
            response = server.handle_error_response(None, error)
            issuer_parameter.add_issuer_parameter(server, response)
            return cast(Response, response)
        # Unknown client or unregistered redirect_uri: never redirect (§4.1.2.1).
        body = f"<p id='error'>{html.escape(error.error or '')}</p><p>{html.escape(error.description or '')}</p>"
        return _html_page("Authorization error", body, status=error.status_code)

    @app.errorhandler(Exception)
    def crashed(error: Exception) -> Any:
        if isinstance(error, HTTPException):
            return error
        with store.lock:
            store.errors.append("".join(traceback.format_exception(error)))
        return Response("internal error in the test authorization server", status=500)

    @app.get("/authorize")
    def authorize_page() -> Response:
        with store.lock:
            store.authorization_log.append(dict(flask.request.args.items()))
            user = store.user(auth.settings.default_username)
            try:
                grant = server.get_consent_grant(end_user=user)
            except OAuth2Error as error:
                return authorization_error(error)
            client: Client = grant.client
            action = html.escape(flask.request.full_path, quote=True)
            username = html.escape(user.username if user else "", quote=True)
            body = (
                f"<p>The application <b>{html.escape(client.client_id)}</b> asks for "
                f"<span id='scope'>{html.escape(grant.request.scope or '')}</span>.</p>\n"
                f"<form method='post' action='{action}'>\n"
                f"<input type='hidden' name='username' value='{username}'>\n"
                "<button type='submit' name='confirm' value='yes'>Allow</button>\n"
                "<button type='submit' name='confirm' value='no'>Deny</button>\n"
                "</form>"
            )
            return _html_page(f"Authorize {client.client_id}", body)

    @app.post("/authorize")
    def authorize_decision() -> Response:
        with store.lock:
            confirm = flask.request.form.get("confirm")
            username = flask.request.form.get("username") or auth.settings.default_username
            user = store.user(username)
            if confirm not in ("yes", "no") or user is None:
                return _html_page("Bad consent form", "<p>confirm must be yes or no</p>", status=400)
            try:
                grant = server.get_consent_grant(end_user=user)
            except OAuth2Error as error:
                return authorization_error(error)
            return cast(
                Response,
                server.create_authorization_response(
                    request=grant.request, grant_user=user if confirm == "yes" else None, grant=grant
                ),
            )

    @app.post("/token")
    def token() -> Response:
        with store.lock:
            override = auth.settings.token_response_override
            allowed = auth.settings.resource_indicators
            if override is None and allowed is not None and flask.request.form.get("resource") not in allowed:
                override = (400, "application/json", b'{"error": "invalid_target"}')
            response = _override_response(override) if override is not None else server.create_token_response()
            if override is not None:
                response.headers.update(auth.settings.token_response_headers)
            store.token_log.append(_token_record(flask.request, response, overridden=override is not None))
            return cast(Response, response)

    @app.post("/revoke")
    def revoke() -> Response:
        with store.lock:
            override = auth.settings.revocation_response_override
            response = (
                _override_response(override) if override is not None else server.create_endpoint_response("revocation")
            )
            record = flask.g.pop("revocation_record", None)
            invalid_status = auth.settings.revoke_invalid_token_status
            dead = record is None or not record.was_active
            if override is None and invalid_status != 200 and response.status_code == 200 and dead:
                body = b'{"error": "invalid_token"}'  # Google's 400 for a token already dead
                response = _override_response((invalid_status, "application/json", body))
            record = record or RevocationRecord(
                token_type_hint=flask.request.form.get("token_type_hint"),
                known=False,
                matched=None,
                was_active=False,
                client_id=None,
                status=0,
            )
            store.revocation_log.append(replace(record, status=response.status_code))
            return cast(Response, response)

    @app.post("/device_authorization")
    def device_authorization() -> Response:
        with store.lock:
            override = auth.settings.device_authorization_response_override
            if override is not None:
                return _override_response(override)
            return cast(Response, server.create_endpoint_response("device_authorization"))

    @app.get("/device")
    def device_page() -> Response:
        code = html.escape(flask.request.args.get("user_code", ""), quote=True)
        body = (
            "<form method='post' action='/device'>\n"
            f"<label>Code <input type='text' name='user_code' value='{code}'></label>\n"
            "<button type='submit' name='confirm' value='yes'>Allow</button>\n"
            "<button type='submit' name='confirm' value='no'>Deny</button>\n"
            "</form>"
        )
        return _html_page("Connect a device", body)

    @app.post("/device")
    def device_decision() -> Response:
        confirm = flask.request.form.get("confirm")
        user_code = flask.request.form.get("user_code", "")
        username = flask.request.form.get("username") or auth.settings.default_username
        if confirm not in ("yes", "no"):
            return _html_page("Bad device form", "<p>confirm must be yes or no</p>", status=400)
        with store.lock:
            credential = store.device_by_user_code(user_code)
            if credential is None or credential.is_expired() or credential.decision is not None:
                return _html_page("Unknown code", "<p id='result'>unknown or expired code</p>", status=400)
            if store.user(username) is None:
                return _html_page("Unknown user", "<p>no such user</p>", status=400)
            credential.decision = (username, confirm == "yes")
        result = "approved" if confirm == "yes" else "denied"
        return _html_page(f"Device {result}", f"<p id='result'>{result}</p>")

    @app.get("/userinfo")
    def userinfo() -> Response:
        with store.lock:
            override = auth.settings.userinfo_response_override
            if override is not None:
                return _override_response(override)
            try:
                bearer = protector.acquire_token()
            except OAuth2Error as error:
                protector.raise_error_response(error)  # 401 + WWW-Authenticate (RFC 6750 §3)
            user = store.user(bearer.username)
            assert user is not None
            return flask.jsonify(user.userinfo())

    @app.post("/register")
    def register() -> Response | tuple[Response, int]:
        with store.lock:
            if not auth.settings.dynamic_registration:
                return Response("not found", status=404)
            refusal = auth.settings.registration_refusal
            if refusal is not None:
                body = {"error": refusal, "error_description": "registration refused by this server"}
                return flask.jsonify(body), 400
            return cast(Response, server.create_endpoint_response("client_registration"))

    @app.get("/.well-known/oauth-authorization-server")
    @app.get("/.well-known/openid-configuration")
    def metadata() -> Response:
        return flask.jsonify(auth.metadata())

    app.wsgi_app = with_quirks(app.wsgi_app, auth.settings)  # type: ignore[method-assign,assignment]
    return app


def _basic_client_id(header: str | None) -> str | None:
    kind, _, value = (header or "").partition(" ")
    if kind.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return unquote_plus(decoded.partition(":")[0])


def _token_record(request: flask.Request, response: Response, *, overridden: bool) -> TokenRequestRecord:
    form = request.form
    basic_id = _basic_client_id(request.headers.get("Authorization"))
    auth_method: Literal["client_secret_basic", "client_secret_post", "none"]
    if basic_id is not None:
        auth_method = "client_secret_basic"
    elif form.get("client_secret"):
        auth_method = "client_secret_post"
    else:
        auth_method = "none"
    error = None
    if response.status_code >= 400 and response.is_json:
        try:
            body = response.get_json(silent=True)
        except RecursionError:  # an override of nested JSON, sent on purpose
            body = None
        if isinstance(body, dict):
            error = body.get("error")
    return TokenRequestRecord(
        grant_type=form.get("grant_type", ""),
        client_id=basic_id or form.get("client_id"),
        auth_method=auth_method,
        status=response.status_code,
        error=error,
        has_code_verifier="code_verifier" in form,
        redirect_uri=form.get("redirect_uri"),
        scope=form.get("scope"),
        overridden=overridden,
        resource=form.get("resource"),
    )
