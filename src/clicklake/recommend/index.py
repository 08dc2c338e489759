"""The recommendation index: the transform's three tables held in memory, per site, as flat arrays.

One `SiteIndex` per site. Product ids are numbered once (`ids`, `pos`); a product's
neighbours are the slice `offsets[i]:offsets[i + 1]` of `neighbours` and `scores` (best
first), the compressed-row layout: about 8 bytes per neighbour plus one dict entry and one
string per product, where a dict of lists of Python objects would take ten times as much.
A visitor's products are the slice `user_offsets[j]:user_offsets[j + 1]`, most recent first.

An `Index` never changes once built: a newer one replaces it whole (`clicklake.recommend.store`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

#: A visitor's n-th most recent product counts RECENCY ** n of its own weight in ?user= answers.
RECENCY: Final = 0.7
#: Most products of a visitor's history that a ?user= answer starts from.
HISTORY: Final = 20

I32 = npt.NDArray[np.int32]
F32 = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Item:
    product_id: str
    score: float
    #: "neighbours" (co-occurrence with the product or the visitor's products) or "popularity"
    source: str


@dataclass(frozen=True)
class SiteIndex:
    """One site's neighbours, popularity and visitors' histories (see the module docstring)."""

    ids: list[str]
    pos: dict[str, int]
    offsets: npt.NDArray[np.int64]
    neighbours: I32
    scores: F32
    popular: I32
    popular_scores: F32
    users: dict[str, int] = field(default_factory=dict)
    user_offsets: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(1, np.int64))
    user_items: I32 = field(default_factory=lambda: np.zeros(0, np.int32))
    user_weights: F32 = field(default_factory=lambda: np.zeros(0, np.float32))
    user_purchased: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, np.bool_))

    def nbytes(self) -> int:
        """Bytes of the arrays (the product ids and dicts are not counted here)."""
        arrays = (self.offsets, self.neighbours, self.scores, self.popular, self.popular_scores)
        users = (self.user_offsets, self.user_items, self.user_weights, self.user_purchased)
        return sum(a.nbytes for a in (*arrays, *users))

    def history(self, user: str) -> tuple[I32, F32, set[int]] | None:
        """The visitor's products (most recent first), their weights, and the ones bought; None if unknown."""
        j = self.users.get(user)
        if j is None:
            return None
        lo, hi = int(self.user_offsets[j]), int(self.user_offsets[j + 1])
        items, weights, bought = self.user_items[lo:hi], self.user_weights[lo:hi], self.user_purchased[lo:hi]
        return items, weights, {int(i) for i in items[bought]}

    def from_items(self, items: I32, weights: F32, exclude: set[int], k: int) -> list[Item]:
        """The `k` best products by neighbour score summed over `items` (each times its weight), then
        the most popular to fill up; never one of `exclude`."""
        out: list[Item] = []
        chosen: set[int] = set()
        if items.size:
            # every neighbour of every item in one gather: positions of the concatenated slices
            starts = self.offsets[items]
            lengths = self.offsets[items + 1] - starts
            before = np.cumsum(lengths) - lengths
            positions = np.repeat(starts - before, lengths) + np.arange(int(lengths.sum()))
            candidates = self.neighbours[positions]
            scores = self.scores[positions] * np.repeat(weights, lengths)
            if candidates.size:
                unique, inverse = np.unique(candidates, return_inverse=True)
                summed = np.bincount(inverse, weights=scores)
                if exclude:
                    summed[np.isin(unique, np.fromiter(exclude, np.int32, len(exclude)))] = -np.inf
                take = min(k, unique.size)
                best = np.argpartition(-summed, take - 1)[:take] if take < unique.size else np.arange(unique.size)
                best = best[np.lexsort((unique[best], -summed[best]))]
                for b in best.tolist():
                    if summed[b] == -np.inf:
                        break
                    chosen.add(int(unique[b]))
                    out.append(Item(self.ids[int(unique[b])], round(float(summed[b]), 6), "neighbours"))
        if len(out) < k:
            for p, s in zip(self.popular.tolist(), self.popular_scores.tolist(), strict=True):
                if p in exclude or p in chosen:
                    continue
                out.append(Item(self.ids[p], round(float(s), 6), "popularity"))
                if len(out) == k:
                    break
        return out

    def for_product(self, product: str, k: int) -> list[Item]:
        i = self.pos.get(product)
        if i is None:
            return self.from_items(np.zeros(0, np.int32), np.zeros(0, np.float32), set(), k)
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        if hi - lo < k:
            return self.from_items(np.array([i], np.int32), np.ones(1, np.float32), {i}, k)
        # the product's own list is ranked already (and never holds the product itself)
        ids, scores = self.neighbours[lo : lo + k].tolist(), self.scores[lo : lo + k].tolist()
        return [Item(self.ids[n], round(s, 6), "neighbours") for n, s in zip(ids, scores, strict=True)]

    def for_user(self, user: str, k: int) -> list[Item]:
        found = self.history(user)
        if found is None:
            return self.from_items(np.zeros(0, np.int32), np.zeros(0, np.float32), set(), k)
        items, weights, bought = found
        recent = items[:HISTORY]
        decay = RECENCY ** np.arange(recent.size, dtype=np.float32)
        return self.from_items(recent, (weights[:HISTORY] * decay).astype(np.float32), bought, k)


