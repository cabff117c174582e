"""CPU seconds by role (worker, web, Redis, stub tracker, this process) and the machine's, from /proc.

What two workers can add depends on the CPU left to them: on two cores shared with gunicorn,
Redis, the stub tracker, the load generator and whatever else the machine runs, the figures
say who used the cores while the queue drained. Linux only; elsewhere every figure is 0.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
ROLES = (("redis-server", "redis"), ("stubtracker", "stub"), (" serve", "web"), (" worker", "worker"))


def _stat(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()  # fields after the command name, from `state` on


def _cpu(fields: list[str]) -> float:
    """utime + stime + reaped children's (fields 14–17 of /proc/<pid>/stat)."""
    return sum(int(v) for v in fields[11:15]) / TICK


def _tree() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def _role(pid: int) -> str | None:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    return next((role for needle, role in ROLES if needle in command), None)


def by_role() -> dict[str, float]:
    """CPU seconds so far of each role among this process's children (with their descendants)."""
    tree, totals = _tree(), {role: 0.0 for _needle, role in ROLES}
    for child in tree.get(os.getpid(), []):
        role = _role(child)
        if role is None:
            continue
        stack = [child]
        while stack:
            pid = stack.pop()
            if (fields := _stat(pid)) is not None:
                totals[role] += _cpu(fields)
            stack.extend(tree.get(pid, []))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    totals["bench"] = usage.ru_utime + usage.ru_stime
    return totals


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (every core, every process: /proc/stat)."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return 0.0
    values = [int(v) for v in first]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return (sum(values[:8]) - idle) / TICK


@dataclass
class Meter:
    """CPU used between `start()` and `stop()`: by role, and by the machine as a whole."""

    roles: dict[str, float]
    machine: float

    @classmethod
    def start(cls) -> Meter:
        return cls(by_role(), machine_busy())

    def stop(self, seconds: float, events: int) -> dict[str, float]:
        """Per event, CPU ms by role; `machine_busy_share`: of all cores' time, the share busy."""
        now, busy = by_role(), machine_busy() - self.machine
        used = {role: now[role] - self.roles.get(role, 0.0) for role in now}
        ours = sum(used.values())
        cores = os.cpu_count() or 1
        out = {f"{role}_cpu_ms_per_event": round(1000 * value / max(events, 1), 2) for role, value in used.items()}
        out["machine_busy_share"] = round(busy / (seconds * cores), 2) if seconds > 0 else 0.0
        out["others_busy_share"] = round(max(busy - ours, 0.0) / (seconds * cores), 2) if seconds > 0 else 0.0
        return out
