"""Settings: defaults < clicklake.toml < CLICKLAKE_* environment, and clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from clicklake.config import Settings, load_settings
from clicklake.errors import ClicklakeError, ConfigError


@pytest.fixture(autouse=True)
def _empty_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No ./clicklake.toml from the checkout may leak into a test."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


def write_config(tmp_path: Path, text: str, name: str = "settings.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- layering -----------------------------------------------------------------


def test_defaults_without_file_or_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./clicklake.toml here

    settings = load_settings(env={})

    assert settings.data == "./data"
    assert settings.data_dir == Path("data")
    assert settings.log_level == "info"
    assert settings.server.host == "127.0.0.1"
    assert settings.server.port == 8000
    # a client IP is held to a rate by default; a site only to one of its own (`sites update --rate`)
    assert (settings.collect.rate_per_ip, settings.collect.rate_per_site) == (100.0, 0.0)
    assert settings == Settings()


def test_file_overrides_defaults(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        'data = "/srv/clicklake"\nlog_level = "debug"\n\n[server]\nport = 9001\n',
    )

    settings = load_settings(path, env={})

    assert settings.data == "/srv/clicklake"
    assert settings.log_level == "debug"
    assert settings.server.port == 9001
    assert settings.server.host == "127.0.0.1"  # not in the file: still the default


def test_env_overrides_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'log_level = "debug"\n\n[server]\nhost = "0.0.0.0"\nport = 9001\n')

    settings = load_settings(path, env={"CLICKLAKE_SERVER__PORT": "9002", "CLICKLAKE_LOG_LEVEL": "warning"})

    assert settings.server.port == 9002
    assert settings.log_level == "warning"
    assert settings.server.host == "0.0.0.0"  # only in the file: kept beside the env override


def test_default_file_in_working_directory_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_config(tmp_path, "[server]\nport = 9123\n", name="clicklake.toml")
    monkeypatch.chdir(tmp_path)

    assert load_settings(env={}).server.port == 9123
    assert load_settings(env={"CLICKLAKE_SERVER__PORT": "9124"}).server.port == 9124


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, 'log_level = "error"\n', name="elsewhere.toml")

    assert load_settings(env={"CLICKLAKE_CONFIG": str(path)}).log_level == "error"


def test_nested_env_key_with_double_underscore() -> None:
    settings = load_settings(env={"CLICKLAKE_SERVER__PORT": "8123", "CLICKLAKE_SERVER__HOST": "0.0.0.0"})

    assert settings.server.port == 8123  # converted from the string
    assert isinstance(settings.server.port, int)
    assert settings.server.host == "0.0.0.0"


def test_clicklake_data_sets_data(tmp_path: Path) -> None:
    settings = load_settings(env={"CLICKLAKE_DATA": str(tmp_path / "lake")})

    assert settings.data == str(tmp_path / "lake")
    assert settings.data_dir == tmp_path / "lake"


def test_other_environment_variables_are_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    settings = load_settings(env={"PORT": "1", "SERVER__PORT": "2", "CLICKLAKEX_DATA": "x"})

    assert settings == Settings()


# -- errors ---------------------------------------------------------------------


def test_bad_value_in_file_names_key_value_and_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'log_level = "loud"\n')

    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, env={})

    message = str(excinfo.value)
    assert "log_level" in message
    assert "loud" in message
    assert str(path) in message


def test_bad_value_in_env_names_key_value_and_variable(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[server]\nport = 9001\n")  # a good value the env then breaks

    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, env={"CLICKLAKE_SERVER__PORT": "eighty"})

    message = str(excinfo.value)
    assert "server.port" in message
    assert "eighty" in message
    assert "CLICKLAKE_SERVER__PORT" in message
    assert str(path) not in message  # the file is not to blame


@pytest.mark.parametrize("port", [0, 70000])
def test_port_out_of_range_fails(port: int) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(env={"CLICKLAKE_SERVER__PORT": str(port)})

    message = str(excinfo.value)
    assert "server.port" in message
    assert re.search(rf"(?<!\d){port}(?!\d)", message), message
    assert "CLICKLAKE_SERVER__PORT" in message


@pytest.mark.parametrize("port", [0, 70000])
def test_port_out_of_range_in_file_fails(tmp_path: Path, port: int) -> None:
    path = write_config(tmp_path, f"[server]\nport = {port}\n")

    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, env={})

    message = str(excinfo.value)
    assert "server.port" in message
    assert str(path) in message


@pytest.mark.parametrize("port", ["1", "65535"])
def test_port_range_bounds_are_accepted(port: str) -> None:
    assert load_settings(env={"CLICKLAKE_SERVER__PORT": port}).server.port == int(port)


def test_unknown_key_in_file_is_named(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[server]\nport = 9001\nworkers = 4\n")

    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, env={})

    message = str(excinfo.value)
    assert "server.workers" in message
    assert str(path) in message


def test_unknown_top_level_key_in_file_is_named(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'colour = "blue"\n')

    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, env={})

    assert "colour" in str(excinfo.value)


def test_unknown_key_in_env_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    with pytest.raises(ConfigError) as excinfo:
        load_settings(env={"CLICKLAKE_SERVER__WORKERS": "4"})

    message = str(excinfo.value)
    assert "server.workers" in message
    assert "CLICKLAKE_SERVER__WORKERS" in message


def test_invalid_toml_fails_clearly(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[server\nport = 9001\n")

    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, env={})

    message = str(excinfo.value)
    assert str(path) in message
    assert "TOML" in message
    assert "line 1" in message


def test_explicit_config_path_that_does_not_exist_fails(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"

    with pytest.raises(ConfigError) as excinfo:
        load_settings(missing, env={})

    assert str(missing) in str(excinfo.value)
    assert "not exist" in str(excinfo.value)


def test_config_env_path_that_does_not_exist_fails(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"

    with pytest.raises(ConfigError) as excinfo:
        load_settings(env={"CLICKLAKE_CONFIG": str(missing)})

    assert str(missing) in str(excinfo.value)


def test_config_error_is_a_clicklake_error() -> None:
    with pytest.raises(ClicklakeError):
        load_settings(env={"CLICKLAKE_LOG_LEVEL": "loud"})
