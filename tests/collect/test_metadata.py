"""The metadata database: sites and write keys, links, the consent counter, daily salts, the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest
import sqlalchemy as sa

from clicklake.collect.metadata import Link, Metadata, Site, default_uri, links_table, sites_table, utc_day
from clicklake.config import load_settings
from clicklake.errors import ConfigError, InputError

Run = Callable[..., subprocess.CompletedProcess[str]]


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The metadata database of the suite: SQLite in the data dir, and a fresh PostgreSQL database."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_schema_uri"))
    return default_uri(tmp_path / "data")


@pytest.fixture
def opened(uri: str) -> Iterator[Callable[..., Metadata]]:
    """Open Metadata objects on one database (as separate processes would); all closed at teardown."""
    made: list[Metadata] = []

    def open_(**kwargs: object) -> Metadata:
        md = Metadata(uri, **kwargs)  # type: ignore[arg-type]
        made.append(md)
        return md

    yield open_
    for md in made:
        md.close()


@pytest.fixture
def md(opened: Callable[..., Metadata], tmp_path: Path) -> Metadata:
    (tmp_path / "data").mkdir()
    return opened()


# -- sites --------------------------------------------------------------------


def test_create_site_then_find_it_by_key_and_id(md: Metadata) -> None:
    site = md.create_site("Shop", "shop.example")

    assert re.fullmatch(r"site_[A-Za-z0-9_-]{12}", site.site_id)
    assert re.fullmatch(r"wk_[A-Za-z0-9_-]{24}", site.write_key)
    assert (site.name, site.domain, site.honor_dnt, site.honor_gpc) == ("Shop", "shop.example", True, True)
    assert md.site_by_key(site.write_key) == site
    assert md.site(site.site_id) == site
    assert md.sites() == [site]
    assert md.site_by_key("wk_" + "x" * 24) is None
    assert md.site("site_nope") is None


def test_sites_persist_in_wal_mode_and_keys_are_unique(
    md: Metadata, opened: Callable[..., Metadata], tmp_path: Path, uri: str
) -> None:
    made = [md.create_site(f"s{i}", f"s{i}.example") for i in range(40)]

    again = opened()
    assert again.sites() == sorted(made, key=lambda s: (s.created_ts, s.site_id))  # oldest first
    assert len({s.write_key for s in made}) == len({s.site_id for s in made}) == 40
    assert all(again.site_by_key(s.write_key) == s for s in made)
    if uri.startswith("postgresql"):
        return
    with sqlite_connection(tmp_path / "data" / "metadata.sqlite3") as con:
        assert con.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"


def sqlite_connection(path: Path) -> sa.Connection:
    assert path.is_file()
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)
    return engine.connect()


def test_default_origins_are_https_domain_and_www(md: Metadata) -> None:
    assert md.create_site("a", "Shop.Example").allowed_origins == ("https://shop.example", "https://www.shop.example")
    assert md.create_site("b", "www.blog.example").allowed_origins == (
        "https://blog.example",
        "https://www.blog.example",
    )


def test_custom_origins_are_kept_as_a_browser_sends_them(md: Metadata) -> None:
    site = md.create_site(
        "Shop",
        "shop.example",
        ["https://Shop.Example:443/", "http://localhost:3000", "https://shop.example", "http://[::1]:8000"],
    )
    assert site.allowed_origins == ("https://shop.example", "http://localhost:3000", "http://[::1]:8000")
    assert md.site_by_key(site.write_key) == site
    # no origin at all: server-side senders only
    assert md.create_site("API", "api.example", []).allowed_origins == ()


@pytest.mark.parametrize("origin", ["shop.example", "ftp://shop.example", "https://shop.example/path", "https://"])
def test_bad_origin_is_refused_by_name(md: Metadata, origin: str) -> None:
    with pytest.raises(InputError, match=re.escape(repr(origin))):
        md.create_site("Shop", "shop.example", [origin])
    assert md.sites() == []


@pytest.mark.parametrize("domain", ["https://shop.example", "shop example", "", "shop.example/x", "-x.example"])
def test_bad_domain_is_refused_by_name(md: Metadata, domain: str) -> None:
    with pytest.raises(InputError, match=re.escape(repr(domain))):
        md.create_site("Shop", domain)


def test_empty_name_is_refused(md: Metadata) -> None:
    with pytest.raises(InputError, match="name"):
        md.create_site("  ", "shop.example")


def test_dnt_and_gpc_flags_are_stored(md: Metadata) -> None:
    site = md.create_site("Shop", "shop.example", honor_dnt=False, honor_gpc=True)
    assert md.site(site.site_id) == site
    assert (site.honor_dnt, site.honor_gpc) == (False, True)


def test_site_by_key_answers_from_memory_for_the_ttl(opened: Callable[..., Metadata], md: Metadata) -> None:
    now = [1000.0]
    cached = opened(clock=lambda: now[0], site_key_ttl_s=30.0)
    site = md.create_site("Shop", "shop.example")
    unknown = "wk_" + "u" * 24
    assert cached.site_by_key(site.write_key) == site
    assert cached.site_by_key(unknown) is None
    with md.engine.begin() as con:
        con.execute(sites_table.update().values(write_key=unknown).where(sites_table.c.site_id == site.site_id))

    now[0] += 29.0
    assert cached.site_by_key(site.write_key) == site
    assert cached.site_by_key(unknown) is None
    now[0] += 2.0
    assert cached.site_by_key(site.write_key) is None
    assert cached.site_by_key(unknown) is not None


def test_update_site_changes_what_is_given_and_keeps_the_rest(md: Metadata) -> None:
    site = md.create_site("Shop", "shop.example", rate_per_s=50)
    assert site.rate_per_s == 50.0 and md.site(site.site_id) == site

    renamed = md.update_site(site.site_id, name=" Big shop ")
    assert renamed == msgspec.structs.replace(site, name="Big shop")
    moved = md.update_site(site.site_id, allowed_origins=["HTTPS://Shop.Example:443", "http://localhost:3000"])
    assert moved.allowed_origins == ("https://shop.example", "http://localhost:3000") and moved.rate_per_s == 50.0
    unlimited = md.update_site(site.site_id, rate_per_s=None, honor_dnt=False)
    assert (unlimited.rate_per_s, unlimited.honor_dnt, unlimited.honor_gpc) == (None, False, True)
    assert md.update_site(site.site_id, rate_per_s=0).rate_per_s == 0.0
    assert md.site(site.site_id) == md.update_site(site.site_id)  # nothing given: nothing changes
    for bad in (-1.0, float("nan"), float("inf"), True):
        with pytest.raises(InputError, match="Rate"):
            md.update_site(site.site_id, rate_per_s=bad)
    with pytest.raises(InputError, match="Origin"):
        md.update_site(site.site_id, allowed_origins=["shop.example"])
    with pytest.raises(InputError, match="name"):
        md.update_site(site.site_id, name=" ")
    with pytest.raises(InputError, match="site_nope"):
        md.update_site("site_nope", name="x")
    with pytest.raises(InputError, match="Rate"):
        md.create_site("Shop", "shop.example", rate_per_s=-5)


def test_a_site_has_a_time_zone(md: Metadata) -> None:
    site = md.create_site("Shop", "shop.example")
    assert site.timezone == "UTC" and md.site(site.site_id) == site
    berlin = md.create_site("Laden", "laden.example", timezone="Europe/Berlin")
    assert md.site(berlin.site_id) == berlin and berlin.timezone == "Europe/Berlin"
    moved = md.update_site(site.site_id, timezone="America/New_York")
    assert moved == msgspec.structs.replace(site, timezone="America/New_York") == md.site(site.site_id)
    assert md.update_site(site.site_id, name="Shop 2").timezone == "America/New_York"  # kept
    for bad in ("Mars/Olympus", "", " UTC", "../../etc/passwd", "Europe/Berlin\x00"):
        with pytest.raises(InputError, match=r"Time zone .* is unknown; give an IANA name"):
            md.update_site(site.site_id, timezone=bad)
        with pytest.raises(InputError, match="Time zone"):
            md.create_site("X", "x.example", timezone=bad)
    assert md.site(site.site_id) == msgspec.structs.replace(moved, name="Shop 2")


def test_delete_site_takes_its_links_and_counts_along(md: Metadata) -> None:
    site = md.create_site("Shop", "shop.example")
    other = md.create_site("Other", "other.example")
    md.create_link(site.site_id, "https://shop.example/p/1")
    kept = md.create_link(other.site_id, "https://other.example/")
    md.add_consent_denied(site.site_id, "2026-11-22", 3)

    gone, links = md.delete_site(site.site_id)
    assert (gone, links) == (site, 1)
    assert md.site(site.site_id) is None and md.site_by_key(site.write_key) is None
    assert md.consent_denied(site.site_id) == 0
    assert md.sites() == [other] and md.link(kept.link_id) == kept
    with pytest.raises(InputError, match="Unknown site"):
        md.delete_site(site.site_id)


def test_a_changed_site_reaches_another_process_within_the_change_check(
    opened: Callable[..., Metadata], md: Metadata
) -> None:
    now = [1000.0]
    collector = opened(clock=lambda: now[0], site_key_ttl_s=30.0, site_change_check_s=2.0)
    site = md.create_site("Shop", "shop.example")
    assert collector.site_by_key(site.write_key) == site
    md.update_site(site.site_id, rate_per_s=10, allowed_origins=["https://new.example"])
    now[0] += 1.0
    assert collector.site_by_key(site.write_key) == site  # within the check interval: remembered
    now[0] += 1.5
    changed = collector.site_by_key(site.write_key)
    assert changed is not None and changed.rate_per_s == 10.0 and changed.allowed_origins == ("https://new.example",)
    md.delete_site(site.site_id)
    now[0] += 2.0
    assert collector.site_by_key(site.write_key) is None


def test_a_database_of_an_older_version_gets_the_new_columns(tmp_path: Path) -> None:
    uri = default_uri(tmp_path)
    engine = sa.create_engine(uri)
    old = sa.MetaData()
    added = {"rate_per_s", "timezone"}
    sa.Table(
        "sites",
        old,
        *(sa.Column(c.name, c.type, primary_key=c.primary_key) for c in sites_table.c if c.name not in added),
    )
    old.create_all(engine)
    with engine.begin() as con:
        con.execute(sa.text("INSERT INTO sites VALUES ('site_old', 'Old', 'old.example', 'wk_old', '[]', 1, 1, 0)"))
    engine.dispose()
    with Metadata(uri) as md:
        site = md.site("site_old")
        assert site is not None and site.rate_per_s is None and site.timezone == "UTC"
        assert md.update_site("site_old", rate_per_s=7).rate_per_s == 7.0
        assert md.update_site("site_old", timezone="Asia/Tokyo").timezone == "Asia/Tokyo"
    with Metadata(uri) as again:  # and opening it again is fine
        assert again.site_by_key("wk_old") is not None


# -- links --------------------------------------------------------------------


def test_create_link_and_read_it_back(md: Metadata) -> None:
    site = md.create_site("Shop", "shop.example")

    link = md.create_link(site.site_id, "https://shop.example/p/42?ref=x", payout_cents=250)
    qr = md.create_link(site.site_id, "http://shop.example/", kind="qr")

    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{7}", link.link_id)
    assert (link.kind, link.payout_cents, link.path) == ("affiliate", 250, f"/r/{link.link_id}")
    assert (qr.kind, qr.payout_cents, qr.qr_path) == ("qr", None, f"/r/{qr.link_id}/qr.svg")
    assert md.link(link.link_id) == link
    assert md.link(qr.link_id) == qr
    assert md.link("nope1234") is None
    assert isinstance(link, Link) and link.link_id != qr.link_id


@pytest.mark.parametrize(
    "target",
    [
        "ftp://shop.example/f",
        "javascript:alert(1)",
        "shop.example/p/1",
        "https://",
        "https://shop .example/",
        "https://shop.example/\n",
        "https://shop.example:99999/",
    ],
)
def test_link_target_must_be_an_http_url(md: Metadata, target: str) -> None:
    site = md.create_site("Shop", "shop.example")
    with pytest.raises(InputError, match=re.escape(repr(target))):
        md.create_link(site.site_id, target)
    assert link_count(md) == 0


@pytest.mark.parametrize("payout", [-1, 1.5, True])
def test_link_payout_must_be_whole_cents_at_least_zero(md: Metadata, payout: object) -> None:
    site = md.create_site("Shop", "shop.example")
    with pytest.raises(InputError, match=re.escape(repr(payout))):
        md.create_link(site.site_id, "https://shop.example/", payout_cents=payout)  # type: ignore[arg-type]
    assert md.create_link(site.site_id, "https://shop.example/", payout_cents=0).payout_cents == 0


def test_link_kind_and_site_must_exist(md: Metadata) -> None:
    site = md.create_site("Shop", "shop.example")
    with pytest.raises(InputError, match="'banner'"):
        md.create_link(site.site_id, "https://shop.example/", kind="banner")
    with pytest.raises(InputError, match="Unknown site 'site_nope'"):
        md.create_link("site_nope", "https://shop.example/")
    assert link_count(md) == 0


def link_count(md: Metadata) -> int:
    with md.engine.connect() as con:
        return int(con.execute(sa.select(sa.func.count()).select_from(links_table)).scalar_one())


# -- consent counter ----------------------------------------------------------


def test_consent_denied_counts_add_up_per_site_and_day(md: Metadata) -> None:
    a = md.create_site("A", "a.example")
    b = md.create_site("B", "b.example")

    md.add_consent_denied(a.site_id, "2026-11-22", 3)
    md.add_consent_denied(a.site_id, "2026-11-22", 4)
    md.add_consent_denied(a.site_id, "2026-11-23", 1)
    md.add_consent_denied(b.site_id, "2026-11-22")

    assert md.consent_denied(a.site_id, "2026-11-22") == 7
    assert md.consent_denied(a.site_id, "2026-11-23") == 1
    assert md.consent_denied(a.site_id) == 8
    assert md.consent_denied(b.site_id, "2026-11-22") == 1
    assert md.consent_denied(b.site_id, "2026-11-23") == 0


def test_consent_denied_refuses_bad_input(md: Metadata) -> None:
    site = md.create_site("A", "a.example")
    with pytest.raises(InputError, match=re.escape("'22.11.2026'")):
        md.add_consent_denied(site.site_id, "22.11.2026", 1)
    with pytest.raises(InputError, match="'2026-02-30'"):
        md.add_consent_denied(site.site_id, "2026-02-30", 1)
    with pytest.raises(InputError, match="site_nope"):
        md.add_consent_denied("site_nope", "2026-11-22", 1)
    with pytest.raises(InputError, match="-1"):
        md.add_consent_denied(site.site_id, "2026-11-22", -1)


def test_consent_denied_from_two_threads_loses_nothing(md: Metadata, opened: Callable[..., Metadata]) -> None:
    site = md.create_site("A", "a.example")
    each, adds = 3, 150
    writers = [opened(), opened()]
    start = threading.Barrier(len(writers))

    def work(w: Metadata) -> None:
        start.wait()
        for _ in range(adds):
            w.add_consent_denied(site.site_id, "2026-11-22", each)

    threads = [threading.Thread(target=work, args=(w,)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert md.consent_denied(site.site_id, "2026-11-22") == len(writers) * adds * each


# -- salts --------------------------------------------------------------------


def test_daily_salt_is_one_per_day_for_every_process(opened: Callable[..., Metadata], md: Metadata) -> None:
    other = opened()

    salt = md.daily_salt("2026-11-22")

    assert isinstance(salt, bytes) and len(salt) == 32
    assert other.daily_salt("2026-11-22") == salt
    assert opened().daily_salt("2026-11-22") == salt
    assert md.daily_salt("2026-11-23") != salt
    assert len({md.daily_salt(f"2026-11-{d:02}") for d in range(1, 31)}) == 30


def test_daily_salt_race_between_processes_agrees(opened: Callable[..., Metadata], md: Metadata) -> None:
    racers = [opened() for _ in range(4)]
    start = threading.Barrier(len(racers))
    got: list[bytes] = []

    def race(r: Metadata) -> None:
        start.wait()
        got.append(r.daily_salt("2026-11-22"))

    threads = [threading.Thread(target=race, args=(r,)) for r in racers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert len(got) == len(racers) and len(set(got)) == 1


def test_destroy_old_salts_removes_only_days_that_ended_over_48_hours_ago(
    md: Metadata, opened: Callable[..., Metadata]
) -> None:
    days = [f"2026-11-{d}" for d in range(17, 24)]
    before = {day: md.daily_salt(day) for day in days}

    # 2026-11-19 ended 2026-11-20T00:00, 60 h before; 2026-11-20 ended 36 h before
    destroyed = md.destroy_old_salts(ms("2026-11-22T12:00:00"))

    assert destroyed == ["2026-11-17", "2026-11-18", "2026-11-19"]
    fresh = opened()
    for day in days[3:]:
        assert fresh.daily_salt(day) == before[day] == md.daily_salt(day)
    for day in destroyed:
        # a new salt: visitor ids of that day cannot be derived again, not even from memory
        assert md.daily_salt(day) != before[day]
        assert fresh.daily_salt(day) == md.daily_salt(day)


def test_destroy_old_salts_keeps_a_day_that_ended_exactly_48_hours_ago(md: Metadata) -> None:
    for day in ("2026-11-18", "2026-11-19", "2026-11-20"):
        md.daily_salt(day)

    assert md.destroy_old_salts(ms("2026-11-22T00:00:00")) == ["2026-11-18"]
    assert md.destroy_old_salts(ms("2026-11-22T00:00:00.001")) == ["2026-11-19"]
    assert md.destroy_old_salts(ms("2026-11-22T00:00:00.001")) == []


def test_utc_day() -> None:
    assert utc_day(ms("2026-11-22T23:59:59.999")) == "2026-11-22"
    assert utc_day(ms("2026-11-23T00:00:00")) == "2026-11-23"


# -- opening ------------------------------------------------------------------


def test_open_defaults_to_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(env={"CLICKLAKE_DATA": str(tmp_path / "fresh")})

    with Metadata.open(settings) as md:
        site = md.create_site("Shop", "shop.example")
    with Metadata.open(settings) as md:
        assert md.site_by_key(site.write_key) == site
    assert (tmp_path / "fresh" / "metadata.sqlite3").is_file()


def test_open_uses_collect_metadata_uri(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.sqlite3"
    settings = load_settings(
        env={"CLICKLAKE_DATA": str(tmp_path / "data"), "CLICKLAKE_COLLECT__METADATA_URI": f"sqlite:///{other}"}
    )

    with Metadata.open(settings) as md:
        md.create_site("Shop", "shop.example")

    assert other.is_file()
    assert not (tmp_path / "data" / "metadata.sqlite3").exists()


@pytest.mark.parametrize("bad", ["not a uri", "mysql://u@h/db"])
def test_bad_metadata_uri_is_a_config_error(bad: str) -> None:
    with pytest.raises(ConfigError, match=re.escape("collect.metadata_uri")):
        Metadata(bad)


# -- PostgreSQL ---------------------------------------------------------------


@pytest.mark.postgres
def test_postgres(postgres_uri: str) -> None:
    with Metadata(postgres_uri) as md, Metadata(postgres_uri) as other:
        site = md.create_site("Shop", "shop.example", ["http://localhost:3000"])
        assert other.site_by_key(site.write_key) == site
        link = other.create_link(site.site_id, "https://shop.example/p", kind="qr", payout_cents=5)
        assert md.link(link.link_id) == link
        with pytest.raises(InputError, match="site_nope"):
            md.create_link("site_nope", "https://shop.example/")

        def add(w: Metadata) -> None:
            for _ in range(50):
                w.add_consent_denied(site.site_id, "2026-11-22", 2)

        threads = [threading.Thread(target=add, args=(w,)) for w in (md, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert md.consent_denied(site.site_id, "2026-11-22") == 200

        salt = md.daily_salt("2026-11-19")
        assert other.daily_salt("2026-11-19") == salt != md.daily_salt("2026-11-20")
        assert md.destroy_old_salts(ms("2026-11-22T12:00:00")) == ["2026-11-19"]
        assert other.daily_salt("2026-11-20") == md.daily_salt("2026-11-20")
        rated = md.update_site(
            site.site_id, rate_per_s=5, allowed_origins=["https://shop.example"], timezone="Asia/Tokyo"
        )
        assert other.site(site.site_id) == rated and (rated.rate_per_s, rated.timezone) == (5.0, "Asia/Tokyo")
        gone = md.create_site("Gone", "gone.example")
        md.create_link(gone.site_id, "https://gone.example/")
        assert md.delete_site(gone.site_id)[1] == 1 and other.site(gone.site_id) is None
    # opening again on existing tables is fine
    with Metadata(postgres_uri) as again:
        assert again.sites() == [rated]


# -- CLI ------------------------------------------------------------------------


def test_cli_sites_create_json_gives_a_working_key(clicklake: Run, tmp_path: Path) -> None:
    result = clicklake("sites", "create", "My Shop", "--domain", "shop.example", "--format", "json")

    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert shown["site_id"].startswith("site_") and shown["write_key"].startswith("wk_")
    with Metadata(default_uri(tmp_path / "data")) as md:
        site = md.site_by_key(shown["write_key"])
    assert isinstance(site, Site)
    assert (site.site_id, site.name, list(site.allowed_origins)) == (
        shown["site_id"],
        "My Shop",
        ["https://shop.example", "https://www.shop.example"],
    )

    listed = clicklake("sites", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert [s["write_key"] for s in json.loads(listed.stdout)] == [shown["write_key"]]


def test_cli_sites_create_table_and_origins(clicklake: Run) -> None:
    result = clicklake(
        "sites", "create", "Shop", "--domain", "shop.example", "--origin", "http://localhost:3000", "--ignore-gpc"
    )

    assert result.returncode == 0, result.stderr
    assert re.search(r"^site_id +site_\S{12}$", result.stdout, re.M), result.stdout
    assert re.search(r"^write_key +wk_\S{24}$", result.stdout, re.M), result.stdout
    assert re.search(r"^allowed_origins +http://localhost:3000$", result.stdout, re.M), result.stdout
    assert re.search(r"^honor_gpc +False$", result.stdout, re.M), result.stdout


def test_cli_sites_show_update_delete(clicklake: Run, tmp_path: Path) -> None:
    created = clicklake("sites", "create", "Shop", "--domain", "shop.example", "--rate", "250", "--format", "json")
    assert created.returncode == 0, created.stderr
    site = json.loads(created.stdout)
    assert site["rate_per_s"] == 250.0 and site["timezone"] == "UTC"
    site_id = site["site_id"]

    shown = clicklake("sites", "show", site_id)
    assert shown.returncode == 0, shown.stderr
    assert re.search(r"^rate_per_s +250\.0$", shown.stdout, re.M), shown.stdout
    assert re.search(r"^timezone +UTC$", shown.stdout, re.M), shown.stdout
    updated = clicklake(
        "sites", "update", site_id, "--name", "Big shop", "--origin", "https://shop.example",
        "--origin", "http://localhost:3000", "--no-rate", "--ignore-dnt", "--timezone", "Europe/Berlin",
        "--format", "json",
    )  # fmt: skip
    assert updated.returncode == 0, updated.stderr
    now = json.loads(updated.stdout)
    assert (now["name"], now["allowed_origins"], now["rate_per_s"], now["honor_dnt"], now["honor_gpc"]) == (
        "Big shop",
        ["https://shop.example", "http://localhost:3000"],
        None,
        False,
        True,
    )
    assert now["timezone"] == "Europe/Berlin"
    assert json.loads(clicklake("sites", "show", site_id, "--format", "json").stdout) == now
    rated = clicklake("sites", "update", site_id, "--rate", "0", "--format", "json")
    assert json.loads(rated.stdout)["rate_per_s"] == 0.0 and json.loads(rated.stdout)["name"] == "Big shop"
    listed = clicklake("sites", "list")
    assert re.search(
        rf"^{site_id} +Big shop +shop\.example +wk_\S+ +0 +Europe/Berlin +https://shop", listed.stdout, re.M
    ), listed.stdout

    for args, named in [
        (("sites", "show", "site_nope"), "site_nope"),
        (("sites", "update", "site_nope", "--name", "x"), "site_nope"),
        (("sites", "update", site_id, "--rate", "-1"), "-1"),
        (("sites", "update", site_id, "--origin", "shop.example"), "shop.example"),
        (("sites", "update", site_id, "--timezone", "Berlin"), "'Berlin' is unknown"),
        (("sites", "create", "X", "--domain", "x.example", "--timezone", "CEST"), "'CEST' is unknown"),
        (("sites", "delete", site_id), "--yes"),
        (("sites", "delete", "site_nope", "--yes"), "site_nope"),
    ]:
        result = clicklake(*args)
        assert result.returncode == 2, (args, result.stdout)
        assert named in result.stderr and "Traceback" not in result.stderr, result.stderr
    both = clicklake("sites", "update", site_id, "--rate", "1", "--no-rate")
    assert both.returncode == 2 and "not allowed with" in both.stderr

    deleted = clicklake("sites", "delete", site_id, "--yes")
    assert deleted.returncode == 0, deleted.stderr
    assert site_id in deleted.stdout
    assert clicklake("sites", "list", "--format", "json").stdout.strip() == "[]"


def make_site(tmp_path: Path) -> Site:
    """A site in the data directory the `clicklake` fixture uses (quicker than a `sites create` run)."""
    (tmp_path / "data").mkdir(exist_ok=True)
    with Metadata(default_uri(tmp_path / "data")) as md:
        return md.create_site("Shop", "shop.example")


def test_cli_links_create_prints_the_tracked_paths(clicklake: Run, tmp_path: Path) -> None:
    site = make_site(tmp_path)

    result = clicklake(
        "links", "create", "--site", site.site_id, "--target", "https://shop.example/p/1", "--kind", "qr",
        "--payout-cents", "120", "--format", "json",
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    link = json.loads(result.stdout)
    assert link["path"] == f"/r/{link['link_id']}" and link["qr_path"] == f"/r/{link['link_id']}/qr.svg"
    assert (link["site_id"], link["payout_cents"], link["kind"]) == (site.site_id, 120, "qr")
    table = clicklake("links", "create", "--site", site.site_id, "--target", "https://shop.example/")
    assert re.search(r"^path +/r/\S{8}$", table.stdout, re.M), table.stdout
    assert "qr.svg" not in table.stdout
    with Metadata(default_uri(tmp_path / "data")) as md:
        stored = md.link(link["link_id"])
    assert stored is not None and stored.target == "https://shop.example/p/1"


def test_cli_links_create_unknown_site_exits_2(clicklake: Run) -> None:
    result = clicklake("links", "create", "--site", "site_nope", "--target", "https://shop.example/")

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "clicklake: error: Unknown site 'site_nope': `clicklake sites list` shows the sites there are."
    )


def test_cli_links_create_bad_input_exits_2(clicklake: Run, tmp_path: Path) -> None:
    site = make_site(tmp_path)

    for args, named in [
        (("--target", "ftp://shop.example/"), "'ftp://shop.example/'"),
        (("--target", "https://shop.example/", "--payout-cents", "-5"), "-5"),
    ]:
        result = clicklake("links", "create", "--site", site.site_id, *args)

        assert result.returncode == 2, args
        assert result.stdout == ""
        assert named in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
