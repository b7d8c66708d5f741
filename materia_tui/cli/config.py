"""Where the API URL and token come from: flags > environment > config file.

The config file is TOML at ``$XDG_CONFIG_HOME/materia-tui/config.toml``
(``platformdirs.user_config_dir``), or the path in ``MATERIA_CONFIG``:

    url = "https://api.matcraft.ai/api/v1"
    token_file = "~/.config/materia-tui/token"   # or: token = "..."
    ca_bundle = "/etc/ssl/certs/company-ca.pem"
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from materia_tui.errors import UsageError
from materia_tui.sanitize import clean
from materia_tui.source.settings import ConnectionSettings, websocket_url

DEFAULT_API_URL = "https://api.matcraft.ai/api/v1"
ENV_URL = "MATERIA_API_URL"
ENV_TOKEN = "MATERIA_TOKEN"
ENV_TOKEN_FILE = "MATERIA_TOKEN_FILE"
ENV_CONFIG = "MATERIA_CONFIG"


@dataclass(frozen=True, slots=True)
class ConnectionFlags:
    url: str | None = None
    token: str | None = None
    token_file: str | None = None
    insecure: bool = False
    ca_bundle: str | None = None
    max_retries: int | None = None


def config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    explicit = env.get(ENV_CONFIG)
    if explicit:
        return Path(explicit).expanduser()
    from platformdirs import user_config_dir  # here: every command starts faster without it

    return Path(user_config_dir("materia-tui")) / "config.toml"


def load_config_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    import tomllib

    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"Cannot read the config file {path}: {exc}.") from None


def read_token_file(path_text: str, warn: Any = None) -> str:
    path = Path(path_text).expanduser()
    try:
        token = path.read_text(encoding="utf-8").strip()
        mode = path.stat().st_mode
    except OSError as exc:
        raise UsageError(f"Cannot read the token file {path}: {exc.strerror or exc}.") from None
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        (warn or _warn)(f"warning: the token file {path} is readable by others; run: chmod 600 {path}")
    if not token:
        raise UsageError(f"The token file {path} is empty.")
    return token


def resolve_settings(
    flags: ConnectionFlags, env: Mapping[str, str] | None = None, file: Mapping[str, Any] | None = None
) -> ConnectionSettings:
    """Merge flags, environment and config file, in that order of precedence."""
    env = os.environ if env is None else env
    file = load_config_file(config_path(env)) if file is None else file
    url = flags.url or env.get(ENV_URL) or _str(file.get("url")) or DEFAULT_API_URL
    origin = url_origin(flags, env, file, config_path(env))
    websocket_url(url, "check")  # raises UsageError for a URL that is not http(s)
    token = _resolve_token(flags, env, file)
    ca_bundle = flags.ca_bundle or _str(file.get("ca_bundle"))
    if ca_bundle and not Path(ca_bundle).expanduser().is_file():
        raise UsageError(f"The CA bundle {ca_bundle} does not exist.")
    return ConnectionSettings(
        base_url=url.rstrip("/"),
        token=token,
        insecure=flags.insecure or bool(file.get("insecure", False)),
        ca_bundle=str(Path(ca_bundle).expanduser()) if ca_bundle else None,
        max_retries=flags.max_retries,
        url_origin=origin,
    )


def url_origin(flags: ConnectionFlags, env: Mapping[str, str], file: Mapping[str, Any], path: Path) -> str:
    """Where the API URL came from and how to point at another server, in the order
    of precedence (a lower source cannot override a higher one, so it is not offered)."""
    path_text = _home_relative(path)
    if flags.url:
        return f"{_shown(flags.url)} comes from --url; check the host name."
    if env.get(ENV_URL):
        return f"{_shown(env[ENV_URL])} comes from {ENV_URL}; change it, or pass --url."
    if _str(file.get("url")):
        return f"{_shown(file['url'])} comes from url in {path_text}; edit it, set {ENV_URL}, or pass --url."
    return (
        f"{DEFAULT_API_URL} is the default URL (no --url, no {ENV_URL}, no url in {path_text}); "
        "point at your server with one of them."
    )


def _resolve_token(flags: ConnectionFlags, env: Mapping[str, str], file: Mapping[str, Any]) -> str | None:
    if flags.token:
        return flags.token
    if flags.token_file:
        return read_token_file(flags.token_file)
    if env.get(ENV_TOKEN):
        return env[ENV_TOKEN]
    if env.get(ENV_TOKEN_FILE):
        return read_token_file(env[ENV_TOKEN_FILE])
    if _str(file.get("token")):
        return _str(file.get("token"))
    if _str(file.get("token_file")):
        return read_token_file(str(file["token_file"]))
    return None


def _home_relative(path: Path) -> str:
    """``~/.config/...`` rather than ``/home/someone/.config/...``: shorter, and as a user types it."""
    try:
        return f"~/{path.relative_to(Path.home())}"
    except (ValueError, RuntimeError):  # elsewhere, or no home directory
        return str(path)


def _shown(url: str) -> str:
    """``url`` without a user:password part, query or fragment (it is printed)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return clean(urlunsplit((parts.scheme, netloc, parts.path, "", "")), 200)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _warn(message: str) -> None:
    print(message, file=sys.stderr)
