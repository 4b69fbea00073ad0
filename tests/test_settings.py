"""Settings are declared once and every one is documented in README."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import config
from app.kernel.errors import ValidationError

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_documented_in_readme() -> None:
    text = README.read_text(encoding="utf-8")
    missing = [
        (flag, env)
        for flag, env, _, _ in config.describe()
        if f"`{flag}`" not in text or f"`{env}`" not in text
    ]
    assert not missing, f"settings missing from README's table: {missing}"


def test_environment_and_flags_override_defaults(tmp_path: Path) -> None:
    env = {"TFOS_PORT": "9001", "TFOS_DATA_DIR": str(tmp_path)}
    settings = config.load(environ=env)
    assert settings.port == 9001
    assert settings.data_dir == tmp_path
    parser = __import__("argparse").ArgumentParser()
    config.add_arguments(parser)
    args = parser.parse_args(["--port", "9002"])
    assert config.load(args, environ=env).port == 9002


def test_defaults() -> None:
    settings = config.load(environ={})
    assert (settings.host, settings.port, settings.store_backend) == ("127.0.0.1", 8080, "sqlite")


def test_bad_values_are_clear() -> None:
    with pytest.raises(ValidationError, match="port must be an integer"):
        config.load(environ={"TFOS_PORT": "eighty"})
    with pytest.raises(ValidationError, match="Unknown store backend"):
        config.load(environ={"TFOS_STORE_BACKEND": "mongo"})


def test_standard_google_variables_are_documented() -> None:
    """The Firestore store honours the variables every Google client reads."""
    text = README.read_text(encoding="utf-8")
    for name in ("FIRESTORE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS"):
        assert f"| `{name}` |" in text, name
