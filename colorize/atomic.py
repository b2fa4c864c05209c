"""Outputs written whole or not at all: a hidden temporary file beside the target, renamed into place.

The temporary file is in the target's own folder (same file system, so the rename is atomic): a
reader sees the old file or the complete new one, never half of one. Photos (colorize.batch,
`write_atomic`) and videos (colorize.video, whose ffmpeg writes into a reserved `open_temp` file)
both go this way, with temporary names tagged by `temp_suffix` with the host and process that
write them: a process killed outright (SIGKILL, a lost machine) cannot remove its temporary file,
and `remove_stale_temps` clears such leftovers of dead processes before later runs write there.
"""

import os
import re
import secrets
import socket
from collections.abc import Iterable
from typing import TypeAlias

PathLike: TypeAlias = str | os.PathLike[str]

TEMP_PREFIX = ".colorize-"
TEMP_SUFFIX = ".part"


def open_temp(folder: PathLike, suffix: str = TEMP_SUFFIX) -> tuple[int, str]:
    """(open file descriptor, path) of a new, empty hidden file in `folder`, for an output that is
    renamed into place when complete (same folder: same file system, so the rename is atomic).

    Created exclusively, with the usual permissions from the umask (mkstemp's would be 0600)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        path = os.path.join(folder, f"{TEMP_PREFIX}{secrets.token_hex(6)}{suffix}")
        try:
            return os.open(path, flags, 0o666), path
        except FileExistsError:  # 48 random bits: a clash is next to impossible, but is not an error
            continue


def write_atomic(path: PathLike, data: bytes, temp_suffix: str = TEMP_SUFFIX) -> None:
    """Write bytes to path through a temporary file in the same folder, then rename.

    Readers see either the old file or the complete new one, and an interrupted write leaves
    nothing behind (a killed process leaves its hidden temporary file, never a partial output:
    colorize.batch tags its temporary files with host and process id to clear such leftovers)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = open_temp(folder, temp_suffix)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ---------------------------------------------------------------- temporary files of killed processes


def _host_tag() -> str:
    return re.sub(r"[^A-Za-z0-9_.]", "_", socket.gethostname()) or "host"


def temp_suffix(ext: str = "") -> str:
    """Temporary-file suffix naming this host and process (and `ext`, e.g. '.mp4', before TEMP_SUFFIX),
    so leftovers of a killed process can be told from files that a live one is still writing."""
    return f".{_host_tag()}-{os.getpid()}{ext}{TEMP_SUFFIX}"


_TAGGED_TEMP = re.compile(
    re.escape(TEMP_PREFIX)
    + r"[0-9a-f]+\.(?P<host>[A-Za-z0-9_.]+)-(?P<pid>\d+)(?:\.[A-Za-z0-9]+)?"
    + re.escape(TEMP_SUFFIX)
    + "$"
)


def _pid_alive(pid: int) -> bool:
    if os.name == "nt":  # os.kill(pid, 0) would send Ctrl-C there: never sweep
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # someone else's process
        return True
    return True


def remove_stale_temps(folders: Iterable[PathLike]) -> int:
    """Delete the temporary files that killed processes of this host left in these folders (a
    killed process cannot clean up; its outputs were never renamed into place). Returns how many."""
    host, removed = _host_tag(), 0
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            m = _TAGGED_TEMP.match(entry.name)
            if m and m["host"] == host and not _pid_alive(int(m["pid"])):
                try:
                    os.unlink(entry.path)
                    removed += 1
                except OSError:
                    pass
    return removed
