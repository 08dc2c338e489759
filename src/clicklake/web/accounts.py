"""People and programs that may read figures: users, sessions, site memberships, API tokens.

Their tables live in the metadata database beside the collector's sites (SQLite in the
data directory or PostgreSQL), created on open:

- `users`: e-mail, argon2id password hash, whether a server admin (manages users and sites).
- `web_sessions`: a browser login; only the SHA-256 of the cookie's secret is stored, with
  the CSRF token that every state-changing request of that session must carry.
- `members`: a user's role on a site: owner, admin (manages the site) or viewer (reads figures).
- `api_tokens`: `Authorization: Bearer` secrets for programs, stored as SHA-256 only (the
  secret is shown once), with a scope (stats, sql, admin), an optional site and expiry,
  the last time used, and revocation.

A `Principal` is what a request may do: which sites it reads, with which scopes.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from typing import Final, Literal, get_args

import msgspec
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from clicklake.collect.metadata import Metadata
from clicklake.errors import InputError

Role = Literal["owner", "admin", "viewer"]
ROLES: Final[tuple[str, ...]] = get_args(Role)
Scope = Literal["stats", "sql", "admin"]
SCOPES: Final[tuple[str, ...]] = get_args(Scope)
SESSION_TTL_S: Final = 14 * 24 * 3600
TOKEN_PREFIX: Final = "clk_"
_EMAIL: Final = re.compile(r"^[^@\s]+@[^@\s]+$")
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

tables = sa.MetaData()

users_table = sa.Table(
    "users",
    tables,
    sa.Column("user_id", sa.String(32), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("password_hash", sa.Text, nullable=False),
    sa.Column("is_admin", sa.Boolean, nullable=False),
    sa.Column("created_ts", sa.BigInteger, nullable=False),
)

sessions_table = sa.Table(
    "web_sessions",
    tables,
    sa.Column("session_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("expires_ts", sa.BigInteger, nullable=False),
)

members_table = sa.Table(
    "members",
    tables,
    sa.Column("site_id", sa.String(32), primary_key=True),
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.CheckConstraint("role IN ('owner', 'admin', 'viewer')", name="members_role"),
)

tokens_table = sa.Table(
    "api_tokens",
    tables,
    sa.Column("token_id", sa.String(16), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("user_id", sa.String(32), sa.ForeignKey("users.user_id", ondelete="CASCADE"), nullable=False),
    sa.Column("scope", sa.String(16), nullable=False),
    sa.Column("site_id", sa.String(32), nullable=True),
    sa.Column("created_ts", sa.BigInteger, nullable=False),
    sa.Column("expires_ts", sa.BigInteger, nullable=True),
    sa.Column("last_used_ts", sa.BigInteger, nullable=True),
    sa.Column("revoked_ts", sa.BigInteger, nullable=True),
)


class User(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    email: str
    is_admin: bool
    created_ts: int


class Token(msgspec.Struct, frozen=True, kw_only=True):
    """An API token as listed (never its secret)."""

    token_id: str
    email: str
    scope: Scope
    site_id: str | None
    created_ts: int
    expires_ts: int | None
    last_used_ts: int | None
    revoked_ts: int | None


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who asks, which sites they may read (site id → role) and what they may do."""

    user: User
    roles: dict[str, str]
    scopes: frozenset[str]
    via: Literal["session", "token", "share"]
    csrf_token: str | None = None
    #: the one site a token made with `--site` (or a shared link) is limited to
    limited_to: str | None = None
    #: the shared link a `via="share"` principal opened
    share_id: str | None = None

    @property
    def server_admin(self) -> bool:
        """Manages users and every site: a server admin's session, or their admin token for no one site."""
        return self.user.is_admin and self.limited_to is None and "admin" in self.scopes and self.via != "share"

    @property
    def site_ids(self) -> list[str]:
        return sorted(self.roles)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_password() -> str:
    return secrets.token_urlsafe(15)


