import subprocess
import sys

import pytest

from chexweb_cli.config import ConfigError, load_config
from tests.processes import REPO


def write_config(tmp_path, text: str, mode: int = 0o600):
    path = tmp_path / "config.ini"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_the_environment_names_url_and_token():
    config = load_config(environ={"CHEXWEB_URL": "https://chexweb.example/",
                                  "CHEXWEB_TOKEN": "chx_env", "XDG_CONFIG_HOME": "/nonexistent"})
    assert (config.url, config.token, config.warnings) == ("https://chexweb.example", "chx_env",
                                                           ())


def test_the_config_file_is_read_when_the_environment_is_silent(tmp_path):
    path = write_config(tmp_path, "[chexweb]\nurl = https://pacs.example\ntoken = chx_file\n")
    config = load_config(environ={"CHEXWEB_CONFIG": str(path)})
    assert (config.url, config.token) == ("https://pacs.example", "chx_file")


def test_the_environment_wins_over_the_file_and_the_option_over_both(tmp_path):
    path = write_config(tmp_path, "[chexweb]\nurl = https://file.example\ntoken = chx_file\n")
    environ = {"CHEXWEB_CONFIG": str(path), "CHEXWEB_TOKEN": "chx_env",
               "CHEXWEB_URL": "https://env.example"}
    assert load_config(environ=environ).token == "chx_env"
    assert load_config(environ=environ).url == "https://env.example"
    assert load_config(url="https://option.example", environ=environ).url == (
        "https://option.example")


def test_a_token_file_others_may_read_is_warned_about(tmp_path):
    path = write_config(tmp_path, "[chexweb]\ntoken = chx_file\n", mode=0o644)
    [warning] = load_config(environ={"CHEXWEB_CONFIG": str(path)}).warnings
    assert "chmod 600" in warning


@pytest.mark.parametrize("environ, message", [
    ({"XDG_CONFIG_HOME": "/nonexistent"}, "No API token: set CHEXWEB_TOKEN"),
    ({"CHEXWEB_CONFIG": "/nonexistent/config.ini"}, "does not exist"),
])
def test_a_missing_token_says_what_to_set(environ, message):
    with pytest.raises(ConfigError, match=message):
        load_config(environ=environ)


def test_a_file_without_the_section_is_refused(tmp_path):
    path = write_config(tmp_path, "[other]\ntoken = x\n")
    with pytest.raises(ConfigError, match=r"no \[chexweb\] section"):
        load_config(environ={"CHEXWEB_CONFIG": str(path)})


def test_the_client_never_imports_django():
    code = ("import sys, chexweb_cli.commands, chexweb_cli.client; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'diagnoses')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                            text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_it_runs_as_a_module_and_explains_itself():
    result = subprocess.run([sys.executable, "-m", "chexweb_cli", "submit", "--help"], cwd=REPO,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "--wait" in result.stdout
