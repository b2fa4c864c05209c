"""Outputs written whole or not at all: a hidden temporary file beside the target, renamed into place.

The temporary file is in the target's own folder (same file system, so the rename is atomic): a
reader sees the old file or the complete new one, never half of one. Photos (colorize.batch,
`write_atomic`) and videos (colorize.video, whose ffmpeg writes into a reserved `open_temp` file)
both go this way; colorize.batch recognises leftovers of killed processes by TEMP_PREFIX.
"""

import os
import secrets
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
