"""Where policyconf keeps what it can compute again: the grammar's parser tables and compiled
products, so that a second `validate` or `load_products` of the same files starts faster.

The cache is a directory of the user's own (`$POLICYCONF_CACHE_DIR`, else
`$XDG_CACHE_HOME/policyconf`, else `~/.cache/policyconf`), made with mode 0700. It is safe to
delete at any time: everything in it is made again when missing. `POLICYCONF_CACHE_DIR=off`
turns it off. What it holds is read back with `pickle` and `marshal`, so it is trusted exactly as
far as the user's own files are: a directory that is not the user's, or that others may write
to, is never used (nothing is read from it, nothing written).

An entry is never trusted across versions: every name in it carries the engine's `STAMP`, a hash
of the policyconf version, the Python version and the size and time of every source file of the
package (an edited engine, or another Python, reads none of the entries an older one wrote).
Writing is atomic (a temporary file renamed into place), and an entry that cannot be read is
ignored and written again; a cache that cannot be written is no error, only slower.
"""
from __future__ import annotations

import hashlib
import os
import pathlib
import stat
import sys
import tempfile
from functools import lru_cache

_PACKAGE = pathlib.Path(__file__).resolve().parent.parent
_SOURCES = ("engine", "dsl", "schemas")
_OFF = {"off", "0", "no", "false", "none", ""}


@lru_cache(maxsize=1)
def stamp() -> str:
    """What an entry must have been written by: this policyconf, this Python, these sources."""
    from .. import __version__ as release      # the sources' sizes and times below tell builds of one release apart
    digest = hashlib.sha256(f"{release}\0{sys.version}\0{sys.implementation.cache_tag}".encode())
    for folder in _SOURCES:
        for path in sorted((_PACKAGE / folder).glob("*")):
            if path.suffix in (".py", ".lark", ".json") and path.is_file():
                info = path.stat()
                digest.update(f"{folder}/{path.name}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    return digest.hexdigest()[:16]


def directory() -> pathlib.Path | None:
    """The cache directory, made if need be; None when it is off or cannot be trusted."""
    configured = os.environ.get("POLICYCONF_CACHE_DIR")
    if configured is not None and configured.strip().lower() in _OFF:
        return None
    if configured:
        path = pathlib.Path(configured)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = pathlib.Path(base) / "policyconf"
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return None
    return path


def entry(kind: str, key: str) -> pathlib.Path | None:
    """The file of one entry (`kind`: grammar, product), or None when there is no cache."""
    folder = directory()
    if folder is None:
        return None
    return folder / f"{kind}-{stamp()}-{key}"


def read(path: pathlib.Path | None) -> bytes | None:
    """An entry's bytes, or None (absent, unreadable, or not ours to trust)."""
    if path is None:
        return None
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if hasattr(os, "getuid") and info.st_uid != os.getuid():
                return None
            if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return None
            return handle.read()
    except OSError:
        return None


def write(path: pathlib.Path | None, data: bytes) -> None:
    """Write an entry atomically; a cache that cannot be written is left alone."""
    if path is None:
        return
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        pass


__all__ = ["directory", "entry", "read", "stamp", "write"]
