from __future__ import annotations

import os
from pathlib import Path

import pytest

from materia_tui.cli.config import (
    DEFAULT_API_URL,
    ConnectionFlags,
    config_path,
    load_config_file,
    resolve_settings,
)
from materia_tui.errors import UsageError


def test_flags_beat_environment_beat_file(tmp_path: Path) -> None:
    file = {"url": "https://file.example/api/v1", "token": "file-token"}
    env = {"MATERIA_API_URL": "https://env.example/api/v1", "MATERIA_TOKEN": "env-token"}
    s = resolve_settings(ConnectionFlags(url="https://flag.example/api/v1", token="flag-token"), env, file)
    assert (s.base_url, s.token) == ("https://flag.example/api/v1", "flag-token")
    s = resolve_settings(ConnectionFlags(), env, file)
    assert (s.base_url, s.token) == ("https://env.example/api/v1", "env-token")
    s = resolve_settings(ConnectionFlags(), {}, file)
    assert (s.base_url, s.token) == ("https://file.example/api/v1", "file-token")
    s = resolve_settings(ConnectionFlags(), {}, {})
    assert (s.base_url, s.token) == (DEFAULT_API_URL, None)


def test_token_file_is_read_and_loose_permissions_warn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("secret-token\n")
    os.chmod(token_file, 0o600)
    s = resolve_settings(ConnectionFlags(token_file=str(token_file)), {}, {})
    assert s.token == "secret-token"
    assert capsys.readouterr().err == ""
    os.chmod(token_file, 0o644)
    resolve_settings(ConnectionFlags(), {"MATERIA_TOKEN_FILE": str(token_file)}, {})
    err = capsys.readouterr().err
    assert "readable by others" in err and "secret-token" not in err


def test_bad_inputs_are_one_sentence_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not an http"):
        resolve_settings(ConnectionFlags(url="ftp://x"), {}, {})
    with pytest.raises(UsageError, match="Cannot read the token file"):
        resolve_settings(ConnectionFlags(token_file=str(tmp_path / "missing")), {}, {})
    with pytest.raises(UsageError, match="CA bundle"):
        resolve_settings(ConnectionFlags(ca_bundle=str(tmp_path / "none.pem")), {}, {})
    bad = tmp_path / "config.toml"
    bad.write_text("url = [")
    with pytest.raises(UsageError, match="config file"):
        load_config_file(bad)


def test_config_file_location_and_repr_hides_token(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('url = "http://127.0.0.1:1/api/v1"\ntoken = "t0ps3cret"\n')
    env = {"MATERIA_CONFIG": str(cfg)}
    assert config_path(env) == cfg
    s = resolve_settings(ConnectionFlags(), env)
    assert s.base_url == "http://127.0.0.1:1/api/v1" and s.token == "t0ps3cret"
    assert "t0ps3cret" not in repr(s)


def test_url_origin_says_where_the_url_came_from_and_how_to_change_it(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    env = {"MATERIA_CONFIG": str(path)}
    default = resolve_settings(ConnectionFlags(), env, {}).url_origin
    assert default.startswith(f"{DEFAULT_API_URL} is the default URL")
    assert "--url" in default and "MATERIA_API_URL" in default and str(path) in default
    from_file = resolve_settings(ConnectionFlags(), env, {"url": "https://file.example/api/v1"}).url_origin
    assert from_file.startswith(f"https://file.example/api/v1 comes from url in {path}")
    with_env = {**env, "MATERIA_API_URL": "https://env.example/api/v1"}
    from_env = resolve_settings(
        ConnectionFlags(), with_env, {"url": "https://file.example/api/v1"}
    ).url_origin
    # The config file cannot override the environment: it is not offered.
    assert from_env == "https://env.example/api/v1 comes from MATERIA_API_URL; change it, or pass --url."
    flag = ConnectionFlags(url="https://user:pw@flag.example/api/v1?key=1")
    from_flag = resolve_settings(flag, with_env, {}).url_origin
    assert from_flag == "https://flag.example/api/v1 comes from --url; check the host name."


def test_url_origin_shows_a_config_path_under_home_as_typed() -> None:
    env = {"MATERIA_CONFIG": str(Path.home() / ".config" / "materia-tui" / "config.toml")}
    origin = resolve_settings(ConnectionFlags(), env, {}).url_origin
    assert "no url in ~/.config/materia-tui/config.toml)" in origin
