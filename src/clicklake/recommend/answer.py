"""One recommendation answer, as the API and `clicklake recommend` give it."""

from __future__ import annotations

import secrets
from typing import Any, Final

from clicklake.errors import InputError
from clicklake.recommend.index import Index, empty_site

MAX_K: Final = 100
DEFAULT_K: Final = 10


def new_rec_id() -> str:
    """The id of one answer; a click on one of its items sends it back (`recommendation_click`)."""
    return "rec_" + secrets.token_hex(8)


def parse_k(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_K
    if not value.isdigit() or not 1 <= int(value) <= MAX_K:
        raise InputError(f"k must be a whole number from 1 to {MAX_K}; got {value!r}")
    return int(value)


def recommend(index: Index, site_id: str, *, product: str | None, user: str | None, k: int) -> dict[str, Any]:
    """`{rec_id, site_id, product|user, k, source, as_of, items: [{product_id, score, source}]}`.

    `source` says what the answer rests on: "neighbours" when every item came from the model,
    "popularity" when the product or visitor is unknown (or the model knows too little), "mixed"
    when popular items filled up the neighbours.
    """
    if (product is None) == (user is None):
        raise InputError("ask for one product (product=P) or one user (user=U)")
    site = index.site(site_id) or empty_site()
    items = site.for_product(product, k) if product is not None else site.for_user(user or "", k)
    sources = {i.source for i in items}
    body: dict[str, Any] = {"rec_id": new_rec_id(), "site_id": site_id}
    body["product" if product is not None else "user"] = product if product is not None else user
    body.update(
        k=k,
        source=sources.pop() if len(sources) == 1 else ("mixed" if sources else "popularity"),
        as_of=index.as_of.get(site_id),
        items=[{"product_id": i.product_id, "score": i.score, "source": i.source} for i in items],
    )
    return body
