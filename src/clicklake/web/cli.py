"""`clicklake users|members|tokens|web`: the web stage's commands (`clicklake.cli` adds them)."""

from __future__ import annotations

import argparse
import contextlib
import getpass
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import msgspec

from clicklake.config import Settings

if TYPE_CHECKING:
    from clicklake.web.accounts import Accounts

Command = Callable[[argparse.Namespace, Settings], int]


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = commands.add_parser(
        "users",
        help="create, list and delete the people who log in to the dashboard",
        description="Users log in at /login with an e-mail and a password (stored as an argon2id hash).",
    )
    u = users.add_subparsers(dest="users_command", metavar="SUBCOMMAND", required=True)
    create = u.add_parser("create", help="create a user and print a password once")
    create.add_argument("email", metavar="EMAIL")
    create.add_argument("--admin", action="store_true", help="a server admin: reads every site, manages users")
    create.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    create.set_defaults(func=_users_create)
    listing = u.add_parser("list", help="show every user")
    listing.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    listing.set_defaults(func=_users_list)
    delete = u.add_parser("delete", help="delete a user, their memberships, sessions and tokens")
    delete.add_argument("email", metavar="EMAIL")
    delete.set_defaults(func=_users_delete)
    reset = u.add_parser("reset-password", help="set a new random password, print it once, end their sessions")
    reset.add_argument("email", metavar="EMAIL")
    reset.set_defaults(func=_users_reset)

    members = commands.add_parser(
        "members",
        help="give a user a role on a site, or take it away",
        description="Roles: owner and admin manage the site, viewer reads its figures.",
    )
    m = members.add_subparsers(dest="members_command", metavar="SUBCOMMAND", required=True)
    add = m.add_parser("add", help="give a user a role on a site (replaces the role they had)")
    remove = m.add_parser("remove", help="take a user's role on a site away")
    for p in (add, remove):
        p.add_argument("--site", required=True, help="the site id")
        p.add_argument("--user", required=True, metavar="EMAIL", help="the user's e-mail")
    add.add_argument("--role", required=True, choices=("owner", "admin", "viewer"))
    add.set_defaults(func=_members_add)
    remove.set_defaults(func=_members_remove)
    invite = m.add_parser("invite", help="print a one-time link that gives an e-mail a role on a site")
    invite.add_argument("--site", required=True, help="the site id")
    invite.add_argument("--email", required=True, help="whom to invite (a new or an existing user)")
    invite.add_argument("--role", required=True, choices=("owner", "admin", "viewer"))
    invite.add_argument("--expires", type=float, default=7.0, metavar="DAYS", help="expire after this many days")
    invite.set_defaults(func=_members_invite)

    shares = commands.add_parser(
        "shares",
        help="read-only links to a site's figures (and embeds)",
        description="A shared link reads one site's figures, nothing else; it is shown once and stored hashed.",
    )
    s = shares.add_subparsers(dest="shares_command", metavar="SUBCOMMAND", required=True)
    s_create = s.add_parser("create", help="create a shared link and print it once")
    s_create.add_argument("--site", required=True, help="the site id")
    s_create.add_argument("--label", help="what the link is for")
    s_create.add_argument("--embed", action="store_true", help="may be framed by the site's allowed origins")
    s_create.add_argument(
        "--password", action="store_true", help="ask for a password (read from standard input) that opens the link"
    )
    s_create.add_argument("--expires", type=float, metavar="DAYS", help="expire after this many days")
    s_create.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    s_create.set_defaults(func=_shares_create)
    s_list = s.add_parser("list", help="show shared links (never their tokens)")
    s_list.add_argument("--site", help="only this site's")
    s_list.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    s_list.set_defaults(func=_shares_list)
    s_revoke = s.add_parser("revoke", help="revoke a shared link: it and its sessions are refused from now on")
    s_revoke.add_argument("share_id", metavar="SHARE_ID")
    s_revoke.set_defaults(func=_shares_revoke)

    tokens = commands.add_parser(
        "tokens",
        help="API tokens for programs (Authorization: Bearer)",
        description="A token is shown once and stored hashed; stats reads figures, sql runs the SQL console, "
        "admin both and more.",
    )
    t = tokens.add_subparsers(dest="tokens_command", metavar="SUBCOMMAND", required=True)
    t_create = t.add_parser("create", help="create a token and print its secret once")
    t_create.add_argument("--user", required=True, metavar="EMAIL", help="whose token it is")
    t_create.add_argument("--scope", required=True, choices=("stats", "sql", "admin"))
    t_create.add_argument("--site", help="only this site (default: every site of the user)")
    t_create.add_argument("--expires", type=float, metavar="DAYS", help="expire after this many days")
    t_create.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    t_create.set_defaults(func=_tokens_create)
    t_list = t.add_parser("list", help="show tokens (never their secrets)")
    t_list.add_argument("--user", metavar="EMAIL", help="only this user's")
    t_list.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    t_list.set_defaults(func=_tokens_list)
    t_revoke = t.add_parser("revoke", help="revoke a token: it is refused from now on")
    t_revoke.add_argument("token_id", metavar="TOKEN_ID")
    t_revoke.set_defaults(func=_tokens_revoke)

    web = commands.add_parser(
        "web",
        help="serve the dashboard's API alone (scale-out mode)",
        description="Login, /api/me, /api/sql and the Stats API, without the collector.",
    )
    web.add_argument("--host", help="address to bind (default: setting server.host)")
    web.add_argument("--port", type=int, help="port (default: setting server.port)")
    web.set_defaults(func=_web)


