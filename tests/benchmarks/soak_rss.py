"""Resident memory of process groups over time, for the soak benchmark (tests/benchmarks/soak.py).

A group is one logical process: a pakhuis command with its children, or a PostgreSQL server with
all its backends. RSS, PSS and USS come from psutil when it is installed, else from
/proc/<pid>/smaps_rollup;
processes that come and go between samples (backends) are found again at each sample.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GOAL_GROWTH = 0.10  # first → last sample under load

try:
    _psutil: Any = importlib.import_module("psutil")
except ImportError:
    _psutil = None


@dataclass(frozen=True)
class Group:
    name: str
    pids: list[int]


def _children_from_proc() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name is in parentheses and may hold spaces: the fields follow the last ")".
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants that are alive now."""
    if _psutil is not None:
        try:
            return [pid, *(child.pid for child in _psutil.Process(pid).children(recursive=True))]
        except _psutil.NoSuchProcess:
            return []
    children = _children_from_proc()
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def postmaster_group(name: str, pgdata: Path) -> Group:
    """A PostgreSQL server: its postmaster (first line of postmaster.pid) and every backend."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return Group(name, [])
    return Group(name, process_tree(pid))


def memory(pid: int) -> tuple[int, int, int]:
    """(RSS, PSS, USS) in bytes: psutil, else /proc/<pid>/smaps_rollup (what psutil reads).

    A PostgreSQL backend's RSS also counts every page of shared buffers it has touched, so the
    RSS of a server's processes added up counts shared memory many times over (and grows as the
    buffers fill, up to `shared_buffers`); PSS shares each such page out among the processes
    using it (the group's PSS is its real footprint) and USS is the private memory alone.
    """
    if _psutil is not None:
        try:
            info = _psutil.Process(pid).memory_full_info()
            return int(info.rss), int(info.pss), int(info.uss)
        except (_psutil.NoSuchProcess, _psutil.AccessDenied):
            return 0, 0, 0
    rss = pss = uss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key == "Rss":
                rss = int(rest.split()[0]) * 1024
            elif key == "Pss":
                pss = int(rest.split()[0]) * 1024
            elif key in ("Private_Clean", "Private_Dirty"):
                uss += int(rest.split()[0]) * 1024
    except OSError:
        pass
    return rss, pss, uss


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"


def _mb(value: int) -> str:
    return f"{value / 2**20:,.1f}"


@dataclass(frozen=True)
class Usage:
    rss: int
    pss: int
    uss: int
    processes: int


@dataclass
class Sampler:
    groups: Callable[[], list[Group]]
    sample_s: float = 10.0
    rows: list[tuple[str, dict[str, Usage]]] = field(default_factory=list)  # label, group → usage
    # The last sample's processes of each group: (pid, command line, RSS, PSS, USS).
    last_processes: dict[str, list[tuple[int, str, int, int, int]]] = field(default_factory=dict)

    @property
    def source(self) -> str:
        return "psutil" if _psutil is not None else "/proc"

    def sample(self, label: str) -> None:
        row: dict[str, Usage] = {}
        for group in self.groups():
            usages = [memory(pid) for pid in group.pids]
            rss, pss, uss = (sum(u[i] for u in usages) for i in range(3))
            row[group.name] = Usage(rss, pss, uss, len(group.pids))
            self.last_processes[group.name] = [
                (pid, command_line(pid), *usage) for pid, usage in zip(group.pids, usages, strict=True)
            ]
        self.rows.append((label, row))

    def last_line(self) -> str:
        label, row = self.rows[-1]
        return f"{label:>6}: " + ", ".join(f"{name} {_mb(u.rss)} MB" for name, u in row.items())

    def _series(self, name: str, what: str) -> list[int]:
        return [int(getattr(row[name], what)) for _, row in self.rows[1:] if name in row]

    def growth(self, name: str, what: str = "rss", skip: int = 0) -> float:
        series = self._series(name, what)[skip:]
        return (series[-1] - series[0]) / series[0] if len(series) > 1 and series[0] else 0.0

    def warmup(self) -> int:
        """Samples in the first minute under load (left out of the 'after warm-up' growth)."""
        under_load = len(self.rows) - 1
        return min(max(int(60 / self.sample_s) - 1, 0), max(under_load - 2, 0))

    def growth_ok(self) -> bool:
        return len(self.rows) > 2 and all(self.growth(name) < GOAL_GROWTH for name in self.rows[0][1])

    def table(self) -> list[str]:
        """Per group: baseline (idle), first and last sample under load, maximum, growth of RSS
        first → last (the goal) and after the first minute, and the last PSS and USS with their
        growth first → last."""
        if len(self.rows) < 3:
            return ["  (fewer than two samples under load)"]
        skip = self.warmup()
        lines = [
            f"  {'MB':<22} {'RSS idle':>8} {'first':>7} {'last':>7} {'max':>7} {'growth':>7} {'>1 min':>7}"
            f"  {'PSS':>7} {'growth':>7}  {'USS':>7} {'growth':>7}  (goal: RSS growth < {GOAL_GROWTH:.0%})"
        ]
        for name, idle in self.rows[0][1].items():
            rss = self._series(name, "rss")
            growth = self.growth(name)
            last = self.rows[-1][1][name]
            lines.append(
                f"  {name:<22} {_mb(idle.rss):>8} {_mb(rss[0]):>7} {_mb(rss[-1]):>7} {_mb(max(rss)):>7} "
                f"{growth:>+7.1%} {self.growth(name, skip=skip):>+7.1%}  {_mb(last.pss):>7} "
                f"{self.growth(name, 'pss'):>+7.1%}  {_mb(last.uss):>7} {self.growth(name, 'uss'):>+7.1%}  "
                f"{'met' if growth < GOAL_GROWTH else 'NOT met'} "
                f"({idle.processes} → {last.processes} processes)"
            )
        return lines

    def breakdown(self, name: str) -> list[str]:
        """The processes of one group at the last sample (which PostgreSQL process holds what)."""
        return [
            f"    {pid:>7} RSS {_mb(rss):>7}  PSS {_mb(pss):>7}  USS {_mb(uss):>6}  {cmd[:70]}"
            for pid, cmd, rss, pss, uss in sorted(self.last_processes.get(name, []), key=lambda p: -p[2])
        ]
