"""Provider quirks the loopback authorization server can put on in front of Authlib, as WSGI
middleware, so one server plays any provider's part (PROVIDERS.md Part E):

- Notion's calls: JSON bodies on ``/token`` and ``/revoke`` (read as the same fields), a
  ``Notion-Version`` header that must be there, and a token endpoint that refuses any body
  field it does not document (``code_verifier``, for one: Notion has no PKCE);
- Google's revocation endpoint: revoking either token of a grant revokes the whole grant, and
  a token that is no longer valid gets 400 ``invalid_token`` instead of RFC 7009's 200
  (that part lives in the server's revocation endpoint; see ``Settings``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

if TYPE_CHECKING:
    from tests.support.authserver import Settings

Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
CALLS = ("/token", "/revoke")


def _refuse(start_response: Callable[..., Any], error: str, description: str) -> list[bytes]:
    body = json.dumps({"error": error, "error_description": description}).encode()
    start_response("400 Bad Request", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def with_quirks(app: Wsgi, settings: Settings) -> Wsgi:
    """``app`` behind the quirks ``settings`` asks for (each off by default)."""

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or path not in CALLS:
            return app(environ, start_response)
        for name, value in settings.required_headers.items():
            sent = environ.get("HTTP_" + name.upper().replace("-", "_"))
            if sent != value:
                return _refuse(start_response, "invalid_request", f"{name} must be {value}, not {sent}")
        if settings.json_bodies and environ.get("CONTENT_TYPE", "").startswith("application/json"):
            raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            try:
                fields = json.loads(raw)
            except ValueError:
                return _refuse(start_response, "invalid_request", "the body is not JSON")
            if not isinstance(fields, dict):
                return _refuse(start_response, "invalid_request", "the body is not a JSON object")
            body = urlencode({k: str(v) for k, v in fields.items()}).encode()
            environ.update(
                {
                    "wsgi.input": io.BytesIO(body),
                    "CONTENT_TYPE": "application/x-www-form-urlencoded",
                    "CONTENT_LENGTH": str(len(body)),
                }
            )
        else:
            fields = None
        allowed = settings.token_fields
        if path == "/token" and allowed is not None and fields is not None and set(fields) - allowed:
            unknown = ", ".join(sorted(set(fields) - allowed))
            return _refuse(start_response, "invalid_request", f"body failed validation: unknown field {unknown}")
        return app(environ, start_response)

    return serve
