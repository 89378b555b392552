"""Linux Landlock through its three system calls (``ctypes``, no dependency).

:func:`restrict` confines the calling thread - and every thread and process it creates
afterwards - to the paths it names: read (and execute) below ``read_only``, everything
below ``read_write``. Every other path on the machine answers ``EACCES``, whatever the
process's user (root included). Given the ports, it allows TCP connections to those
ports only (the sandbox's server), so a statement process cannot reach Redis or any
other local service. It also scopes signals and abstract UNIX sockets to the
confined process (ABI 6+), so it can neither signal nor connect to the worker.

Call it while the process has a single thread (a freshly forked child): Landlock
applies to the calling thread only.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import stat
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

# syscall numbers (the same on every architecture: added after the table unification)
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
BIND_TCP = 1 << 0  # ABI 4, network rights
CONNECT_TCP = 1 << 1
_RULE_NET_PORT = 2
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1  # ABI 6

#: rights that make sense on a file (the others apply to directories only)
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV


class LandlockError(OSError):
    """The kernel refused to set up the ruleset."""


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64),
                ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _NetPortAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


@functools.cache
def _c() -> ctypes.CDLL:
    """The C library, loaded on first use (finding it runs ``ldconfig``: not at import)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def abi_version() -> int:
    """The Landlock ABI the kernel offers; 0 when it has none (or it is disabled)."""
    version = _c().syscall(_CREATE_RULESET, None, ctypes.c_size_t(0),
                            ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return int(version) if version > 0 else 0


def _handled_fs(abi: int) -> int:
    rights = (1 << 13) - 1  # EXECUTE .. MAKE_SYM (ABI 1)
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    if abi >= 5:
        rights |= IOCTL_DEV
    return rights


def _fail(what: str) -> LandlockError:
    errno = ctypes.get_errno()
    return LandlockError(errno, f"landlock {what}: {os.strerror(errno)}")


def restrict(read_only: Iterable[str | Path], read_write: Iterable[str | Path],
             tcp_ports: Iterable[int] | None = None) -> int:
    """Confine this thread (and its future children) to the given paths and, unless
    ``tcp_ports`` is None, to TCP connections to those ports only (no TCP bind; ABI 4+).

    Returns the ABI used, or 0 when the kernel has no Landlock (nothing is changed
    then). Paths that do not exist are skipped. Raises :class:`LandlockError` when the
    kernel refuses a step (the caller must not run user work then).
    """
    abi = abi_version()
    if abi == 0:
        return 0
    handled = _handled_fs(abi)
    net = (BIND_TCP | CONNECT_TCP) if abi >= 4 and tcp_ports is not None else 0
    attr = _RulesetAttr(handled_access_fs=handled, handled_access_net=net,
                        scoped=(SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0)
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else 16 if abi >= 4 else 8
    ruleset = _c().syscall(_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size),
                            ctypes.c_uint32(0))
    if ruleset < 0:
        raise _fail("create_ruleset")
    try:
        read = EXECUTE | READ_FILE | READ_DIR
        write = handled & ~(MAKE_CHAR | MAKE_BLOCK | MAKE_FIFO | MAKE_SOCK | EXECUTE)
        for rights, paths in ((read, read_only), (write | READ_FILE | READ_DIR, read_write)):
            for path in paths:
                _add_rule(int(ruleset), Path(path), rights & handled)
        for port in (tcp_ports or ()) if net else ():
            rule = _NetPortAttr(allowed_access=CONNECT_TCP, port=port)
            if _c().syscall(_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_NET_PORT),
                             ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
                raise _fail(f"add_rule tcp port {port}")
        if _c().prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise _fail("no_new_privs")
        if _c().syscall(_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise _fail("restrict_self")
    finally:
        os.close(int(ruleset))
    return abi


def _add_rule(ruleset: int, path: Path, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            rights &= _FILE_RIGHTS
        rule = _PathBeneathAttr(allowed_access=rights, parent_fd=fd)
        if _c().syscall(_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                         ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
            raise _fail(f"add_rule {path}")
    finally:
        os.close(fd)