@contextlib.contextmanager
def _accounts(settings: Settings) -> Iterator[Accounts]:
    from clicklake.collect.metadata import Metadata
    from clicklake.web.accounts import Accounts

    with Metadata.open(settings) as md:
        yield Accounts(md)


def _ts(ms: int | None) -> str:
    return "" if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="seconds")


def _table(rows: Sequence[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())


def _users_create(args: argparse.Namespace, settings: Settings) -> int:
    with _accounts(settings) as accounts:
        user, password = accounts.create_user(args.email, admin=args.admin)
    if args.format == "json":
        print(msgspec.json.encode({"email": user.email, "password": password, "is_admin": user.is_admin}).decode())
    else:
        print(f"user {user.email} created{' (server admin)' if user.is_admin else ''}")
        print(f"password: {password}   (shown once; `clicklake users reset-password` sets a new one)")
    return 0


def _users_list(args: argparse.Namespace, settings: Settings) -> int:
    with _accounts(settings) as accounts:
        users = accounts.users()
        roles = {u.email: accounts.roles(u) for u in users}
    if args.format == "json":
        out = [{**msgspec.structs.asdict(u), "sites": roles[u.email]} for u in users]
        print(msgspec.json.encode(out).decode())
        return 0
    rows = [("email", "admin", "created", "sites")]
    rows += [(u.email, "yes" if u.is_admin else "", _ts(u.created_ts), _sites(roles[u.email])) for u in users]
    _table(rows)
    return 0


def _sites(roles: dict[str, str]) -> str:
    return " ".join(f"{site}:{role}" for site, role in roles.items())


def _users_delete(args: argparse.Namespace, settings: Settings) -> int:
    with _accounts(settings) as accounts:
        accounts.delete_user(args.email)
    print(f"user {args.email} deleted")
    return 0


def _users_reset(args: argparse.Namespace, settings: Settings) -> int:
    with _accounts(settings) as accounts:
        password = accounts.reset_password(args.email)
    print(f"new password of {args.email}: {password}   (shown once; their sessions have ended)")
    return 0


def _members_add(args: argparse.Namespace, settings: Settings) -> int:
    with _accounts(settings) as accounts:
        accounts.add_member(args.site, args.user, args.role)
    print(f"{args.user} is {args.role} of site {args.site}")
    return 0


def _members_remove(args: argparse.Namespace, settings: Settings) -> int:
    with _accounts(settings) as accounts:
        accounts.remove_member(args.site, args.user)
    print(f"{args.user} is no longer a member of site {args.site}")
    return 0


def _public_url(settings: Settings) -> str:
    return settings.web.public_url.rstrip("/") or f"http://{settings.server.host}:{settings.server.port}"


def _members_invite(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.web.invitations import Invitations

    with _accounts(settings) as accounts:
        invitation, token = Invitations(accounts).create(args.site, args.email, args.role, expires_days=args.expires)
    print(f"{invitation.email} is invited as {invitation.role} of site {invitation.site_id}; the link, shown once:")
    print(f"{_public_url(settings)}/invite/{token}")
    return 0


def _shares_create(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.web.shares import Shares

    password = None
    if args.password:
        password = getpass.getpass("password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    with _accounts(settings) as accounts:
        share, token = Shares(accounts.metadata).create(
            args.site, password=password, embed=args.embed, label=args.label, expires_days=args.expires
        )
    url = f"{_public_url(settings)}/share/{token}"
    if args.format == "json":
        print(msgspec.json.encode({**msgspec.structs.asdict(share), "token": token, "url": url}).decode())
    else:
        print(f"shared link {share.share_id} of site {share.site_id} (shown once): {url}")
    return 0


def _shares_list(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.web.shares import Shares

    with _accounts(settings) as accounts:
        shares = Shares(accounts.metadata).list(args.site)
    if args.format == "json":
        print(msgspec.json.encode(shares).decode())
        return 0
    rows = [("share_id", "site", "label", "embed", "password", "created", "expires", "revoked")]
    rows += [
        (
            x.share_id,
            x.site_id,
            x.label or "",
            "yes" if x.embed else "",
            "yes" if x.has_password else "",
            _ts(x.created_ts),
            _ts(x.expires_ts),
            _ts(x.revoked_ts),
        )
        for x in shares
    ]
    _table(rows)
    return 0


def _shares_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from clicklake.web.shares import Shares

    with _accounts(settings) as accounts:
        Shares(accounts.metadata).revoke(args.share_id)
    print(f"shared link {args.share_id} revoked")
    return 0


def _tokens_create(args: argparse.Namespace, settings: Settings) -> int:
    with _accounts(settings) as accounts:
        token, secret = accounts.create_token(args.user, args.scope, site_id=args.site, expires_days=args.expires)
    if args.format == "json":
        print(msgspec.json.encode({**msgspec.structs.asdict(token), "token": secret}).decode())
    else:
        print(f"token {token.token_id} ({token.scope}) of {token.email}: {secret}")
        print("The secret is shown once; send it as 'Authorization: Bearer ...'.")
    return 0


def _tokens_list(args: argparse.Namespace, settings: Settings) -> int:
    with _accounts(settings) as accounts:
        tokens = accounts.tokens(args.user)
    if args.format == "json":
        print(msgspec.json.encode(tokens).decode())
        return 0
    rows = [("token_id", "user", "scope", "site", "created", "expires", "last_used", "revoked")]
    rows += [
        (
            t.token_id,
            t.email,
            t.scope,
            t.site_id or "",
            _ts(t.created_ts),
            _ts(t.expires_ts),
            _ts(t.last_used_ts),
            _ts(t.revoked_ts),
        )
        for t in tokens
    ]
    _table(rows)
    return 0


def _tokens_revoke(args: argparse.Namespace, settings: Settings) -> int:
    with _accounts(settings) as accounts:
        accounts.revoke_token(args.token_id)
    print(f"token {args.token_id} revoked")
    return 0


def _web(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from clicklake.collect.metadata import Metadata
    from clicklake.collect.protocol import listen
    from clicklake.web.app import create_app
    from clicklake.wiring import web_from_settings

    if args.host is not None:
        settings.server.host = args.host
    if args.port is not None:
        settings.server.port = args.port
    sock = listen(settings.server.host, settings.server.port)
    with Metadata.open(settings) as md:
        app = create_app(web_from_settings(settings, md))
        print(f"clicklake web at http://{settings.server.host}:{settings.server.port} (login: POST /login)", flush=True)
        config = uvicorn.Config(app, log_level=settings.log_level)
        uvicorn.Server(config).run(sockets=[sock])
    return 0
