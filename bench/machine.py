"""The machine the bench runs on, how busy others keep it, and what a process uses (CPU, memory)."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from dataclasses import dataclass

# Above this share of the machine's CPU busy with others' work, the figures are called noisy.
NOISY_SHARE = 0.10


def _cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies over all CPUs since boot; iowait counts as idle."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + values[4]
    total = sum(values[:8])  # guest time is already inside user time
    return total - idle, total


@dataclass(frozen=True)
class Load:
    busy_share: float  # of all CPUs, sampled over a few seconds
    load_average: float  # 1 minute

    @property
    def noisy(self) -> bool:
        return self.busy_share > NOISY_SHARE

    def describe(self) -> str:
        return f"{self.busy_share:.0%} CPU busy, load average {self.load_average:.2f}"


def background_load(seconds: float = 3.0) -> Load:
    busy_before, total_before = _cpu_times()
    time.sleep(seconds)
    busy_after, total_after = _cpu_times()
    share = (busy_after - busy_before) / max(1, total_after - total_before)
    return Load(busy_share=share, load_average=os.getloadavg()[0])


class OthersMeter:
    """The share of the machine's CPU that others used while the bench ran: all busy time less this process
    and the children it reaped (servers, wrk). The shared PostgreSQL's work for the bench counts as theirs."""

    def __init__(self):
        self._machine = _cpu_times()
        self._ours = _own_cpu_seconds()

    def share(self) -> float:
        busy, total = (after - before for after, before in zip(_cpu_times(), self._machine, strict=True))
        ticks = os.sysconf("SC_CLK_TCK")
        others = busy / ticks - (_own_cpu_seconds() - self._ours)
        return max(0.0, others / (total / ticks))


def _own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU used so far by these processes."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()  # after the command name, which may hold spaces
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise ValueError(f"no VmRSS for pid {pid}")


def describe_machine() -> dict[str, str | int]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
            if line.startswith("Model name")
        ),
        platform.processor() or "unknown",
    )
    with open("/proc/meminfo") as meminfo:
        memory_kb = int(meminfo.readline().split()[1])
    return {
        "cpus": os.cpu_count() or 0,
        "cpu_model": model,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }
