"""Where the API is and which token to use: the environment first, then a config file.

    CHEXWEB_URL=https://chexweb.example.org   CHEXWEB_TOKEN=chx_...

or, in $CHEXWEB_CONFIG (default ~/.config/chexweb/config.ini, readable by you alone):

    [chexweb]
    url = https://chexweb.example.org
    token = chx_...
"""

import configparser
import os
import stat
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8000"
SECTION = "chexweb"


class ConfigError(Exception):
    """No usable configuration; the message says what to set."""


@dataclass(frozen=True)
class Config:
    url: str
    token: str
    warnings: tuple[str, ...] = ()


def config_path(environ=os.environ) -> Path:
    explicit = environ.get("CHEXWEB_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = Path(environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "chexweb" / "config.ini"


def load_config(*, url: str | None = None, environ=os.environ) -> Config:
    path = config_path(environ)
    from_file, warnings = _read_file(path, explicit="CHEXWEB_CONFIG" in environ)
    token = environ.get("CHEXWEB_TOKEN") or from_file.get("token", "")
    if not token:
        raise ConfigError(
            f"No API token: set CHEXWEB_TOKEN or put `token = ...` under [{SECTION}] in {path} "
            "(an administrator creates one with `manage.py api_token create USER --name N`)."
        )
    url = url or environ.get("CHEXWEB_URL") or from_file.get("url") or DEFAULT_URL
    return Config(url=url.rstrip("/"), token=token.strip(), warnings=tuple(warnings))


def _read_file(path: Path, *, explicit: bool) -> tuple[dict[str, str], list[str]]:
    if not path.exists():
        if explicit:
            raise ConfigError(f"CHEXWEB_CONFIG names {path}, which does not exist.")
        return {}, []
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except configparser.Error as error:
        raise ConfigError(f"{path} is not a valid config file: {error}") from None
    if not parser.has_section(SECTION):
        raise ConfigError(f"{path} has no [{SECTION}] section.")
    warnings = []
    if "token" in parser[SECTION] and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.append(f"{path} holds an API token but others may read it: chmod 600 {path}")
    return dict(parser[SECTION]), warnings
