"""The retention section of the settings: how long audit entries, deliveries and failed jobs are kept."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from integration.settings_values import env_int


@dataclass(frozen=True)
class RetentionSettings:
    audit_days: int = 180  # FLOWKEEPER_AUDIT_RETENTION_DAYS
    delivery_days: int = 14  # FLOWKEEPER_DELIVERY_RETENTION_DAYS
    failed_job_days: int = 30  # FLOWKEEPER_FAILED_JOB_RETENTION_DAYS


def load_retention_settings(env: Mapping[str, str]) -> RetentionSettings:
    """Read and validate the retention variables; SettingsError names the first bad one."""
    return RetentionSettings(
        audit_days=env_int(env, "FLOWKEEPER_AUDIT_RETENTION_DAYS", 180, minimum=1),
        delivery_days=env_int(env, "FLOWKEEPER_DELIVERY_RETENTION_DAYS", 14, minimum=1),
        failed_job_days=env_int(env, "FLOWKEEPER_FAILED_JOB_RETENTION_DAYS", 30, minimum=1),
    )