@dataclass(frozen=True)
class Index:
    """Every site's `SiteIndex`, and the snapshots they were read from."""

    sites: dict[str, SiteIndex]
    snapshots: tuple[int | None, ...] = ()
    #: the newest product event the model saw (ISO 8601), per site
    as_of: dict[str, str] = field(default_factory=dict)

    def site(self, site_id: str) -> SiteIndex | None:
        return self.sites.get(site_id)


_EMPTY_SITE: Final = SiteIndex(
    ids=[],
    pos={},
    offsets=np.zeros(1, np.int64),
    neighbours=np.zeros(0, np.int32),
    scores=np.zeros(0, np.float32),
    popular=np.zeros(0, np.int32),
    popular_scores=np.zeros(0, np.float32),
)


def empty_site() -> SiteIndex:
    """The index of a site the model has no rows for: every answer is empty."""
    return _EMPTY_SITE


def build_index(
    neighbours: pa.Table, popularity: pa.Table, users: pa.Table, snapshots: tuple[int | None, ...] = ()
) -> Index:
    """An `Index` from the rows of gold.item_neighbours, gold.item_popularity and gold.user_items."""
    neighbours, popularity, users = (_plain_strings(t) for t in (neighbours, popularity, users))
    sites: dict[str, SiteIndex] = {}
    as_of: dict[str, str] = {}
    names = set(pc.unique(neighbours["site_id"]).to_pylist()) | set(pc.unique(popularity["site_id"]).to_pylist())
    names |= set(pc.unique(users["site_id"]).to_pylist())
    for site_id in sorted(n for n in names if n is not None):
        n = neighbours.filter(pc.equal(neighbours["site_id"], site_id))
        p = popularity.filter(pc.equal(popularity["site_id"], site_id))
        u = users.filter(pc.equal(users["site_id"], site_id))
        sites[site_id] = _site(n, p, u)
        newest = pc.max(p["as_of_ts"]).as_py() if p.num_rows else None
        if newest is not None:
            as_of[site_id] = newest.isoformat()
    return Index(sites, snapshots, as_of)


def _site(n: pa.Table, p: pa.Table, u: pa.Table) -> SiteIndex:
    vocabulary = pc.unique(
        pa.chunked_array(
            [*n["product_id"].chunks, *n["neighbour_id"].chunks, *p["product_id"].chunks, *u["product_id"].chunks],
            type=pa.string(),
        )
    ).drop_null()
    ids: list[str] = vocabulary.to_pylist()
    pos = {product: i for i, product in enumerate(ids)}

    n = n.sort_by([("product_id", "ascending"), ("rank", "ascending")])
    rows = _positions(n["product_id"], vocabulary)
    offsets = np.zeros(len(ids) + 1, np.int64)
    np.add.at(offsets, rows + 1, 1)
    offsets = np.cumsum(offsets)
    order = np.argsort(rows, kind="stable")  # rows of one product together, still by rank
    neighbours = _positions(n["neighbour_id"], vocabulary)[order]
    scores = n["score"].to_numpy(zero_copy_only=False).astype(np.float32)[order]

    p = p.sort_by([("rank", "ascending")])
    popular = _positions(p["product_id"], vocabulary)
    popular_scores = p["score"].to_numpy(zero_copy_only=False).astype(np.float32)

    u = u.sort_by([("visitor_id", "ascending"), ("last_ts", "descending"), ("product_id", "ascending")])
    visitors = u["visitor_id"].to_pylist()
    users: dict[str, int] = {}
    starts: list[int] = []
    for row, visitor in enumerate(visitors):
        if visitor not in users:
            users[visitor] = len(starts)
            starts.append(row)
    starts.append(len(visitors))
    return SiteIndex(
        ids=ids,
        pos=pos,
        offsets=offsets,
        neighbours=neighbours,
        scores=scores,
        popular=popular,
        popular_scores=popular_scores,
        users=users,
        user_offsets=np.array(starts, np.int64),
        user_items=_positions(u["product_id"], vocabulary),
        user_weights=u["weight"].to_numpy(zero_copy_only=False).astype(np.float32),
        user_purchased=u["purchased"].fill_null(False).to_numpy(zero_copy_only=False).astype(np.bool_),
    )


def _plain_strings(table: pa.Table) -> pa.Table:
    """The table with `string` columns where pyiceberg may read `large_string` ones."""
    schema = pa.schema([f.with_type(pa.string()) if pa.types.is_large_string(f.type) else f for f in table.schema])
    return table.cast(schema)


def _positions(column: pa.ChunkedArray, vocabulary: pa.Array) -> I32:
    found = pc.index_in(column, value_set=vocabulary).fill_null(0)
    out: I32 = found.to_numpy(zero_copy_only=False).astype(np.int32)
    return out
