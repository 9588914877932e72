"""Settings: read from PAKHUIS_* at start-up (never at import), validated, secrets never printed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import platformdirs
import pytest

from pakhuis.errors import ConfigurationError, PakhuisError
from pakhuis.settings import Settings, load_settings, redact_url
from tests.support import REPO


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("PAKHUIS_"):
            monkeypatch.delenv(name)


def _config_error(**overrides: object) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        load_settings(**overrides)
    return info.value


# -- defaults and the environment --------------------------------------------------------------


def test_defaults_are_embedded() -> None:
    settings = load_settings()
    assert settings.database_url is None
    assert settings.mqtt_url is None
    assert settings.kafka_url is None
    assert settings.embedded_database
    assert settings.embedded_broker
    assert settings.api_port == 8000
    assert settings.mqtt_port == 1883
    assert settings.mqtt_protocol == "5"
    assert settings.mqtt_topics == ["pakhuis/v1/#", "v3/+/devices/+/up", "v1.1/#"]
    assert settings.batch_max_readings == 5000
    assert settings.batch_max_seconds == 1.0
    assert settings.max_future_s == 300.0
    # The per-user data folder (conftest points XDG_DATA_HOME into the test's temp dir).
    assert settings.data_dir == platformdirs.user_data_path("pakhuis").resolve()
    assert settings.data_dir.is_absolute()
    assert settings.mqtt_endpoint() == ("127.0.0.1", 1883, None, None)


def test_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAKHUIS_API_PORT", "9123")
    monkeypatch.setenv("PAKHUIS_API_HOST", "0.0.0.0")
    monkeypatch.setenv("PAKHUIS_DATABASE_URL", "postgresql://pk:hunter2@db.example:5433/pakhuis")
    monkeypatch.setenv("PAKHUIS_MQTT_URL", "mqtt://ing:mqttpw@broker.example:1884")
    monkeypatch.setenv("PAKHUIS_MQTT_PROTOCOL", "3.1.1")
    monkeypatch.setenv("PAKHUIS_MQTT_TOPICS", '["pakhuis/v1/a/+/+", "pakhuis/v1/b/+/+"]')
    monkeypatch.setenv("PAKHUIS_BATCH_MAX_READINGS", "250")
    monkeypatch.setenv("PAKHUIS_BATCH_MAX_SECONDS", "0.5")
    monkeypatch.setenv("PAKHUIS_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("PAKHUIS_DATA_DIR", "/tmp/pakhuis-data")
    settings = load_settings()
    assert settings.api_port == 9123
    assert settings.api_host == "0.0.0.0"
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == "postgresql://pk:hunter2@db.example:5433/pakhuis"
    assert not settings.embedded_database
    assert not settings.embedded_broker
    assert settings.mqtt_protocol == "3.1.1"
    assert settings.mqtt_topics == ["pakhuis/v1/a/+/+", "pakhuis/v1/b/+/+"]
    assert settings.batch_max_readings == 250
    assert settings.batch_max_seconds == 0.5
    assert settings.log_level == "DEBUG"
    assert settings.data_dir == Path("/tmp/pakhuis-data")
    assert settings.mqtt_endpoint() == ("broker.example", 1884, "ing", "mqttpw")


def test_environment_is_read_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().api_port == 8000
    monkeypatch.setenv("PAKHUIS_API_PORT", "8100")
    assert load_settings().api_port == 8100


def test_overrides_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAKHUIS_API_PORT", "9123")
    monkeypatch.setenv("PAKHUIS_DATABASE_URL", "postgresql://u@h/db")
    settings = load_settings(api_port=9200, database_url="")
    assert settings.api_port == 9200
    # An empty override means "unset": embedded database even though the env names one.
    assert settings.database_url is None


def test_none_overrides_fall_back_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAKHUIS_API_PORT", "9123")
    assert load_settings(api_port=None, api_host=None).api_port == 9123


def test_empty_urls_mean_embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAKHUIS_DATABASE_URL", "")
    monkeypatch.setenv("PAKHUIS_MQTT_URL", "")
    settings = load_settings()
    assert settings.embedded_database
    assert settings.embedded_broker


def test_wildcard_bind_connects_over_loopback() -> None:
    settings = load_settings(mqtt_bind_host="0.0.0.0", mqtt_port=1999)
    assert settings.mqtt_endpoint() == ("127.0.0.1", 1999, None, None)


def test_mqtt_url_without_port_defaults_to_1883() -> None:
    assert load_settings(mqtt_url="mqtt://broker").mqtt_endpoint() == ("broker", 1883, None, None)


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.api_port = 1  # refused at run time: the model is frozen


# -- invalid values ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PAKHUIS_API_PORT", "0"),
        ("PAKHUIS_API_PORT", "65536"),
        ("PAKHUIS_API_PORT", "http"),
        ("PAKHUIS_MQTT_PORT", "-1"),
        ("PAKHUIS_DATABASE_URL", "mysql://root:pw@localhost/pakhuis"),
        ("PAKHUIS_DATABASE_URL", "localhost:5432"),
        ("PAKHUIS_MQTT_URL", "http://broker:1883"),
        ("PAKHUIS_MQTT_URL", "mqtt://"),
        ("PAKHUIS_MQTT_URL", "broker.example:1883"),
        ("PAKHUIS_MQTT_PROTOCOL", "4"),
        ("PAKHUIS_LOG_LEVEL", "LOUD"),
        ("PAKHUIS_BATCH_MAX_READINGS", "0"),
        ("PAKHUIS_BATCH_MAX_SECONDS", "0"),
        ("PAKHUIS_MAX_FUTURE_S", "-1"),
        ("PAKHUIS_MQTT_MAX_INFLIGHT", "70000"),
    ],
)
def test_invalid_environment_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    error = _config_error()
    assert variable in error.message
    assert variable in str(error)
    assert error.code == "configuration_error"
    assert error.hint
    assert isinstance(error, PakhuisError)


def test_invalid_override_names_the_option_not_a_variable() -> None:
    error = _config_error(api_port=70000)
    assert "--api-port 70000" in error.message
    assert "PAKHUIS_API_PORT" not in error.message
    assert error.hint == "Fix the option(s) named above."


def test_several_problems_are_all_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAKHUIS_API_PORT", "0")
    monkeypatch.setenv("PAKHUIS_DATABASE_URL", "mysql://h/db")
    error = _config_error()
    assert "PAKHUIS_API_PORT" in error.message
    assert "PAKHUIS_DATABASE_URL" in error.message


def test_database_url_error_says_what_is_expected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAKHUIS_DATABASE_URL", "mysql://root@localhost/pakhuis")
    assert "postgresql://" in _config_error().message


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_postgres_schemes_are_accepted(scheme: str) -> None:
    settings = load_settings(database_url=f"{scheme}://u@h:5432/db")
    assert settings.database_url is not None


@pytest.mark.parametrize("scheme", ["mqtt", "tcp"])
def test_mqtt_schemes_are_accepted(scheme: str) -> None:
    assert load_settings(mqtt_url=f"{scheme}://broker:1884").mqtt_endpoint()[:2] == ("broker", 1884)


def test_malformed_list_variable_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # PAKHUIS_MQTT_TOPICS is a list, given as JSON; a plain string is a start-up configuration
    # error like any other, not a pydantic-settings traceback.
    monkeypatch.setenv("PAKHUIS_MQTT_TOPICS", "pakhuis/v1/+/+/+")
    error = _config_error()
    assert "PAKHUIS_MQTT_TOPICS" in error.message


# -- secrets -----------------------------------------------------------------------------------


def test_passwords_are_never_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAKHUIS_DATABASE_URL", "postgresql://pk:db-s3cret@db.example:5432/pakhuis")
    monkeypatch.setenv("PAKHUIS_MQTT_URL", "mqtt://ing:mqtt-s3cret@broker.example:1883")
    settings = load_settings()
    described = settings.describe()
    printed = " ".join([repr(settings), str(settings), *described.values()])
    assert "db-s3cret" not in printed
    assert "mqtt-s3cret" not in printed
    assert described["database"] == "postgresql://pk:***@db.example:5432/pakhuis"
    assert described["mqtt"] == "mqtt://ing:***@broker.example:1883"
    assert described["api"] == "http://127.0.0.1:8000"
    assert settings.model_dump_json().count("s3cret") == 0


def test_kafka_password_is_never_printed() -> None:
    settings = load_settings(kafka_url="kafka://svc:kafka-s3cret@kafka.example:9092")
    assert "kafka-s3cret" not in settings.describe()["kafka"]
    assert "kafka-s3cret" not in repr(settings)


def test_describe_embedded() -> None:
    described = load_settings(data_dir="/srv/pakhuis").describe()
    assert described["database"] == "embedded (/srv/pakhuis/pg)"
    assert described["mqtt"] == "embedded (127.0.0.1:1883)"
    assert described["kafka"].startswith("not used")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("PAKHUIS_DATABASE_URL", "mysql://root:err-s3cret@localhost/pakhuis"),
        ("PAKHUIS_MQTT_URL", "http://ing:err-s3cret@broker:1883"),
    ],
)
def test_configuration_error_does_not_echo_the_secret(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    error = _config_error()
    assert "err-s3cret" not in str(error)
    assert "err-s3cret" not in (error.hint or "")
    assert "err-s3cret" not in repr(error)
    assert "err-s3cret" not in str(error.to_dict())
    assert error.__cause__ is None
    assert error.__suppress_context__


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgresql://u:pw@h/db?sslmode=require", "postgresql://u:***@h/db?sslmode=require"),
        ("postgresql://:pw@h/db", "postgresql://:***@h/db"),
        ("mqtt://u:p%40ss@broker:1883", "mqtt://u:***@broker:1883"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql:///pakhuis?host=/tmp", "postgresql:///pakhuis?host=/tmp"),
        ("mqtt://broker", "mqtt://broker"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_redact_url_keeps_ipv6_brackets() -> None:
    assert redact_url("postgresql://u:pw@[::1]:5432/db") == "postgresql://u:***@[::1]:5432/db"


# -- nothing at import time --------------------------------------------------------------------


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PAKHUIS_")}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=clean,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_importing_does_not_read_the_environment() -> None:
    result = _python(
        """
        import pakhuis, pakhuis.settings, pakhuis.cli, api, ingest, stream
        from api import create_app
        from pakhuis.errors import ConfigurationError
        from pakhuis.settings import load_settings
        print("imported")
        try:
            load_settings()
        except ConfigurationError as exc:
            print("refused:", exc.message)
        else:
            print("accepted")
        """,
        PAKHUIS_API_PORT="not-a-port",
        PAKHUIS_DATABASE_URL="mysql://root:imp-s3cret@localhost/pakhuis",
        PAKHUIS_MQTT_URL="nonsense",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "imported"
    assert lines[1].startswith("refused:")
    for variable in ("PAKHUIS_API_PORT", "PAKHUIS_DATABASE_URL", "PAKHUIS_MQTT_URL"):
        assert variable in lines[1]
    assert "imp-s3cret" not in result.stdout + result.stderr


def test_cli_reports_invalid_settings_without_traceback() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pakhuis", "db", "migrate"],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("PAKHUIS_")},
            "PAKHUIS_DATABASE_URL": "mysql://root:cli-s3cret@localhost/pakhuis",
        },
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1
    assert "PAKHUIS_DATABASE_URL" in output
    assert "Traceback" not in output
    assert "cli-s3cret" not in output


def test_settings_class_has_the_prefix() -> None:
    assert Settings.model_config["env_prefix"] == "PAKHUIS_"
