"""The OpenAPI paths and schemas of the access routes: sites, members, links, tokens, users, shared links,
invitations, OIDC sign-in (merged into `clicklake.web.openapi`)."""

from __future__ import annotations

from typing import Any

_SEC: list[dict[str, list[str]]] = [{"session": []}, {"bearer": []}]
_CSRF = "A session's request needs X-CSRF-Token."


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": props, **({"required": required} if required else {})}


_S = {"type": "string"}
_B = {"type": "boolean"}
_I = {"type": "integer"}
_TS = {"type": ["integer", "null"], "description": "epoch milliseconds"}
_SITE_ID = {"name": "site_id", "in": "path", "required": True, "schema": _S}


def _op(
    summary: str,
    answer: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
    status: str = "200",
    params: list[dict[str, Any]] | None = None,
    security: list[dict[str, list[str]]] | None = None,
) -> dict[str, Any]:
    errors = {
        code: {"description": "refused", "content": {"application/json": {"schema": _ref("Error")}}}
        for code in ("400", "401", "403", "404", "410", "429")
    }
    op: dict[str, Any] = {
        "summary": summary,
        "security": _SEC if security is None else security,
        "parameters": params or [],
        "responses": {
            status: {
                "description": "done",
                **({"content": {"application/json": {"schema": answer}}} if answer else {}),
            },
            **errors,
        },
    }
    if body is not None:
        op["requestBody"] = {"content": {"application/json": {"schema": body}}}
    return op


def schemas() -> dict[str, Any]:
    return {
        "Site": _obj(
            {
                "site_id": _S,
                "name": _S,
                "domain": _S,
                "write_key": {"type": "string", "description": "owner and admin only"},
                "allowed_origins": {"type": "array", "items": _S},
                "honor_dnt": _B,
                "honor_gpc": _B,
                "rate_per_s": {"type": ["number", "null"]},
                "created_ts": _I,
                "role": {"enum": ["owner", "admin", "viewer"]},
            }
        ),
        "SitePatch": {
            "type": "object",
            "description": "any fields `Metadata.update_site` accepts; rate_per_s null removes the site's own limit",
            "properties": {
                "name": _S,
                "allowed_origins": {"type": "array", "items": _S},
                "rate_per_s": {"type": ["number", "null"]},
                "honor_dnt": _B,
                "honor_gpc": _B,
            },
        },
        "Member": _obj({"email": _S, "role": {"enum": ["owner", "admin", "viewer"]}}, ["email", "role"]),
        "Link": _obj(
            {
                "link_id": _S,
                "site_id": _S,
                "target": _S,
                "kind": {"enum": ["affiliate", "qr"]},
                "payout_cents": {"type": ["integer", "null"]},
                "created_ts": _I,
                "path": _S,
                "qr_path": _S,
            }
        ),
        "Token": _obj(
            {
                "token_id": _S,
                "email": _S,
                "scope": {"enum": ["stats", "sql", "admin"]},
                "site_id": {"type": ["string", "null"]},
                "created_ts": _I,
                "expires_ts": _TS,
                "last_used_ts": _TS,
                "revoked_ts": _TS,
                "token": {"type": "string", "description": "the secret clk_..., in the creating answer only"},
            }
        ),
        "User": _obj(
            {
                "user_id": _S,
                "email": _S,
                "is_admin": _B,
                "created_ts": _I,
                "sites": {"type": "object", "additionalProperties": _S},
                "password": {"type": "string", "description": "in the creating answer only"},
            }
        ),
        "Share": _obj(
            {
                "share_id": _S,
                "site_id": _S,
                "label": {"type": ["string", "null"]},
                "embed": _B,
                "has_password": _B,
                "created_by": {"type": ["string", "null"]},
                "created_ts": _I,
                "expires_ts": _TS,
                "revoked_ts": _TS,
                "token": {"type": "string", "description": "shr_..., in the creating answer only"},
                "url": {"type": "string", "description": "/share/<token>, in the creating answer only"},
            }
        ),
        "ShareSession": _obj(
            {
                "site_id": _S,
                "site_name": _S,
                "share_id": _S,
                "embed": _B,
                "session": {"type": "string", "description": "shs_...: send as Authorization: Bearer"},
                "csrf_token": {"type": "string", "description": "for requests with the clicklake_share cookie"},
                "expires_ts": _I,
            }
        ),
        "Invitation": _obj(
            {
                "invitation_id": _S,
                "site_id": _S,
                "email": _S,
                "role": {"enum": ["owner", "admin", "viewer"]},
                "created_by": {"type": ["string", "null"]},
                "created_ts": _I,
                "expires_ts": _I,
                "accepted_ts": _TS,
                "revoked_ts": _TS,
                "token": {"type": "string", "description": "inv_..., in the creating answer only"},
                "url": {"type": "string", "description": "/invite/<token>, in the creating answer only"},
            }
        ),
    }


