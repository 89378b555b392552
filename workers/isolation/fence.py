"""The fence around one statement process, decided in the worker, applied in the child.

The worker computes a :class:`FenceSpec` per job (:func:`fence_for`): the read-only
system and Python paths - with ``DBPLAY_HOME`` and the metadata database carved out of
them - plus read-write access to exactly the sandbox's own files, the job's own input
or output file and a private scratch directory. The child applies it
(:func:`apply`) before it opens anything a user chose: umask 077, no core dumps, an
address-space limit and Landlock (files, and TCP connections to its server's port only).
"""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from engines.sqlite.descriptor import COMPANION_SUFFIXES
from workers.isolation import landlock

#: system paths a statement process may read (and execute: pg_dump for dumps)
_SYSTEM_READ = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/opt", "/sys")
#: what of /proc a statement process may read: never another process's directory (root
#: could read the worker's environment and memory there)
_PROC_READ = ("cpuinfo", "meminfo", "stat", "loadavg", "filesystems", "version", "sys/kernel",
              "sys/vm/overcommit_memory")
#: files under /etc a driver reads (names, certificates, time zone); not /etc itself,
#: which holds /etc/shadow
_ETC_READ = ("ssl", "ca-certificates", "pki", "hosts", "resolv.conf", "nsswitch.conf",
             "passwd", "group", "localtime", "zoneinfo", "timezone", "gai.conf",
             "host.conf", "services", "protocols", "ld.so.cache", "ld.so.conf",
             "ld.so.conf.d", "mime.types", "os-release", "machine-id")
#: devices a statement process may use (never a disk: root could read it raw)
_DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random", "/dev/full")
#: environment variables a statement process keeps; everything else is dropped
_KEPT_ENV = ("PATH", "HOME", "LANG", "LANGUAGE", "TZ", "PYTHONPATH", "PYTHONHASHSEED",
             "PYTHONDONTWRITEBYTECODE", "PYTHONIOENCODING", "VIRTUAL_ENV", "SSL_CERT_FILE",
             "SSL_CERT_DIR")


@dataclass(frozen=True)
class FenceSpec:
    """What one statement process may touch."""

    memory_mb: int
    scratch: str
    read_only: tuple[str, ...] = ()
    read_write: tuple[str, ...] = ()
    #: TCP ports it may connect to (its server's); None: unknown, not restricted
    tcp_ports: tuple[int, ...] | None = ()
    devices: tuple[str, ...] = field(default=_DEVICES)


def scrubbed_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of the statement-process zygote: no DBPLAY_* setting (so no
    metadata URL), no secret, only what interpreters and drivers need.

    Arrow allocates with the C library's malloc there: its default (mimalloc) reserves
    about 1 GiB of address space up front, which the address-space limit of a statement
    process counts (a Chroma model load then fails with ``std::bad_alloc``)."""
    kept = {k: v for k, v in environ.items() if k in _KEPT_ENV or k.startswith("LC_")}
    kept["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    return kept


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _carve(root: Path, excluded: list[Path]) -> list[Path]:
    """``root`` as a list of paths that together cover it minus ``excluded`` (Landlock
    cannot subtract: grant the siblings along the way down instead)."""
    inside = [e for e in excluded if _within(e, root)]
    if not inside:
        return [root]
    if any(e == root for e in inside) or not root.is_dir():
        return []
    out: list[Path] = []
    try:
        entries = sorted(root.iterdir())
    except OSError:
        return []
    for entry in entries:
        out.extend(_carve(entry, inside))
    return out


def metadata_file(database_url: str) -> Path | None:
    parts = urlsplit(database_url)
    if parts.scheme.startswith("sqlite") and parts.path not in ("", "/", "/:memory:"):
        return Path(unquote(parts.path)).resolve()
    return None


def system_read_paths(excluded: Iterable[Path], code: Iterable[Path] = ()) -> tuple[str, ...]:
    """Read-only roots for every statement process: system and Python paths and the
    ``code`` directories the zygote imports from, minus ``excluded`` (``DBPLAY_HOME``,
    the metadata database file)."""
    out = [Path(p).resolve() for p in excluded]
    candidates = [Path(p) for p in _SYSTEM_READ]
    candidates += [Path("/etc") / name for name in _ETC_READ]
    candidates += [Path("/proc") / name for name in _PROC_READ]
    candidates += [Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path)
                   if p]
    candidates += list(code)
    candidates.append(Path.home() / ".cache" / "chroma")  # Chroma's embedding model
    roots: list[str] = []
    for candidate in candidates:
        if not candidate.exists():
            continue
        for path in _carve(candidate.resolve(), out):
            if str(path) not in roots:
                roots.append(str(path))
    return tuple(roots)


def sandbox_paths(sandbox_id: str, engine: str, url: str) -> list[Path]:
    """The files of an embedded sandbox its statements may read and write: the SQLite
    sandbox's own directory (database, journal, WAL), the Chroma sandbox's directory."""
    parts = urlsplit(url)
    path = Path(unquote(parts.path)) if parts.path else None
    if path is None or not path.is_absolute():
        return []
    if engine == "sqlite":
        if path.parent.name == sandbox_id:
            return [path.parent]
        # older layout (every file in one folder): the files alone; SQLite cannot make a
        # journal next to them then, so writes fail until the sandbox is reset
        return [p for p in (path, *(Path(f"{path}{s}") for s in COMPANION_SUFFIXES))
                if p.exists()]
    if engine == "chroma" and parts.scheme == "chroma+file":
        return [path]
    return []


_DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "mongodb": 27017,
                  "chroma+http": 8000, "chroma+https": 443}


def server_ports(url: str) -> tuple[int, ...] | None:
    """The TCP ports a sandbox URL connects to: none for file-backed sandboxes, None
    when they cannot be known (DNS SRV records, a URL form not understood here)."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+psycopg2")[0]
    if scheme in ("sqlite", "chroma+file"):
        return ()
    if scheme not in _DEFAULT_PORTS:
        return None
    ports: list[int] = []
    for host in parts.netloc.rpartition("@")[2].split(","):  # mongodb://h1:1,h2:2
        _, colon, port = host.rpartition(":")
        if colon and not port.isdigit():
            return None
        if colon and "]" not in port:
            ports.append(int(port))
        else:
            ports.append(_DEFAULT_PORTS[scheme])
    return tuple(ports)


def fence_for(*, memory_mb: int, scratch: Path, system_read: tuple[str, ...],
              sandbox_files: Iterable[Path] = (), job_reads: Iterable[Path] = (),
              job_writes: Iterable[Path] = (),
              tcp_ports: tuple[int, ...] | None = ()) -> FenceSpec:
    return FenceSpec(
        memory_mb=memory_mb, scratch=str(scratch), tcp_ports=tcp_ports,
        read_only=system_read + tuple(str(p) for p in job_reads),
        read_write=(str(scratch), *(str(p) for p in sandbox_files),
                    *(str(p) for p in job_writes)))


def apply(spec: FenceSpec) -> int:
    """Fence this (single-threaded, freshly forked) process; returns the Landlock ABI
    in force, 0 when the kernel has none."""
    os.umask(0o077)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    limit = spec.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.environ["TMPDIR"] = os.environ["SQLITE_TMPDIR"] = spec.scratch
    own_proc = [f"/proc/{os.getpid()}", "/proc/self", "/proc/thread-self"]
    return landlock.restrict([*spec.read_only, *own_proc],
                             [*spec.read_write, *spec.devices], spec.tcp_ports)
