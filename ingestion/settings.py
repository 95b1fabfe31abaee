"""Typed settings for every command, one object per environment.

Values come, in order of precedence, from CLI flags (passed as keyword arguments), environment
variables prefixed ``LAKEHOUSE_``, an optional TOML file (``--config`` or
``LAKEHOUSE_CONFIG_FILE``) and the defaults below. Each environment keeps its local state under
``<home>/<env>/``.
"""

from __future__ import annotations

import os
import re
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

if TYPE_CHECKING:
    from ingestion.bronze import BronzeTable

#: A stream trigger interval as Spark reads it: a number and a unit (`10 seconds`, `1 minute`).
INTERVAL = re.compile(r"(\d+)\s*(second|minute|hour)s?")
UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600}
#: Kafka options whose values are secrets (passwords, keys, JAAS configurations).
SECRET_OPTION = re.compile(r"(?i)password|secret|jaas|token|key\b")


class Env(StrEnum):
    DEV = "dev"
    TEST = "test"
    PROD = "prod"


class Topics(BaseSettings):
    """Kafka topic names (contract 1.2); each one configurable."""

    user_info: str = "user_info"
    bpm: str = "bpm"
    workout: str = "workout"
    gym_login: str = "gym_login"

    def names(self) -> list[str]:
        return [self.user_info, self.bpm, self.workout, self.gym_login]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LAKEHOUSE_",
        env_nested_delimiter="__",
        extra="forbid",
    )

    env: Env = Env.DEV
    home: Path = Field(
        default_factory=lambda: Path.cwd() / ".lakehouse",
        description="Root of every environment's state (default: .lakehouse/ in the working "
        "directory; a job passes its volume).",
    )
    config_file: Path | None = Field(default=None, description="Optional TOML settings file.")

    # Sources
    landing_dir: Path | None = Field(
        default=None,
        description="Landing zone with kafka/ and registrations/ (default: <env>/landing).",
    )
    registrations_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the registration database (default: SQLite under <env>/).",
    )
    registrations_table: str = "registrations"
    registrations_lookback_seconds: float = Field(
        default=3600.0,
        ge=0,
        description="How far behind the watermark each run looks again for late-committed rows.",
    )
    registrations_reconcile_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="How often the ingester reads the whole registration table, to land rows "
        "committed later than the lookback or with no or a future time.",
    )
    erasure_key: SecretStr | None = Field(
        default=None,
        description="Secret key of the suppression list's hashes (on Databricks from the secret "
        "scope; on the embedded default, when unset, a key file created under governance/).",
    )
    erasure_file_retention_hours: float = Field(
        default=168.0,
        ge=168.0,
        description="How long a vacuum keeps files no version references (Delta's default, the "
        "least its safety check allows): a concurrent writer's files, written but not committed "
        "yet, are younger. An erasure is complete once a vacuum this long after it ran.",
    )
    erasure_hold_days: float = Field(
        default=14.0,
        gt=0,
        description="How long the ingester holds back a reading or gym visit of an erased user's "
        "device or MAC address that a registration still to come may give to someone else "
        "(after the user's last registration of it): it lands if one does within this time, and "
        "is erased as theirs if none does.",
    )
    registrations_poll_seconds: float = Field(
        default=60.0, ge=0, description="How often a streaming ingester polls the database."
    )
    registrations_retry_attempts: int = Field(default=5, ge=1)
    registrations_retry_backoff_seconds: float = Field(default=2.0, ge=0)
    topics: Topics = Field(default_factory=Topics)
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_options: dict[str, str] = Field(
        default_factory=dict,
        description="Extra options of Spark's Kafka source (JSON in LAKEHOUSE_KAFKA_OPTIONS).",
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] | None = (
        Field(default=None, description="kafka.security.protocol (SASL_SSL on Databricks).")
    )
    kafka_sasl_mechanism: str | None = Field(
        default=None, description="kafka.sasl.mechanism, e.g. PLAIN or SCRAM-SHA-512."
    )
    kafka_sasl_jaas_config: SecretStr | None = Field(
        default=None, description="kafka.sasl.jaas.config (a secret: environment or secret scope)."
    )

    # Bronze
    catalog: str | None = Field(
        default=None,
        description="Unity Catalog catalog: bronze tables are <catalog>.bronze.<table> "
        "(Databricks); unset, Delta tables by path under <env>/bronze.",
    )

    # Streaming
    max_files_per_trigger: int = Field(default=100, gt=0)
    max_offsets_per_trigger: int = Field(default=200_000, gt=0)
    trigger_interval: str = Field(
        default="10 seconds", description="Micro-batch interval of the streams, e.g. `30 seconds`."
    )
    stream_restart_attempts: int = Field(
        default=5, ge=0, description="Restarts of a failing stream before the ingester gives up."
    )
    stream_restart_backoff_seconds: float = Field(default=5.0, ge=0)

    # Spark
    spark_master: str = "local[2]"
    shuffle_partitions: int = Field(default=4, gt=0)
    driver_memory: str = "4g"

    @field_validator("home", "landing_dir", "config_file", mode="after")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    @field_validator("trigger_interval", mode="after")
    @classmethod
    def _interval(cls, value: str) -> str:
        if not INTERVAL.fullmatch(value.strip()):
            raise ValueError(
                f"{value!r} is not an interval: write a number and a unit, "
                "e.g. '10 seconds', '1 minute' or '2 hours'"
            )
        return value.strip()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        given = init_settings.init_kwargs.get("config_file")  # type: ignore[attr-defined]
        path = given or os.environ.get("LAKEHOUSE_CONFIG_FILE")
        toml = TomlConfigSettingsSource(settings_cls, toml_file=Path(path) if path else None)
        return (init_settings, env_settings, toml)

    @property
    def trigger_seconds(self) -> float:
        """The trigger interval in seconds."""
        amount, unit = INTERVAL.fullmatch(self.trigger_interval).groups()
        return float(amount) * UNIT_SECONDS[unit]

    # Derived locations -------------------------------------------------------------------------
    @property
    def root(self) -> Path:
        return self.home / self.env.value

    @property
    def landing(self) -> Path:
        return self.landing_dir or self.root / "landing"

    @property
    def bronze_dir(self) -> Path:
        return self.root / "bronze"

    @property
    def governance_dir(self) -> Path:
        """Erasure's suppression list and receipts (schema ``governance`` on Databricks)."""
        return self.root / "governance"

    @property
    def checkpoint_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def warehouse_dir(self) -> Path:
        return self.root / "warehouse"

    def layer_dir(self, layer: str) -> Path:
        """The folder of a layer dbt builds (``silver``, ``gold``) under the warehouse, on the
        embedded default."""
        return self.warehouse_dir / f"{layer}.db"

    @property
    def metastore_dir(self) -> Path:
        return self.root / "metastore_db"

    @property
    def truth_dir(self) -> Path:
        return self.root / "truth"

    @property
    def registrations_db_url(self) -> str:
        return self.registrations_url or f"sqlite:///{self.root / 'registrations.db'}"

    def simulation_targets(self) -> dict:
        """Where the simulator writes a wave: keyword arguments of write_wave and publish."""
        return {
            "landing": self.landing,
            "db_url": self.registrations_db_url,
            "table_name": self.registrations_table,
            "truth": self.truth_dir,
        }

    def bronze_table_path(self, table: str) -> Path:
        return self.bronze_dir / table

    def bronze_table(self, table: str) -> BronzeTable:
        """Where bronze table ``table`` lives: in the catalog if one is set, else by path."""
        from ingestion.bronze import BronzeTable

        if self.catalog:
            return BronzeTable(table, qualified_name=f"{self.catalog}.bronze.{table}")
        return BronzeTable(table, path=self.bronze_table_path(table))

    def secret_values(self) -> list[str]:
        """Every secret these settings hold, for logs and messages to leave out."""
        from ingestion.secrets import jaas_secrets, url_secrets

        found = url_secrets(self.registrations_url) if self.registrations_url else []
        if self.kafka_sasl_jaas_config is not None:
            found += jaas_secrets(self.kafka_sasl_jaas_config.get_secret_value())
        found += [v for k, v in self.kafka_options.items() if SECRET_OPTION.search(k)]
        if self.erasure_key is not None:
            found.append(self.erasure_key.get_secret_value())
        return found

    def kafka_source_options(self) -> dict[str, str]:
        """Options of Spark's Kafka source beyond the subscription (security, mostly)."""
        options = dict(self.kafka_options)
        if self.kafka_security_protocol is not None:
            options["kafka.security.protocol"] = self.kafka_security_protocol
        if self.kafka_sasl_mechanism is not None:
            options["kafka.sasl.mechanism"] = self.kafka_sasl_mechanism
        if self.kafka_sasl_jaas_config is not None:
            options["kafka.sasl.jaas.config"] = self.kafka_sasl_jaas_config.get_secret_value()
        return options

    def kafka_client_config(self) -> dict[str, str]:
        """The same broker and security for a confluent-kafka (librdkafka) client, such as the
        status command's lag query: librdkafka takes the JAAS credentials as username and
        password."""
        from ingestion.secrets import jaas_credentials

        options = self.kafka_source_options()
        config = {"bootstrap.servers": self.kafka_bootstrap_servers}
        for option in ("security.protocol", "sasl.mechanism"):
            if f"kafka.{option}" in options:
                config[option] = options[f"kafka.{option}"]
        if "kafka.sasl.jaas.config" in options:
            username, password = jaas_credentials(options["kafka.sasl.jaas.config"])
            config |= {"sasl.username": username, "sasl.password": password}
        return config

    @model_validator(mode="after")
    def _credentials_travel_encrypted(self) -> Settings:
        protocol = self.kafka_source_options().get("kafka.security.protocol", "PLAINTEXT")
        if self.kafka_sasl_jaas_config is not None and protocol.upper() != "SASL_SSL":
            raise ValueError(
                f"Kafka credentials are set (kafka_sasl_jaas_config) but the security protocol is "
                f"{protocol}, which would send them unencrypted or not at all: set "
                "LAKEHOUSE_KAFKA_SECURITY_PROTOCOL=SASL_SSL and LAKEHOUSE_KAFKA_SASL_MECHANISM"
            )
        return self


def load_settings(**overrides: Any) -> Settings:
    """Build settings from keyword overrides (CLI flags), environment and optional TOML file."""
    return Settings(**{key: value for key, value in overrides.items() if value is not None})
