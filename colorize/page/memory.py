"""The page's memory budget: what each visitor's session keeps, and the cache all sessions share.

A hosted page has about 1 GB for everyone, so nothing a visitor does may grow the server for good:

- A session's **shelf** holds its photos (the uploaded bytes, moved out of Streamlit's upload store,
  plus each photo's pins and a small thumbnail) and its clip with its latest result. It is bounded
  in photos and bytes (`PageBudget`), and released when the visitor removes a photo, clears the
  page, or closes it (`Shelves.reap`, after a short grace period in case the page reconnects).
- The **look cache** holds what the network made of recently shown photos at screen size. It is
  shared, bounded by bytes (entries measure their own numpy arrays), least recently used first out,
  and loses entries no shelf refers to any more. Everything in it can be made again from a shelf's
  bytes, so eviction costs time, never a photo.
- Full-size work (decoding, downloads) takes turns (colorize.page.photo) and nothing full-size is
  kept afterwards; `give_back_memory` returns what it freed to the OS.

No Streamlit here: the page passes in who is still connected.
"""

import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from ..hints import to_hex

log = logging.getLogger("colorize.page")

MB = 1 << 20


def env_number(name, default, minimum):
    """A positive number from the environment (a hosted page's settings), else the default."""
    text = os.environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = type(default)(float(text))
    except ValueError:
        value = None
    if value is None or not np.isfinite(value) or value < minimum:
        log.warning("ignoring %s=%r: not a number of at least %s", name, text, minimum)
        return default
    return value


@dataclass(frozen=True)
class PageBudget:
    """How much the page keeps. Defaults fit a ~1 GB hosted server shared by a dozen visitors;
    each can be set with the environment variable in its comment (documented in the README)."""

    photos_per_session: int = 48  # COLORIZE_PAGE_PHOTOS
    upload_bytes_per_session: int = 150 * MB  # COLORIZE_PAGE_SESSION_MB: one visitor's uploads
    upload_bytes_all_sessions: int = 400 * MB  # COLORIZE_PAGE_ALL_MB: every visitor's uploads together
    look_cache_bytes: int = 80 * MB  # COLORIZE_PAGE_CACHE_MB: screen-size analyses, all visitors
    grace_seconds: float = 45.0  # COLORIZE_PAGE_GRACE_S: a closed page's photos are kept this long

    @classmethod
    def from_env(cls):
        d = cls()
        return cls(
            photos_per_session=env_number("COLORIZE_PAGE_PHOTOS", d.photos_per_session, 1),
            upload_bytes_per_session=int(env_number("COLORIZE_PAGE_SESSION_MB", 150.0, 1.0) * MB),
            upload_bytes_all_sessions=int(env_number("COLORIZE_PAGE_ALL_MB", 400.0, 1.0) * MB),
            look_cache_bytes=int(env_number("COLORIZE_PAGE_CACHE_MB", 80.0, 16.0) * MB),
            grace_seconds=env_number("COLORIZE_PAGE_GRACE_S", d.grace_seconds, 0.0),
        )


def footprint(value):
    """Bytes held by the numpy arrays (and bytes) among an object's fields: its measured size."""
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if isinstance(value, (list, tuple)):
        return sum(footprint(v) for v in value)
    if isinstance(value, dict):
        return sum(footprint(v) for v in value.values())
    if hasattr(value, "__dict__"):
        return sum(footprint(v) for v in vars(value).values())
    return 0


def tune_malloc(arenas=2, mmap_threshold=None):
    """Make freed memory go back to the OS on a long-running server (glibc only; call once, early).

    glibc makes up to 8 malloc arenas per core, one per busy thread, and a dozen visitors' threads
    leave freed memory scattered over all of them: capped at `arenas`. It also raises its mmap
    threshold each time a big block is freed, after which image-sized arrays come from those
    arenas and stay there: a fixed threshold keeps every block over `mmap_threshold` in its own
    mapping, returned the moment it is freed (COLORIZE_PAGE_MMAP_KB; 0 leaves glibc's own)."""
    if mmap_threshold is None:
        mmap_threshold = int(env_number("COLORIZE_PAGE_MMAP_KB", 256.0, 0.0) * 1024)
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-8, int(arenas))  # M_ARENA_MAX
        if mmap_threshold:
            libc.mallopt(-3, int(mmap_threshold))  # M_MMAP_THRESHOLD (fixing it stops the dynamic raise)
    except (OSError, AttributeError):
        pass


def give_back_memory():
    """Return freed heap memory to the OS (glibc keeps it otherwise, and a server's RSS only grows)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def content_id(data):
    """A photo's id on a shelf: the digest of its bytes, so the same photo is never added twice."""
    return hashlib.sha256(data).hexdigest()[:24]


class LookCache:
    """A least-recently-used cache bounded by the bytes its values hold (measured with `footprint`).

    Thread-safe; a value larger than the whole budget is not kept (it is simply made again)."""

    def __init__(self, max_bytes):
        self.max_bytes = int(max_bytes)
        self._items = OrderedDict()  # key -> (value, bytes)
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key, value):
        size = footprint(value)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if size > self.max_bytes:
                return value
            self._items[key] = (value, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, freed) = self._items.popitem(last=False)
                self._bytes -= freed
        return value

    def keep_only(self, wanted):
        """Drop every entry whose key's first part (a photo's digest) is not in `wanted`."""
        with self._lock:
            for key in [k for k in self._items if k[0] not in wanted]:
                self._bytes -= self._items.pop(key)[1]

    @property
    def nbytes(self):
        return self._bytes

    def __len__(self):
        return len(self._items)


class OverBudget(Exception):
    """An upload the page cannot keep; the message is one line for the visitor."""


