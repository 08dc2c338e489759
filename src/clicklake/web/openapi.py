"""The OpenAPI 3.1 document of the JSON API (`GET /api/openapi.json`), built from the metric and dimension tables."""

from __future__ import annotations

from typing import Any

import msgspec

from clicklake import __version__
from clicklake.alerts.rules import CHANNELS, KINDS
from clicklake.query import affiliates, attribution, ecommerce, funnels, menus, paths, retention
from clicklake.query.periods import COMPARES, SHORTHANDS
from clicklake.query.stats import DIMENSIONS, MAX_LIMIT, METRICS, PROPERTY_PREFIX
from clicklake.web import openapi_access, openapi_privacy, openapi_recommend

_STEPS = "{page: PATH} | {event: TYPE} | {custom: NAME}"
#: A body's days: both ends included, in the sites' time zone, or a shorthand.
_DATE_RANGE: dict[str, Any] = {
    "oneOf": [
        {
            "type": "array",
            "prefixItems": [{"type": "string", "format": "date"}, {"type": "string", "format": "date"}],
            "minItems": 2,
            "maxItems": 2,
        },
        {"enum": list(SHORTHANDS)},
    ],
    "description": "first and last day, inclusive, in the sites' time zone (meta.timezone); "
    "or a shorthand resolved at the time of the request (meta.date_range gives the days)",
}
_REPORT_META = "rows; meta: columns, sql, freshness, date_range, timezone (and timezone_note)"
#: The properties every report's body starts with: the sites it reads and its days.
_SITES_AND_DATES: dict[str, Any] = {
    "site_ids": {"type": "array", "items": {"type": "string"}},
    "date_range": _DATE_RANGE,
}


#: The reports of web/reports.py: path → (request struct, summary).
_REPORTS: dict[str, tuple[type[Any], str]] = {
    "/api/retention": (retention.RetentionQuery, "Retention cohorts by first-visit day or week"),
    "/api/paths": (paths.PathQuery, "Next and previous pages of a page, and the top journeys"),
    "/api/attribution": (attribution.AttributionQuery, "Conversions by first- or last-touch source"),
    "/api/affiliates": (affiliates.AffiliateQuery, "Affiliate clicks and payout by link, target or campaign"),
    "/api/ecommerce": (ecommerce.EcommerceQuery, "Top products, or revenue, orders and AOV per day"),
    "/api/menus": (menus.MenuQuery, "QR scans per restaurant, table, link or hour"),
}


