"""Who is posting: a worker id that a later run can check for life, so a crash's claim is taken over at once.

An id is `host:pid:start:token`, where `host` is the host name with the kernel's boot id and pid
namespace (two containers sharing a host name do not see each other's pids, so neither may judge
the other), and `start` the process's start time (so a reused pid is not mistaken for the dead
process). Only a worker of this host and namespace can be known dead; any other is trusted until
its short lease runs out.
"""

from __future__ import annotations

import os
import socket
import uuid


def _host() -> str:
    name = socket.gethostname().replace(":", "_").replace("/", "_")
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            boot = f.read().strip()[:8]
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return name  # no /proc: is_dead cannot read start times here either, and trusts the lease
    return f"{name}/{boot}/{namespace}"


HOST = _host()


def _stat(pid: int) -> list[str] | None:
    """/proc/PID/stat from field 3 (the state) on, or None where there is no such file."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: count from the last ")"
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields if len(fields) > 19 else None


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None where unknown."""
    fields = _stat(pid)
    return fields[19] if fields else None


def process_id() -> str:
    """This process, as other runs see it: host, pid and start time (read each time: a fork is another)."""
    return f"{HOST}:{os.getpid()}:{_start_time(os.getpid()) or '-'}"


def new_owner() -> str:
    """A claim token for one attempt; two attempts in one process exclude each other too."""
    return f"{process_id()}:{uuid.uuid4().hex[:8]}"


def is_dead(owner: str) -> bool:
    """True only when `owner` was a process of this host and pid namespace that no longer runs (or whose
    pid was reused); False for anything it cannot tell."""
    host, _, rest = owner.partition(":")
    pid_text, _, rest = rest.partition(":")
    start, _, _ = rest.partition(":")
    if host != HOST or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False  # this very process: alive by definition
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it exists, under another user
    fields = _stat(pid)
    if fields is None:
        return False  # no /proc here: the pid exists, so trust it until its lease runs out
    if fields[0] in ("Z", "X"):
        return True  # killed, not yet reaped by its parent
    return start not in ("", "-") and fields[19] != start
