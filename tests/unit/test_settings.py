"""Settings: one frozen object from the environment, failing fast on bad values."""

from __future__ import annotations

import ast
from pathlib import Path

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

import picloud
from picloud.errors import ConfigError
from picloud.settings import ENV_VARS, MiB, Settings, get_settings


def test_defaults_follow_the_changelog() -> None:
    s = Settings.from_env({})
    assert s.database_url is None and s.redis_url is None  # embedded
    assert (s.data_dir, s.host, s.port, s.base_domain) == (
        "./.picloud",
        "127.0.0.1",
        8000,
        "localhost",
    )
    assert s.max_request_body_bytes == 10 * MiB
    assert s.session_ttl_seconds == 86_400
    assert (s.script_cache_size, s.module_cache_size, s.module_import_depth_max) == (256, 512, 8)
    assert s.max_trigger_depth == 8
    assert (s.realtime_heartbeat_sec, s.realtime_broadcast_capacity) == (30, 64)
    assert (
        s.subscriber_token_ttl_min_sec,
        s.subscriber_token_ttl_max_sec,
        s.subscriber_token_ttl_default_sec,
    ) == (10, 86_400, 3_600)
    assert s.http_allow_private is False
    assert s.http_max_request_body_bytes == s.http_max_response_body_bytes == 10 * MiB
    assert s.cron_tick_interval_ms == 30_000
    assert (s.files_root, s.files_max_file_size_bytes) == ("./data", 100 * MiB)
    assert (s.files_orphan_sweep_interval_sec, s.files_orphan_tmp_ttl_sec) == (21_600, 3_600)
    assert s.dead_letter_retention_days == 30
    assert s.server in ("uvicorn", "granian")


def test_every_field_has_exactly_one_variable() -> None:
    assert set(ENV_VARS) == set(Settings.__struct_fields__)
    assert len(set(ENV_VARS.values())) == len(ENV_VARS)
    assert all(
        v == "DATABASE_URL" or v == "REDIS_URL" or v.startswith("PICLOUD_")
        for v in ENV_VARS.values()
    )


def test_values_are_read_and_converted() -> None:
    s = Settings.from_env(
        {
            "DATABASE_URL": "postgresql://u@db:5432/x",
            "REDIS_URL": "redis://r:6379/1",
            "PICLOUD_PORT": " 9000 ",
            "PICLOUD_HTTP_ALLOW_PRIVATE": "Yes",
            "PICLOUD_SERVER": "UVICORN",
            "PICLOUD_MAX_REQUEST_BODY_BYTES": "1_048_576",
            "PICLOUD_BOOTSTRAP_ADMIN_EMAIL": "a@example.com",
            "PICLOUD_BOOTSTRAP_ADMIN_PASSWORD": "pw",
            "PICLOUD_SESSION_TTL_SEC": "60",
            "UNRELATED": "ignored",
        }
    )
    assert s.database_url == "postgresql://u@db:5432/x" and s.redis_url == "redis://r:6379/1"
    assert (s.port, s.http_allow_private, s.server) == (9000, True, "uvicorn")
    assert s.max_request_body_bytes == 1_048_576 and s.session_ttl_seconds == 60
    assert s.bootstrap_admin_email == "a@example.com"


def test_an_empty_value_means_unset() -> None:
    assert Settings.from_env({"DATABASE_URL": "", "PICLOUD_PORT": "  "}) == Settings()


def test_the_cron_tick_is_floored_at_one_second() -> None:
    assert Settings.from_env({"PICLOUD_CRON_TICK_INTERVAL_MS": "10"}).cron_tick_interval_ms == 1000
    assert (
        Settings.from_env({"PICLOUD_CRON_TICK_INTERVAL_MS": "1500"}).cron_tick_interval_ms == 1500
    )


@pytest.mark.parametrize(
    "var, value",
    [
        ("PICLOUD_PORT", "eighty"),
        ("PICLOUD_PORT", "0"),
        ("PICLOUD_PORT", "70000"),
        ("PICLOUD_PORT", "80.5"),
        ("PICLOUD_HTTP_ALLOW_PRIVATE", "maybe"),
        ("PICLOUD_SERVER", "gunicorn"),
        ("PICLOUD_LOG_LEVEL", "loud"),
        ("DATABASE_URL", "mysql://x"),
        ("DATABASE_URL", "not a url"),
        ("REDIS_URL", "http://r"),
        ("PICLOUD_MAX_REQUEST_BODY_BYTES", "-1"),
        ("PICLOUD_MAX_REQUEST_BODY_BYTES", "10MB"),
        ("PICLOUD_SESSION_TTL_SEC", "0"),
        ("PICLOUD_MODULE_IMPORT_DEPTH_MAX", "0"),
        ("PICLOUD_REALTIME_BROADCAST_CAPACITY", "0"),
        ("PICLOUD_DEAD_LETTER_RETENTION_DAYS", "-3"),
        ("PICLOUD_SUBSCRIBER_TOKEN_TTL_DEFAULT_SEC", "5"),
        ("PICLOUD_SUBSCRIBER_TOKEN_TTL_DEFAULT_SEC", "999999"),
        ("PICLOUD_BOOTSTRAP_ADMIN_EMAIL", "a@example.com"),
        ("PICLOUD_BOOTSTRAP_ADMIN_PASSWORD", "secret"),
        ("PICLOUD_REDIS_NAMESPACE", "has space"),
        ("PICLOUD_DB_POOL_MIN_SIZE", "50"),
        ("PICLOUD_BASE_DOMAIN", "a/b"),
    ],
)
def test_a_bad_value_fails_fast_naming_the_variable(var: str, value: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env({var: value})
    assert var in info.value.message
    assert info.value.code == "config_error"
    # A half-set pair names the missing partner in ``details``.
    partner = {
        "PICLOUD_BOOTSTRAP_ADMIN_EMAIL": "PICLOUD_BOOTSTRAP_ADMIN_PASSWORD",
        "PICLOUD_BOOTSTRAP_ADMIN_PASSWORD": "PICLOUD_BOOTSTRAP_ADMIN_EMAIL",
    }
    assert info.value.details == {"variable": partner.get(var, var)}
    assert "secret" not in info.value.message


def test_settings_are_frozen_and_replace_rechecks() -> None:
    s = Settings()
    with pytest.raises(AttributeError):
        s.port = 1  # type: ignore[misc]
    assert s.replace(port=1234).port == 1234 and s.port == 8000
    with pytest.raises(ConfigError, match="PICLOUD_PORT"):
        s.replace(port=0)
    assert s.redis_key("jobs", "x") == "picloud:jobs:x"


def test_get_settings_reads_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    try:
        monkeypatch.setenv("PICLOUD_PORT", "8123")
        first = get_settings()
        monkeypatch.setenv("PICLOUD_PORT", "8124")
        assert get_settings() is first and first.port == 8123
    finally:
        get_settings.cache_clear()


@given(st.integers(min_value=1, max_value=65535))
def test_any_valid_port_round_trips(port: int) -> None:
    assert Settings.from_env({"PICLOUD_PORT": str(port)}).port == port


@given(
    st.text(min_size=1).filter(
        lambda t: t.strip() and not t.strip().lstrip("+-").replace("_", "").isdigit()
    )
)
def test_any_non_integer_port_is_refused(raw: str) -> None:
    with pytest.raises(ConfigError, match="PICLOUD_PORT"):
        Settings.from_env({"PICLOUD_PORT": raw})


def test_settings_encode_as_json() -> None:
    assert msgspec.json.decode(msgspec.json.encode(Settings()))["port"] == 8000


#: Modules allowed to read the process environment, and why.
_ENV_READERS = {
    "settings.py": "the one place settings are read",
    "embedded.py": "XDG_RUNTIME_DIR for pgserver, a third-party library's own knob",
}


def _env_reads(tree: ast.AST) -> list[int]:
    """Line numbers reading ``os.environ`` / ``os.getenv`` (assignments are fine)."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            f = node.func
            if f.attr == "getenv" or (
                f.attr == "get" and isinstance(f.value, ast.Attribute) and f.value.attr == "environ"
            ):
                lines.append(node.lineno)
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "environ"
        ):
            lines.append(node.lineno)
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(a.name in ("environ", "getenv") for a in node.names)
        ):
            lines.append(node.lineno)
    return lines


def test_nothing_else_reads_the_environment() -> None:
    root = Path(picloud.__file__).parent
    offenders = []
    for path in sorted(root.rglob("*.py")):
        if path.relative_to(root).as_posix() in _ENV_READERS:
            continue
        for line in _env_reads(ast.parse(path.read_text(), str(path))):
            offenders.append(f"{path.relative_to(root)}:{line}")
    assert offenders == [], "read settings through picloud.settings instead"