def list_of(key: str, name: str) -> dict[str, Any]:
    return _obj({key: {"type": "array", "items": _ref(name)}})


def paths() -> dict[str, Any]:
    site, member, share = (
        [_SITE_ID],
        [_SITE_ID, {"name": "email", "in": "path", "required": True, "schema": _S}],
        [
            _SITE_ID,
            {"name": "share_id", "in": "path", "required": True, "schema": _S},
        ],
    )
    invitation = [_SITE_ID, {"name": "invitation_id", "in": "path", "required": True, "schema": _S}]
    token = [{"name": "token", "in": "path", "required": True, "schema": _S}]
    return {
        "/api/sites": {
            "get": _op("The sites the caller may see, with its role (scope admin)", list_of("sites", "Site")),
            "post": _op(
                f"Create a site (server admin). {_CSRF}",
                _ref("Site"),
                _obj(
                    {
                        "name": _S,
                        "domain": _S,
                        "allowed_origins": {"type": "array", "items": _S},
                        "honor_dnt": _B,
                        "honor_gpc": _B,
                        "rate_per_s": {"type": ["number", "null"]},
                    },
                    ["name", "domain"],
                ),
                "201",
            ),
        },
        "/api/sites/{site_id}": {
            "get": _op("A site's settings (any role; the write key for owner and admin)", _ref("Site"), params=site),
            "patch": _op(f"Change a site (owner, admin). {_CSRF}", _ref("Site"), _ref("SitePatch"), params=site),
            "delete": _op(f"Delete a site (owner, server admin); its events stay. {_CSRF}", params=site),
        },
        "/api/sites/{site_id}/rotate-key": {
            "post": _op(f"A new write key; the old one stops (owner, admin). {_CSRF}", _ref("Site"), params=site)
        },
        "/api/sites/{site_id}/test-event": {
            "post": _op(
                "Send one page view of /clicklake-test-event through the collector of this process, as the asking "
                f"browser (owner, admin; 503 under `clicklake web` alone). {_CSRF}",
                _obj({"accepted": _I, "consent_denied": _I, "rejected": {"type": "array", "items": _S}, "page": _S}),
                params=site,
            )
        },
        "/api/sites/{site_id}/members": {
            "get": _op("The site's members (any role)", list_of("members", "Member"), params=site),
            "post": _op(
                f"Give an existing user a role; only an owner grants or takes owner (owner, admin). {_CSRF}",
                _ref("Member"),
                _ref("Member"),
                params=site,
            ),
        },
        "/api/sites/{site_id}/members/{email}": {
            "delete": _op(f"Take a member's role away (owner, admin). {_CSRF}", params=member)
        },
        "/api/sites/{site_id}/links": {
            "get": _op("The site's tracked links and QR codes (any role)", list_of("links", "Link"), params=site),
            "post": _op(
                f"A tracked link or QR code (owner, admin). {_CSRF}",
                _ref("Link"),
                _obj({"target": _S, "kind": {"enum": ["affiliate", "qr"]}, "payout_cents": _I}, ["target"]),
                "201",
                site,
            ),
        },
        "/api/sites/{site_id}/shares": {
            "get": _op("The site's shared links (owner, admin)", list_of("shares", "Share"), params=site),
            "post": _op(
                f"A read-only shared link, shown once (owner, admin). {_CSRF}",
                _ref("Share"),
                _obj({"password": _S, "embed": _B, "label": _S, "expires_days": {"type": "number"}}),
                "201",
                site,
            ),
        },
        "/api/sites/{site_id}/shares/{share_id}": {
            "delete": _op(f"Revoke a shared link and end its sessions (owner, admin). {_CSRF}", params=share)
        },
        "/api/sites/{site_id}/invitations": {
            "get": _op("The site's invitations (owner, admin)", list_of("invitations", "Invitation"), params=site),
            "post": _op(
                f"Invite an e-mail with a role: a one-time link, 7 days by default (owner, admin). {_CSRF}",
                _ref("Invitation"),
                _obj({"email": _S, "role": {"enum": ["owner", "admin", "viewer"]}, "expires_days": {"type": "number"}}),
                "201",
                site,
            ),
        },
        "/api/sites/{site_id}/invitations/{invitation_id}": {
            "delete": _op(f"Revoke an invitation (owner, admin). {_CSRF}", params=invitation)
        },
        "/api/tokens": {
            "get": _op("The caller's own API tokens (never their secrets)", list_of("tokens", "Token")),
            "post": _op(
                f"A token of the caller; the secret is in this answer only. {_CSRF}",
                _ref("Token"),
                _obj(
                    {
                        "scope": {"enum": ["stats", "sql", "admin"]},
                        "site_id": _S,
                        "expires_days": {"type": "number"},
                    },
                    ["scope"],
                ),
                "201",
            ),
        },
        "/api/tokens/{token_id}": {
            "delete": _op(
                f"Revoke one of the caller's tokens. {_CSRF}",
                params=[{"name": "token_id", "in": "path", "required": True, "schema": _S}],
            )
        },
        "/api/users": {
            "get": _op("Every user with their sites (server admin)", list_of("users", "User")),
            "post": _op(
                f"Create a user; the password is in this answer only (server admin). {_CSRF}",
                _ref("User"),
                _obj({"email": _S, "is_admin": _B, "password": _S}, ["email"]),
                "201",
            ),
        },
        "/api/users/{email}": {
            "delete": _op(
                f"Delete a user (server admin; not oneself). {_CSRF}",
                params=[{"name": "email", "in": "path", "required": True, "schema": _S}],
            )
        },
        "/share/{token}": {
            "get": _op(
                "Open a shared link: HTML, or with Accept: application/json the share session (401 "
                "needs_password when it has one)",
                _ref("ShareSession"),
                params=token,
                security=[],
            ),
            "post": _op(
                "Give a shared link's password (a form or JSON): the share session",
                _ref("ShareSession"),
                _obj({"password": _S}, ["password"]),
                params=token,
                security=[],
            ),
        },
        "/invite/{token}": {
            "get": _op(
                "What an invitation is: HTML, or JSON with Accept: application/json",
                _obj({"email": _S, "site_id": _S, "site_name": _S, "role": _S, "expires_ts": _I, "has_account": _B}),
                params=token,
                security=[],
            ),
            "post": _op(
                "Accept: {password} makes the new user and logs them in; a user who exists sends their session "
                "and X-CSRF-Token",
                _obj({"email": _S, "site_id": _S, "role": _S, "csrf_token": _S}),
                _obj({"password": _S}),
                params=token,
                security=[],
            ),
        },
        "/api/login-methods": {
            "get": _op("Which sign-ins are on", _obj({"password": _B, "oidc": _B, "oidc_url": _S}), security=[])
        },
        "/login/oidc": {
            "get": {
                "summary": "Sign in with the OpenID provider (when configured): 302 to it; ?next=/path",
                "responses": {"302": {"description": "to the provider"}},
            }
        },
        "/oidc/callback": {
            "get": {
                "summary": "The provider's answer: 303 to next with the session cookie",
                "responses": {"303": {"description": "logged in"}},
            }
        },
    }
