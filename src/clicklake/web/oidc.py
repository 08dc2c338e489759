"""OpenID Connect sign-in (being written)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

if TYPE_CHECKING:
    from clicklake.web.app import Web


def routes(web: Web) -> list[BaseRoute]:
    return []