class Accounts:
    """Users, sessions, members and tokens in the metadata database (thread-safe, as its engine is)."""

    def __init__(self, metadata: Metadata) -> None:
        self.metadata = metadata
        self.engine = metadata.engine
        tables.create_all(self.engine)

    # -- users ------------------------------------------------------------------

    def create_user(self, email: str, password: str | None = None, *, admin: bool = False) -> tuple[User, str]:
        """Create a user; return it and its password (a random one unless given)."""
        email = _check_email(email)
        password = password or new_password()
        user = User(user_id="u_" + secrets.token_urlsafe(12), email=email, is_admin=admin, created_ts=_now_ms())
        try:
            with self.engine.begin() as con:
                con.execute(
                    users_table.insert().values(**msgspec.structs.asdict(user), password_hash=_hasher.hash(password))
                )
        except sa.exc.IntegrityError:
            raise InputError(f"A user {email!r} exists already.") from None
        return user, password

    def users(self) -> list[User]:
        with self.engine.connect() as con:
            rows = con.execute(sa.select(*_user_columns()).order_by(users_table.c.created_ts))
            return [msgspec.convert(r, User, from_attributes=True) for r in rows]

    def user(self, email: str) -> User:
        """The user with this e-mail; raises `InputError` if there is none."""
        with self.engine.connect() as con:
            row = con.execute(sa.select(*_user_columns()).where(users_table.c.email == email.strip().lower())).first()
        if row is None:
            raise InputError(f"Unknown user {email!r}: `clicklake users list` shows the users there are.")
        return msgspec.convert(row, User, from_attributes=True)

    def delete_user(self, email: str) -> None:
        user = self.user(email)
        with self.engine.begin() as con:
            for t in (sessions_table, members_table, tokens_table):
                con.execute(t.delete().where(t.c.user_id == user.user_id))
            con.execute(users_table.delete().where(users_table.c.user_id == user.user_id))

    def reset_password(self, email: str, password: str | None = None) -> str:
        """Set a new password (random unless given), end the user's sessions, and return it."""
        user = self.user(email)
        password = password or new_password()
        with self.engine.begin() as con:
            con.execute(
                users_table.update()
                .where(users_table.c.user_id == user.user_id)
                .values(password_hash=_hasher.hash(password))
            )
            con.execute(sessions_table.delete().where(sessions_table.c.user_id == user.user_id))
        return password

    def authenticate(self, email: str, password: str) -> User | None:
        """The user if the password is theirs, else None (the same work is done for an unknown e-mail)."""
        with self.engine.connect() as con:
            row = con.execute(
                sa.select(*_user_columns(), users_table.c.password_hash).where(
                    users_table.c.email == email.strip().lower()
                )
            ).first()
        stored = row.password_hash if row is not None else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None:
            return None
        if _hasher.check_needs_rehash(stored):
            with self.engine.begin() as con:
                con.execute(
                    users_table.update()
                    .where(users_table.c.user_id == row.user_id)
                    .values(password_hash=_hasher.hash(password))
                )
        return msgspec.convert(row, User, from_attributes=True)

    # -- sessions ---------------------------------------------------------------

    def start_session(self, user: User) -> tuple[str, str]:
        """A new session of the user: its cookie secret and its CSRF token."""
        secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        with self.engine.begin() as con:
            con.execute(sessions_table.delete().where(sessions_table.c.expires_ts < _now_ms()))  # ended ones
            con.execute(
                sessions_table.insert().values(
                    session_hash=_sha256(secret),
                    user_id=user.user_id,
                    csrf_token=csrf,
                    expires_ts=_now_ms() + SESSION_TTL_S * 1000,
                )
            )
        return secret, csrf

    def end_session(self, secret: str) -> None:
        with self.engine.begin() as con:
            con.execute(sessions_table.delete().where(sessions_table.c.session_hash == _sha256(secret)))

    def session_principal(self, secret: str) -> Principal | None:
        t = sessions_table
        with self.engine.connect() as con:
            row = con.execute(
                sa.select(*_user_columns(), t.c.csrf_token)
                .join(users_table, users_table.c.user_id == t.c.user_id)
                .where(t.c.session_hash == _sha256(secret), t.c.expires_ts > _now_ms())
            ).first()
        if row is None:
            return None
        user = msgspec.convert(row, User, from_attributes=True)
        return Principal(
            user=user, roles=self.roles(user), scopes=frozenset(SCOPES), via="session", csrf_token=row.csrf_token
        )

    # -- members ----------------------------------------------------------------

    def add_member(self, site_id: str, email: str, role: str) -> None:
        if role not in ROLES:
            raise InputError(f"Role {role!r} is not one of {', '.join(ROLES)}.")
        if self.metadata.site(site_id) is None:
            raise InputError(f"Unknown site {site_id!r}: `clicklake sites list` shows the sites there are.")
        user = self.user(email)
        t = members_table
        with self.engine.begin() as con:
            con.execute(t.delete().where(t.c.site_id == site_id, t.c.user_id == user.user_id))
            con.execute(t.insert().values(site_id=site_id, user_id=user.user_id, role=role))

    def remove_member(self, site_id: str, email: str) -> None:
        user = self.user(email)
        t = members_table
        with self.engine.begin() as con:
            gone = con.execute(t.delete().where(t.c.site_id == site_id, t.c.user_id == user.user_id)).rowcount
        if not gone:
            raise InputError(f"{email} is not a member of site {site_id!r}.")

    def members(self, site_id: str) -> list[tuple[str, str]]:
        """(e-mail, role) of every member of a site, by e-mail."""
        t = members_table
        with self.engine.connect() as con:
            rows = con.execute(
                sa.select(users_table.c.email, t.c.role)
                .join(users_table, users_table.c.user_id == t.c.user_id)
                .where(t.c.site_id == site_id)
                .order_by(users_table.c.email)
            )
            return [(r.email, r.role) for r in rows]

    def roles(self, user: User) -> dict[str, str]:
        """The sites a user may read, with the role on each (a server admin reads every site as admin)."""
        roles = {site.site_id: "admin" for site in self.metadata.sites()} if user.is_admin else {}
        t = members_table
        with self.engine.connect() as con:
            for site_id, role in con.execute(sa.select(t.c.site_id, t.c.role).where(t.c.user_id == user.user_id)):
                roles[site_id] = role
        return roles

    # -- tokens -----------------------------------------------------------------

    def create_token(
        self, email: str, scope: str, *, site_id: str | None = None, expires_days: float | None = None
    ) -> tuple[Token, str]:
        """A new API token of a user; return it and its secret (shown this once, stored hashed)."""
        if scope not in SCOPES:
            raise InputError(f"Scope {scope!r} is not one of {', '.join(SCOPES)}.")
        user = self.user(email)
        if site_id is not None and site_id not in self.roles(user):
            raise InputError(f"{email} may not read site {site_id!r}; add them with `clicklake members add` first.")
        if expires_days is not None and not expires_days > 0:
            raise InputError(f"--expires {expires_days!r}: a token expires a positive number of days from now.")
        now = _now_ms()
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        token = Token(
            token_id="t_" + secrets.token_urlsafe(9),
            email=user.email,
            scope=scope,  # type: ignore[arg-type]  # checked above
            site_id=site_id,
            created_ts=now,
            expires_ts=None if expires_days is None else now + int(expires_days * 86_400_000),
            last_used_ts=None,
            revoked_ts=None,
        )
        values = msgspec.structs.asdict(token)
        del values["email"]
        with self.engine.begin() as con:
            con.execute(tokens_table.insert().values(**values, user_id=user.user_id, token_hash=_sha256(secret)))
        return token, secret

    def tokens(self, email: str | None = None) -> list[Token]:
        t = tokens_table
        query = (
            sa.select(*(c for c in t.c if c.name not in ("token_hash", "user_id")), users_table.c.email)
            .join(users_table, users_table.c.user_id == t.c.user_id)
            .order_by(t.c.created_ts)
        )
        if email is not None:
            query = query.where(users_table.c.user_id == self.user(email).user_id)
        with self.engine.connect() as con:
            return [msgspec.convert(r, Token, from_attributes=True) for r in con.execute(query)]

    def revoke_token(self, token_id: str) -> None:
        t = tokens_table
        with self.engine.begin() as con:
            done = con.execute(
                t.update().where(t.c.token_id == token_id, t.c.revoked_ts.is_(None)).values(revoked_ts=_now_ms())
            ).rowcount
        if not done:
            raise InputError(f"No live token {token_id!r}: `clicklake tokens list` shows them.")

    def token_principal(self, secret: str) -> Principal | None:
        """The principal of a bearer secret, if it is live; records the time it was used."""
        t = tokens_table
        now = _now_ms()
        with self.engine.connect() as con:
            row = con.execute(
                sa.select(t.c.token_id, t.c.scope, t.c.site_id, *_user_columns())
                .join(users_table, users_table.c.user_id == t.c.user_id)
                .where(
                    t.c.token_hash == _sha256(secret),
                    t.c.revoked_ts.is_(None),
                    sa.or_(t.c.expires_ts.is_(None), t.c.expires_ts > now),
                )
            ).first()
        if row is None:
            return None
        with self.engine.begin() as con:
            con.execute(t.update().where(t.c.token_id == row.token_id).values(last_used_ts=now))
        user = msgspec.convert(row, User, from_attributes=True)
        roles = self.roles(user)
        if row.site_id is not None:
            roles = {row.site_id: roles[row.site_id]} if row.site_id in roles else {}
        # an admin token may also read figures and run SQL; a stats or sql token only that
        scopes = frozenset(SCOPES) if row.scope == "admin" else frozenset({row.scope})
        return Principal(user=user, roles=roles, scopes=scopes, via="token", limited_to=row.site_id)


_DUMMY_HASH: Final = _hasher.hash(secrets.token_urlsafe(16))


def _user_columns() -> list[sa.Column[object]]:
    c = users_table.c
    return [c.user_id, c.email, c.is_admin, c.created_ts]


def _check_email(email: str) -> str:
    email = email.strip().lower()
    if not _EMAIL.match(email) or len(email) > 320:
        raise InputError(f"{email!r} is not an e-mail address, e.g. ana@example.org.")
    return email
