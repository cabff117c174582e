"""The metrics section of the settings: who may scrape `/metrics`, and where web processes share counts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from integration.settings_values import Secret, text_of

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"  # prometheus-client's own name, read by the library too


@dataclass(frozen=True)
class MetricsSettings:
    token: Secret = Secret("")  # FLOWKEEPER_METRICS_TOKEN: callers must send it as a Bearer token
    multiproc_dir: Path | None = None  # set for gunicorn's workers by `flowkeeper serve`, or by the operator


def load_metrics_settings(env: Mapping[str, str]) -> MetricsSettings:
    raw = text_of(env, MULTIPROC_VARIABLE)
    return MetricsSettings(Secret(text_of(env, "FLOWKEEPER_METRICS_TOKEN")), Path(raw) if raw else None)