def _reports(security: list[dict[str, list[str]]], errors: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The reports' paths and their request schemas (made from the query modules' structs)."""
    structs = [struct for struct, _ in _REPORTS.values()]
    refs, components = msgspec.json.schema_components(structs, ref_template="#/components/schemas/{name}")
    operations: dict[str, Any] = {
        path: {
            "post": {
                "summary": f"{summary} (scope stats); see docs/metrics.md",
                "security": security,
                "requestBody": _json(ref),
                "responses": {"200": {"description": _REPORT_META}} | errors,
            }
        }
        for (path, (_, summary)), ref in zip(_REPORTS.items(), refs, strict=True)
    }
    return operations, components


def _error() -> dict[str, Any]:
    return {
        "description": "refused, with the reason",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _operation(summary: str, security: list[dict[str, list[str]]], errors: dict[str, Any]) -> dict[str, Any]:
    return {"summary": summary, "security": security, "responses": {"200": {"description": "done"}, **errors}}


def openapi_document() -> dict[str, Any]:
    errors = {str(code): _error() for code in (400, 401, 403, 413, 422, 429)}
    dimension = {
        "anyOf": [
            {"enum": list(DIMENSIONS)},
            {
                "type": "string",
                "pattern": f"^{PROPERTY_PREFIX}[A-Za-z_][A-Za-z0-9_]{{0,63}}$",
                "description": "a custom event's property, e.g. prop:plan",
            },
        ]
    }
    stats_query = {
        "type": "object",
        "required": ["site_ids", "metrics", "date_range"],
        "additionalProperties": False,
        "properties": {
            "site_ids": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "metrics": {"type": "array", "items": {"enum": list(METRICS)}, "minItems": 1},
            "dimensions": {"type": "array", "items": dimension},
            "filters": {
                "type": "array",
                "description": "[op, dimension, [values]]",
                "items": {
                    "type": "array",
                    "prefixItems": [
                        {"enum": ["is", "is_not", "contains"]},
                        dimension,
                        {"type": "array", "items": {"type": "string"}},
                    ],
                },
            },
            "date_range": _DATE_RANGE,
            "compare": {"enum": [*COMPARES, None]},
            "order_by": {"type": "array", "items": {"type": "array", "description": "[name, asc|desc]"}},
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": 1000},
            "offset": {"type": "integer", "minimum": 0, "default": 0},
        },
    }
    security: list[dict[str, list[str]]] = [{"session": []}, {"bearer": []}]
    reports, report_schemas = _reports(security, errors)
    return {
        "openapi": "3.1.0",
        "info": {"title": "clicklake API", "version": __version__},
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "clicklake_session"},
                "bearer": {"type": "http", "scheme": "bearer"},
                "share": {"type": "apiKey", "in": "cookie", "name": "clicklake_share"},
                **openapi_recommend.security_schemes(),
            },
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "string"}}},
                "StatsQuery": stats_query,
                **openapi_access.schemas(),
                **report_schemas,
            },
        },
        "paths": {
            "/login": {
                "post": {
                    "summary": "Log in: sets the session cookie, answers the CSRF token",
                    "requestBody": _json(
                        {"type": "object", "properties": {"email": {"type": "string"}, "password": {"type": "string"}}}
                    ),
                    "responses": {"200": {"description": "logged in"}, **errors},
                }
            },
            "/logout": {"post": _operation("End this session (needs X-CSRF-Token)", security, errors)},
            "/api/me": {"get": _operation("The caller, its sites and roles, and the CSRF token", security, errors)},
            "/api/query": {
                "post": {
                    "summary": "The Stats API: metrics by dimensions over a date range (scope stats)",
                    "security": security,
                    "parameters": [{"name": "format", "in": "query", "schema": {"enum": ["json", "csv"]}}],
                    "requestBody": _json({"$ref": "#/components/schemas/StatsQuery"}),
                    "responses": {
                        "200": {
                            "description": "results; meta: columns, sql, freshness (per table), data_until, "
                            "date_range, timezone (and timezone_note); comparison"
                        },
                        **errors,
                    },
                }
            },
            "/api/funnel": {
                "post": {
                    "summary": "Visitors at each step of a funnel (scope stats); see docs/metrics.md",
                    "security": security,
                    "requestBody": _json(
                        {
                            "type": "object",
                            "required": ["site_ids", "date_range"],
                            "properties": {
                                **_SITES_AND_DATES,
                                "steps": {"type": "array", "description": _STEPS},
                                "funnel": {"enum": ["comparison", "shop"]},
                                "order": {"enum": ["sequence", "strict", "any"]},
                                "window_minutes": {"type": "integer", "minimum": 1},
                                "breakdown": {
                                    "enum": list(funnels.BREAKDOWNS),
                                    "description": "split the visitors by this dimension of their entry (step-1) "
                                    "event: one row per group and step, the largest groups first",
                                },
                            },
                        }
                    ),
                    "responses": {
                        "200": {
                            "description": "visitors per step (per group and step with breakdown), shares, the SQL"
                        },
                        **errors,
                    },
                }
            },
            "/api/experiment": {
                "post": {
                    "summary": "Conversion per A/B variant with a 95% Wilson interval (scope stats)",
                    "security": security,
                    "requestBody": _json(
                        {
                            "type": "object",
                            "required": ["site_ids", "date_range"],
                            "properties": {
                                **_SITES_AND_DATES,
                            },
                        }
                    ),
                    "responses": {"200": {"description": "per variant: visits, conversions, interval"}, **errors},
                }
            },
            **reports,
            "/api/sql": {
                "post": {
                    "summary": "One SELECT over the caller's sites, sandboxed (scope sql)",
                    "security": security,
                    "parameters": [{"name": "format", "in": "query", "schema": {"enum": ["json", "csv"]}}],
                    "requestBody": _json({"type": "object", "properties": {"sql": {"type": "string"}}}),
                    "responses": {"200": {"description": "rows, truncated, freshness"}, **errors},
                }
            },
            **openapi_access.paths(),
            **openapi_recommend.paths(),
            **openapi_privacy.paths(),
            "/api/live": {
                "get": {
                    "summary": "Live figures of one site (scope stats): JSON, or Server-Sent Events with "
                    "Accept: text/event-stream; see docs/live.md",
                    "security": security,
                    "parameters": [{"name": "site", "in": "query", "required": True, "schema": {"type": "string"}}],
                    "responses": {
                        "200": {
                            "description": "current visitors, events and page views per minute, top pages, "
                            "sources and countries, conversions and revenue",
                            "content": {"application/json": {}, "text/event-stream": {}},
                        },
                        "503": {"description": "no realtime stage to ask"},
                        **errors,
                    },
                }
            },
            "/api/alerts": {
                "get": _operation(
                    "The alert rules the caller manages, the kinds and channels (scope admin)", security, errors
                ),
                "post": {
                    **_operation("A new alert rule (scope admin); see docs/operations.md", security, errors),
                    "requestBody": _json(
                        {
                            "type": "object",
                            "required": ["kind", "channel", "target"],
                            "properties": {
                                "kind": {"enum": list(KINDS)},
                                "channel": {"enum": list(CHANNELS)},
                                "target": {"type": "string", "description": "a webhook URL or an e-mail address"},
                                "site_id": {"type": "string", "description": "omit for every site (server admins)"},
                                "threshold": {"type": "number"},
                                "minutes": {"type": "number"},
                            },
                        }
                    ),
                },
            },
            "/api/alerts/{rule_id}": {"delete": _operation("Delete an alert rule (scope admin)", security, errors)},
            "/api/email-reports": {
                "get": _operation("The scheduled e-mail reports the caller manages (scope admin)", security, errors),
                "post": {
                    **_operation("A weekly or monthly e-mail report of a site (scope admin)", security, errors),
                    "requestBody": _json(
                        {
                            "type": "object",
                            "required": ["site_id", "period", "email"],
                            "properties": {
                                "site_id": {"type": "string"},
                                "period": {"enum": ["weekly", "monthly"]},
                                "email": {"type": "string"},
                            },
                        }
                    ),
                },
            },
            "/api/email-reports/{report_id}": {
                "delete": _operation("Stop a scheduled e-mail report (scope admin)", security, errors)
            },
        },
    }
