"""The OpenAPI paths and security scheme of the recommendation routes (`clicklake.web.recommend`), merged
into `clicklake.web.openapi`."""

from __future__ import annotations

from typing import Any

_S = {"type": "string"}
_ERRORS = {
    code: {
        "description": "refused",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    for code in ("400", "401", "403")
}
_SITE = {"name": "site", "in": "query", "required": True, "schema": _S}


def security_schemes() -> dict[str, Any]:
    return {"read_key": {"type": "apiKey", "in": "query", "name": "key", "description": "a site's public read key"}}


def paths() -> dict[str, Any]:
    item = {
        "type": "object",
        "properties": {"product_id": _S, "score": {"type": "number"}, "source": {"enum": ["neighbours", "popularity"]}},
    }
    answer = {
        "type": "object",
        "properties": {
            "rec_id": _S,
            "site_id": _S,
            "product": _S,
            "user": _S,
            "k": {"type": "integer"},
            "source": {"enum": ["neighbours", "popularity", "mixed"]},
            "as_of": {"type": ["string", "null"], "format": "date-time"},
            "items": {"type": "array", "items": item},
        },
    }
    return {
        "/api/recommendations": {
            "get": {
                "summary": "Products recommended for a product or a user (one of them); see docs/recommendations.md",
                "security": [{"read_key": []}, {"bearer": []}, {"session": []}],
                "parameters": [
                    _SITE,
                    {"name": "product", "in": "query", "schema": _S},
                    {"name": "user", "in": "query", "schema": _S, "description": "a user id hash or anonymous id"},
                    {"name": "k", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                    {
                        "name": "X-Read-Key",
                        "in": "header",
                        "schema": _S,
                        "description": "the read key, instead of ?key=",
                    },
                ],
                "responses": {"200": {"description": "the answer", "content": {"application/json": {"schema": answer}}}}
                | _ERRORS,
            }
        },
        "/api/recommendations/clicks": {
            "get": {
                "summary": "Recommendation answers served and clicked per day, and click-through (scope stats)",
                "security": [{"session": []}, {"bearer": []}],
                "parameters": [
                    _SITE,
                    {"name": "days", "in": "query", "schema": {"type": "integer", "maximum": 366}},
                    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
                    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
                ],
                "responses": {"200": {"description": "results per day, totals, meta with the clicks SQL"}} | _ERRORS,
            }
        },
    }