@dataclass
class Pin:
    """A colour hint the visitor pinned on a photo: photo pixel (x, y) and colour (r, g, b) 0..255."""

    id: int
    x: int
    y: int
    rgb: tuple

    @property
    def hex(self):
        return to_hex(self.rgb)


@dataclass
class ShelfPhoto:
    """One photo on a visitor's shelf: its bytes (the only copy the server keeps) and its pins."""

    id: str  # content_id(data): the same photo is never added twice
    name: str
    data: bytes
    pins: list = field(default_factory=list)
    next_pin: int = 1
    thumb: np.ndarray | None = None  # small colorized picture for the grid (uint8 RGB), last rendered
    size: tuple | None = None  # (width, height), once analysed
    problem: str | None = None  # one line, when the photo could not be colorized

    def hints(self):
        """The pins as colour hints for the engine: [(x, y, (r, g, b))]."""
        return [(p.x, p.y, p.rgb) for p in self.pins]

    def add_pin(self, x, y, rgb):
        pin = Pin(self.next_pin, int(x), int(y), tuple(int(c) for c in rgb))
        self.next_pin += 1
        self.pins.append(pin)
        return pin

    def pin(self, pin_id):
        return next((p for p in self.pins if p.id == pin_id), None)

    def remove_pin(self, pin_id):
        self.pins = [p for p in self.pins if p.id != pin_id]


class SessionShelf:
    """What one visitor's page keeps: photos in upload order, the one shown, and a clip."""

    def __init__(self):
        self.photos = OrderedDict()  # id -> ShelfPhoto
        self.selected = None  # id of the photo shown in full
        self.video = None  # the clip and its latest result (colorize.page.video.ShelfVideo)
        self.dead_since = None  # monotonic time the page was first seen disconnected
        self.lock = threading.RLock()

    @property
    def upload_bytes(self):
        return sum(len(p.data) for p in self.photos.values())

    def remove(self, photo_id):
        with self.lock:
            self.photos.pop(photo_id, None)
            if self.selected == photo_id:
                self.selected = next(reversed(self.photos), None) if self.photos else None

    def clear(self):
        with self.lock:
            self.photos.clear()
            self.selected = None


class Shelves:
    """Every session's shelf, by session id, with the budget that bounds them; released on close."""

    def __init__(self, budget=None):
        self.budget = budget or PageBudget.from_env()
        self._shelves = {}
        self._lock = threading.Lock()

    def get(self, session_id):
        with self._lock:
            shelf = self._shelves.get(session_id)
            if shelf is None:
                shelf = self._shelves[session_id] = SessionShelf()
            shelf.dead_since = None
            return shelf

    def drop(self, session_id):
        with self._lock:
            return self._shelves.pop(session_id, None) is not None

    def sessions(self):
        with self._lock:
            return dict(self._shelves)

    def upload_bytes(self):
        return sum(s.upload_bytes for s in self.sessions().values())

    def photo_ids(self):
        """Digests of every photo on any shelf (the look cache keeps only these)."""
        return {pid for s in self.sessions().values() for pid in list(s.photos)}

    def add(self, shelf, photo_id, name, data):
        """Put an upload on a shelf. Returns the ShelfPhoto (the existing one for a duplicate);
        raises OverBudget with a one-line reason when the page cannot keep it."""
        b = self.budget
        with shelf.lock:
            if photo_id in shelf.photos:
                return shelf.photos[photo_id]
            if len(shelf.photos) >= b.photos_per_session:
                raise OverBudget(
                    f"this page holds at most {b.photos_per_session} photos at a time; "
                    "remove some (or Clear all) to add more"
                )
            if shelf.upload_bytes + len(data) > b.upload_bytes_per_session:
                raise OverBudget(
                    f"this page holds at most {b.upload_bytes_per_session / MB:.0f} MB of photos "
                    "at a time; remove some (or Clear all) to add more"
                )
            if self.upload_bytes() + len(data) > b.upload_bytes_all_sessions:
                raise OverBudget("the server is busy holding other visitors' photos; try again in a minute")
            photo = ShelfPhoto(photo_id, name, data)
            shelf.photos[photo_id] = photo
            return photo

    def reap(self, alive, now=None):
        """Drop the shelves of sessions `alive(session_id)` says are gone, once gone for longer than
        the grace period; returns the ids of the sessions dropped."""
        now = time.monotonic() if now is None else now
        dropped = []
        for sid, shelf in self.sessions().items():
            try:
                live = alive(sid)
            except Exception:  # noqa: BLE001 - a failing check must not stop the reaper
                live = True
            if live:
                shelf.dead_since = None
            elif shelf.dead_since is None:
                shelf.dead_since = now
            elif now - shelf.dead_since >= self.budget.grace_seconds and self.drop(sid):
                dropped.append(sid)
        return dropped


class Reaper:
    """A daemon thread that releases closed pages' shelves and the looks only they used, and calls
    `on_drop(session_id)` for each (the page frees what its framework keeps for that session)."""

    def __init__(self, shelves, looks, alive, every=5.0, on_drop=None):
        self.shelves, self.looks, self.alive, self.every, self.on_drop = shelves, looks, alive, every, on_drop
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="colorize-reaper", daemon=True)
        self.thread.start()

    def sweep(self):
        dropped = self.shelves.reap(self.alive)
        if dropped:
            for sid in dropped:
                if self.on_drop is not None:
                    self.on_drop(sid)
            self.looks.keep_only(self.shelves.photo_ids())
            give_back_memory()
            log.info("released the photos of %d closed page(s)", len(dropped))
        return len(dropped)

    def _run(self):
        while not self._stop.wait(self.every):
            try:
                self.sweep()
            except Exception:  # keep sweeping; the details go to the log
                log.exception("memory sweep failed")

    def stop(self):
        self._stop.set()
