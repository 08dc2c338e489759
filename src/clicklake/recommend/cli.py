"""`clicklake recommend`: the answer the API gives, read straight from the lake (`clicklake.cli` adds it)."""

from __future__ import annotations

import argparse

import msgspec

from clicklake.config import Settings
from clicklake.errors import InputError


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rec = commands.add_parser(
        "recommend",
        help="print recommendations for a product or a user, as GET /api/recommendations answers",
        description=(
            "Print the products recommended for a product (--product, 'viewed this, also viewed or bought') or "
            "for a user (--user: from their recent products, purchased ones left out), from the tables the "
            "transform wrote (gold.item_neighbours, gold.item_popularity, gold.user_items); the most popular "
            "products fill up for an unknown product or user. Answers printed here are not counted as served. "
            "--read-key prints the site's public read key for storefronts (made on first use)."
        ),
    )
    rec.add_argument("--site", required=True, help="the site id")
    which = rec.add_mutually_exclusive_group(required=True)
    which.add_argument("--product", metavar="P", help="a product id")
    which.add_argument("--user", metavar="U", help="a user id hash or anonymous id (the visitor id)")
    which.add_argument("--read-key", action="store_true", help="print the site's public read key")
    rec.add_argument("--rotate", action="store_true", help="with --read-key: replace the key with a new one")
    rec.add_argument("-k", "--k", type=int, default=10, metavar="N", help="how many products (default 10)")
    rec.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    rec.set_defaults(func=_recommend)


def _recommend(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.collect.metadata import Metadata
    from clicklake.lake.catalog import catalog_from_settings
    from clicklake.recommend import keys
    from clicklake.recommend.answer import MAX_K, recommend
    from clicklake.recommend.store import IndexStore

    if args.rotate and not args.read_key:
        raise InputError("--rotate goes with --read-key")
    if not 1 <= args.k <= MAX_K:
        raise InputError(f"-k must be from 1 to {MAX_K}; got {args.k}")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with Metadata.open(settings) as md:
        if md.site(args.site) is None:
            raise InputError(f"no site {args.site!r}; see 'clicklake sites list'")
        if args.read_key:
            keys.create_tables(md.engine)
            key = keys.ensure_read_key(md.engine, args.site, rotate=args.rotate)
            if args.format == "json":
                print(msgspec.json.encode({"site_id": args.site, "read_key": key}).decode())
            else:
                print(key)
            return 0
    index = IndexStore(lambda: catalog_from_settings(settings)).refresh()
    body = recommend(index, args.site, product=args.product, user=args.user, k=args.k)
    if args.format == "json":
        print(msgspec.json.encode(body).decode())
        return 0
    asked = f"product {args.product}" if args.product is not None else f"user {args.user}"
    print(f"{body['rec_id']}  site {args.site}, {asked}: {body['source']} (data as of {body['as_of'] or '-'})")
    width = max((len(i["product_id"]) for i in body["items"]), default=10)
    print(f"{'rank':>4}  {'product_id':<{width}}  {'score':>10}  source")
    for rank, item in enumerate(body["items"], 1):
        print(f"{rank:>4}  {item['product_id']:<{width}}  {item['score']:>10.4f}  {item['source']}")
    return 0
