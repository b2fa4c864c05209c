"""Inputs as a file system holds them: only regular files are read, and their size is checked first.

A folder copied from an old NAS or shared by strangers can hold anything under an image's name: a
named pipe (reading it waits forever), a link to /dev/zero (it never ends), a socket, a device, a
symbolic link that loops or leads nowhere. `entry_problem` says what such an entry is, in words for
a one-line message, from its metadata alone (a device is never opened: opening some acts on the
hardware); `open_regular` checks the same, opens the file without waiting (a pipe swapped in
meanwhile cannot block) and checks the open file again, so whoever reads it knows its size first.
"""

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from .errors import ColorizeError

# Never wait on open (a named pipe waits for a writer) and never take a terminal as controlling one.
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)


def kind_of(mode: int) -> str:
    """What a file system entry that is not a regular file is, in words: 'a named pipe (FIFO)'..."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def os_problem(path: str | os.PathLike[str], error: OSError) -> str:
    """The problem an OSError from stat or open means, worded for a one-line message after the name."""
    if error.errno == errno.ELOOP:
        return "is a symbolic link that loops (it leads back to itself)"
    if error.errno == errno.ENOENT and os.path.islink(path):
        return "is a symbolic link to nothing (its target is missing)"
    return f"cannot be read ({error.strerror or error})"


def entry_problem(path: str | os.PathLike[str], what: str = "an image file") -> str | None:
    """None for a regular file (or a symbolic link to one); otherwise what is wrong with the entry,
    e.g. 'is a named pipe (FIFO), not an image file'. Only its metadata is looked at."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        return os_problem(path, e)
    except ValueError:  # a NUL in the name
        return "is not a valid file name"
    return None if stat.S_ISREG(mode) else f"is {kind_of(mode)}, not {what}"


@contextmanager
def open_regular(path: str | os.PathLike[str], what: str = "an image file") -> Iterator[tuple[BinaryIO, int]]:
    """(file open for reading, its size in bytes) of a regular file; ColorizeError naming the file
    for anything else (checked before opening and again on the open file)."""
    problem = entry_problem(path, what)
    if problem:
        raise ColorizeError(path, problem)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as e:
        raise ColorizeError(path, entry_problem(path, what) or os_problem(path, e)) from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped for something else since the first look
            raise ColorizeError(path, f"is {kind_of(st.st_mode)}, not {what}")
        yield f, st.st_size
