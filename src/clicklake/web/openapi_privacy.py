"""The OpenAPI paths of erasure, access export, retention and usage (`clicklake.web.privacy`)."""

from __future__ import annotations

from typing import Any

from clicklake.web.openapi_access import _CSRF, _I, _S, _SITE_ID, _obj, _op

_DAYS = {"type": ["integer", "null"], "minimum": 0, "description": "days kept; 0 for ever; null: the setting"}
_RECEIPT = _obj(
    {
        "erasure_id": _S,
        "site_id": _S,
        "started_ts": _I,
        "finished_ts": _I,
        "rows": {"type": "object", "additionalProperties": _I, "description": "rows erased per table"},
        "files_deleted": _I,
        "bytes_deleted": _I,
        "requested_by": {"type": ["string", "null"]},
    }
)
_RETENTION = _obj(
    {"site_id": _S, "bronze_days": _I, "quarantine_days": _I, "silver_days": _I, "own": {"type": "array", "items": _S}}
)
_USAGE = _obj(
    {
        "site_id": _S,
        "bytes": _I,
        "files": _I,
        "rows": _I,
        "tables": {"type": "array", "items": _obj({"table": _S, "rows": _I, "files": _I, "bytes": _I})},
        "events_per_day": {"type": "array", "items": _obj({"day": _S, "events": _I})},
    }
)


def paths() -> dict[str, Any]:
    site = [_SITE_ID]
    user: list[dict[str, Any]] = [
        _SITE_ID,
        {"name": "user", "in": "path", "required": True, "schema": _S, "description": "user_id_hash, or -"},
        {"name": "email", "in": "query", "schema": _S, "description": "name the person by e-mail instead"},
    ]
    return {
        "/api/sites/{site_id}/erasures": {
            "post": _op(
                f"Erase one person of the site everywhere (owner, admin); see docs/privacy.md. {_CSRF}",
                _RECEIPT,
                _obj({"user_id_hash": _S, "email": _S}),
                "201",
                params=site,
            ),
            "get": _op(
                "The erasure receipts of the site, newest first (owner, admin)",
                _obj({"erasures": {"type": "array", "items": _RECEIPT}}),
                params=site,
            ),
        },
        "/api/sites/{site_id}/users/{user}/export": {
            "get": _op(
                "Everything held about one person, every row of every table (owner, admin)",
                _obj(
                    {"user_id_hash": _S, "anonymous_ids": {"type": "array", "items": _S}, "tables": {"type": "object"}}
                ),
                params=user,
            ),
        },
        "/api/sites/{site_id}/retention": {
            "get": _op("Days each layer of the site is kept (owner, admin)", _RETENTION, params=site),
            "patch": _op(
                f"Set the site's retention (owner, admin). {_CSRF}",
                _RETENTION,
                _obj({"bronze_days": _DAYS, "quarantine_days": _DAYS, "silver_days": _DAYS}),
                params=site,
            ),
        },
        "/api/sites/{site_id}/usage": {
            "get": _op(
                "Storage of the site: bytes, files, rows per table, events per day (scope stats)", _USAGE, params=site
            )
        },
    }
