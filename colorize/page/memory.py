"""The page's memory budget: what each visitor keeps, the cache all visitors share, and the turns that
bound the work done at once.

A hosted page has about 1 GB for everyone, its ffmpeg children included, so nothing a visitor does may
grow the server for good, and no visitor may lock the others out:

- A **visitor** is one browser, all its tabs together (the page names it from Streamlit's own XSRF
  cookie; a tab without one is a visitor of its own). Each tab has a **shelf** with its photos (the
  uploaded bytes plus pins and a small thumbnail), uploads that arrived but were not taken yet, and
  its clip. A visitor's shelves together are bounded in photos and bytes, and all shelves together
  in bytes (`PageBudget`). Uploads are counted the moment they arrive (`Shelves.admit_upload`, before
  they wait in Streamlit's upload store), so the budget sees every byte the page holds.
- **Fairness**: when the shelves are full, the photos of idle visitors (no click for `idle_seconds`,
  or a closed page) give way first, least recently active first, then those of the active visitors
  who hold more than the newcomer would; only when every visitor holds about a fair share is an
  upload refused, with one line saying what to do. A visitor whose photos gave way is told so, and
  their pins come back when the same photo is uploaded again.
- The **look cache** holds what the network made of recently shown photos at screen size, and the
  latest effect of each photo's pins. It is shared, bounded by bytes (entries measure their own
  numpy arrays), least recently used first out, and loses entries no shelf refers to any more.
  Everything in it can be made again from a shelf's bytes, so eviction costs time, never a photo.
- **Work takes turns** (`WorkTurns`): analysing a photo or colorizing a clip reserves the memory it
  will need (estimated from its header); the work in progress stays within `work_bytes` and a few
  jobs at a time, and the visitor served least recently goes next, so a flood of uploads from one
  visitor delays another by one job at most. Full-size work keeps nothing afterwards;
  `give_back_memory` returns what it freed to the OS.

No Streamlit here: the page passes in who is still connected and what to do with what it drops.
"""

import hashlib
import io
import logging
import os
import threading
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from ..decode import PIL_FORMATS
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
    """How much the page keeps and does at once. Defaults fit a ~1 GB hosted server (its ffmpeg children
    included) shared by a dozen visitors; each can be set with the environment variable in its comment
    (documented in the README)."""

    photos_per_session: int = 48  # COLORIZE_PAGE_PHOTOS: one visitor's photos, all their tabs together
    upload_bytes_per_session: int = 150 * MB  # COLORIZE_PAGE_SESSION_MB: one visitor's uploads, clips included
    upload_bytes_all_sessions: int = 200 * MB  # COLORIZE_PAGE_ALL_MB: every visitor's uploads together
    look_cache_bytes: int = 80 * MB  # COLORIZE_PAGE_CACHE_MB: screen-size analyses, all visitors
    grace_seconds: float = 45.0  # COLORIZE_PAGE_GRACE_S: a closed page's photos are kept this long
    idle_seconds: float = 60.0  # COLORIZE_PAGE_IDLE_S: a visitor this long without a click gives way first
    work_bytes: int = 400 * MB  # COLORIZE_PAGE_WORK_MB: what photos and clips being worked on may take together
    pins_per_photo: int = 24  # COLORIZE_PAGE_PINS: colour pins on one photo
    video_jobs: int = 1  # COLORIZE_VIDEO_JOBS: clips colorized at once (the others wait in line)

    @classmethod
    def from_env(cls):
        d = cls()
        return cls(
            photos_per_session=env_number("COLORIZE_PAGE_PHOTOS", d.photos_per_session, 1),
            upload_bytes_per_session=int(env_number("COLORIZE_PAGE_SESSION_MB", 150.0, 1.0) * MB),
            upload_bytes_all_sessions=int(env_number("COLORIZE_PAGE_ALL_MB", 200.0, 1.0) * MB),
            look_cache_bytes=int(env_number("COLORIZE_PAGE_CACHE_MB", 80.0, 16.0) * MB),
            grace_seconds=env_number("COLORIZE_PAGE_GRACE_S", d.grace_seconds, 0.0),
            idle_seconds=env_number("COLORIZE_PAGE_IDLE_S", d.idle_seconds, 0.0),
            work_bytes=int(env_number("COLORIZE_PAGE_WORK_MB", 400.0, 16.0) * MB),
            pins_per_photo=env_number("COLORIZE_PAGE_PINS", d.pins_per_photo, 1),
            video_jobs=env_number("COLORIZE_VIDEO_JOBS", d.video_jobs, 1),
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


# Peak working memory per pixel, measured on 50 MP photos (benchmarks/cloud_box.py): analysing one
# (decode, lightness, preview) takes about 5 bytes a pixel for black and white, 7 for colour; a
# full-size render and encode about 10.
ANALYSIS_GREY, ANALYSIS_COLOUR, FULL_SIZE = 5.5, 7.5, 10.0
WORK_FLOOR = 16 * MB  # what a small photo's turn reserves at least


def work_bytes(data, full_size=False):
    """The memory analysing a photo's bytes (or rendering it at full size) takes at its peak, estimated
    from its header: what its turn reserves. A header that cannot be read costs little (decoding stops)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=PIL_FORMATS) as im:
                pixels, grey = im.size[0] * im.size[1], im.mode in ("1", "L", "LA", "I", "I;16", "F")
    except Exception:  # noqa: BLE001 - the decoder says what is wrong with it
        return WORK_FLOOR + len(data)
    per_pixel = FULL_SIZE if full_size else ANALYSIS_GREY if grey else ANALYSIS_COLOUR
    return WORK_FLOOR + len(data) + int(pixels * per_pixel)


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


CLI_ADVICE = "use the command line (`python -m colorize image`) for more"


class OverBudget(Exception):
    """An upload the page cannot keep. `reason` completes "refused: ..." and `advice` says what to do;
    str() is both, one line for the visitor."""

    def __init__(self, reason, advice=""):
        super().__init__(f"{reason}; {advice}" if advice else reason)
        self.reason, self.advice = reason, advice


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
    max_pins: int = PageBudget.pins_per_photo

    def hints(self):
        """The pins as colour hints for the engine: [(x, y, (r, g, b))]."""
        return [(p.x, p.y, p.rgb) for p in self.pins]

    @property
    def pins_full(self):
        return len(self.pins) >= self.max_pins

    def add_pin(self, x, y, rgb):
        """A new pin, or None when the photo already has `max_pins` (each pin is a network run)."""
        if self.pins_full:
            return None
        pin = Pin(self.next_pin, int(x), int(y), tuple(int(c) for c in rgb))
        self.next_pin += 1
        self.pins.append(pin)
        return pin

    def pin(self, pin_id):
        return next((p for p in self.pins if p.id == pin_id), None)

    def remove_pin(self, pin_id):
        self.pins = [p for p in self.pins if p.id != pin_id]


def held_bytes(thing):
    """What a clip (colorize.page.video.ShelfVideo) holds, by its own count; 0 for None."""
    return int(getattr(thing, "nbytes", 0) or 0)


class SessionShelf:
    """What one tab keeps: photos in upload order, the one shown, a clip, and uploads that arrived in
    Streamlit's upload store but were not taken yet (`pending`)."""

    def __init__(self, visitor=None, lock=None, now=None):
        self.photos = OrderedDict()  # id -> ShelfPhoto
        self.selected = None  # id of the photo shown in full
        self.video = None  # the clip and its latest result (colorize.page.video.ShelfVideo)
        self.dead_since = None  # monotonic time the page was first seen disconnected
        self.visitor = visitor  # who this tab belongs to (Shelves.get); None: the tab is its own visitor
        self.last_active = time.monotonic() if now is None else now
        self.pending = {}  # upload id -> (bytes, is a photo, name): counted from arrival until taken
        self.refused = {}  # upload id -> OverBudget: refused on arrival, said when taken
        self.spooled = {}  # upload id -> path of a clip written to disk on arrival
        self.gave_way = []  # names of photos that gave way to other visitors, not yet told
        self.ghosts = OrderedDict()  # photo id -> its pins, for a photo that gave way (they come back with it)
        self.lock = lock or threading.RLock()

    @property
    def upload_bytes(self):
        """Bytes this tab holds: its photos, its uploads not taken yet, its clip and result."""
        with self.lock:
            photos = sum(len(p.data) for p in self.photos.values())
            return photos + sum(v[0] for v in self.pending.values()) + held_bytes(self.video)

    @property
    def photo_count(self):
        with self.lock:
            return len(self.photos) + sum(1 for v in self.pending.values() if v[1])

    def remove(self, photo_id):
        with self.lock:
            self.photos.pop(photo_id, None)
            if self.selected == photo_id:
                self.selected = next(reversed(self.photos), None) if self.photos else None

    def clear(self):
        with self.lock:
            self.photos.clear()
            self.selected = None

    def take_gave_way(self):
        """The names of photos that gave way since the last call (then forgotten)."""
        with self.lock:
            names, self.gave_way = self.gave_way, []
            return names


MAX_GHOSTS = 64  # photos that gave way whose pins a tab remembers


class Shelves:
    """Every tab's shelf, by session id, grouped by visitor, with the budget that bounds them and the
    fairness that decides whose photos give way (see the module docstring); released on close.

    `on_give_way(session_id, upload_id)` is called for an upload still in Streamlit's store that gives
    way (the page removes it there). All shelves share one lock, so a shelf's owner and a newcomer
    making room never wait for each other in a circle."""

    def __init__(self, budget=None, on_give_way=None):
        self.budget = budget or PageBudget.from_env()
        self.on_give_way = on_give_way
        self._shelves = {}
        self._lock = threading.RLock()

    def get(self, session_id, visitor=None, now=None):
        """The tab's shelf (made on first use), marked active now; `visitor` names whose it is."""
        with self._lock:
            shelf = self._shelves.get(session_id)
            if shelf is None:
                shelf = self._shelves[session_id] = SessionShelf(lock=self._lock, now=now)
            shelf.dead_since = None
            shelf.last_active = time.monotonic() if now is None else now
            if visitor is not None:
                shelf.visitor = visitor
            if shelf.visitor is None:
                shelf.visitor = f"tab:{session_id}"
            return shelf

    def drop(self, session_id):
        with self._lock:
            return self._shelves.pop(session_id, None) is not None

    def sessions(self):
        with self._lock:
            return dict(self._shelves)

    def upload_bytes(self):
        with self._lock:
            return sum(s.upload_bytes for s in self._shelves.values())

    def visitor_shelves(self, visitor):
        with self._lock:
            return [s for s in self._shelves.values() if s.visitor == visitor]

    def visitor_usage(self, visitor):
        """(photos, bytes) a visitor holds in all their tabs."""
        with self._lock:
            mine = self.visitor_shelves(visitor)
            return sum(s.photo_count for s in mine), sum(s.upload_bytes for s in mine)

    def photo_ids(self):
        """Digests of every photo on any shelf (the look cache keeps only these)."""
        with self._lock:
            return {pid for s in self._shelves.values() for pid in s.photos}

    # ------------------------------------------------------------------ admission and fairness

    def _admit(self, shelf, nbytes, photos, now=None):
        """Make sure `shelf`'s visitor may keep `nbytes` (and `photos`) more, making room if the page
        is full; raises OverBudget when it cannot. Called with the lock held."""
        b = self.budget
        count, held = self.visitor_usage(shelf.visitor)
        if photos and count + photos > b.photos_per_session:
            raise OverBudget(
                f"the page holds at most {b.photos_per_session} photos per visitor",
                f"remove some (or Clear all), or {CLI_ADVICE}",
            )
        if held + nbytes > b.upload_bytes_per_session:
            raise OverBudget(
                f"the page holds at most {b.upload_bytes_per_session / MB:.0f} MB of uploads per visitor",
                f"remove some (or Clear all), or {CLI_ADVICE}",
            )
        over = self.upload_bytes() + nbytes - b.upload_bytes_all_sessions
        if over > 0:
            self._make_room(shelf.visitor, held + nbytes, over, now)

    def _make_room(self, newcomer, newcomer_bytes, over, now=None):
        """Free `over` bytes from other visitors: idle ones first (least recently active first), then
        active ones holding more than `newcomer_bytes` (the largest first). Nothing goes unless enough
        can; OverBudget then."""
        now = time.monotonic() if now is None else now
        groups: dict[str, list] = {}
        for sid, s in self._shelves.items():
            if s.visitor != newcomer:
                groups.setdefault(s.visitor, []).append((sid, s))

        def last_active(v):
            return max(s.last_active for _, s in groups[v])

        def idle(v):
            quiet = self.budget.idle_seconds
            return all(s.dead_since is not None or now - s.last_active >= quiet for _, s in groups[v])

        plan, freed = [], 0
        for v in sorted((v for v in groups if idle(v)), key=last_active):
            for item in self._give_way_order(groups[v]):
                if freed >= over:
                    break
                plan.append(item)
                freed += item[3]
        if freed < over:
            holding = {v: sum(s.upload_bytes for _, s in groups[v]) for v in groups if not idle(v)}
            queues = {v: list(self._give_way_order(groups[v])) for v in holding}
            while freed < over and holding:
                largest = max(holding, key=lambda h: holding[h])
                if holding[largest] <= newcomer_bytes or not queues[largest]:
                    break
                item = queues[largest].pop(0)
                plan.append(item)
                freed += item[3]
                holding[largest] -= item[3]
        if freed < over:
            raise OverBudget(
                "the page is full, and other visitors hold no more than you",
                "remove some of your photos, try again in a few minutes, or " + CLI_ADVICE,
            )
        for item in plan:
            self._give_way(*item)
        log.info("%d item(s) of other visitors gave way (%.0f MB)", len(plan), freed / MB)

    @staticmethod
    def _give_way_order(tabs):
        """(session id, shelf, what, bytes) a visitor's tabs can give up, in the order they go:
        uploads not taken yet, then photos oldest first (the one shown last), then an idle clip."""
        for sid, s in tabs:
            for upload_id, (n, _, _) in s.pending.items():
                yield sid, s, ("upload", upload_id), n
        for sid, s in tabs:
            order = [p for p in s.photos.values() if p.id != s.selected] + (
                [s.photos[s.selected]] if s.selected in s.photos else []
            )
            for p in order:
                yield sid, s, ("photo", p.id), len(p.data)
        for sid, s in tabs:
            if s.video is not None and not getattr(s.video, "busy", False):
                yield sid, s, ("clip", None), held_bytes(s.video)

    def _give_way(self, sid, shelf, what, nbytes):
        kind, key = what
        if kind == "upload":
            upload = shelf.pending.pop(key, None)
            if upload is not None:
                shelf.gave_way.append(upload[2])
                if self.on_give_way is not None:
                    self.on_give_way(sid, key)
        elif kind == "photo":
            photo = shelf.photos.get(key)
            if photo is None:
                return
            shelf.remove(key)
            shelf.gave_way.append(photo.name)
            shelf.ghosts[key] = list(photo.pins)
            while len(shelf.ghosts) > MAX_GHOSTS:
                shelf.ghosts.popitem(last=False)
        elif shelf.video is not None:
            discard = getattr(shelf.video, "discard", None)
            shelf.gave_way.append(shelf.video.name)
            shelf.video = None
            if discard is not None:
                discard()

    def admit_upload(self, session_id, upload_id, name, nbytes, is_photo, replaces=0, now=None):
        """An upload arriving in Streamlit's store for tab `session_id`: counted from now on (None), or
        the OverBudget that refuses it. `replaces`: bytes the upload will replace when taken (a clip)."""
        with self._lock:
            shelf = self._shelves.get(session_id) or self.get(session_id, now=now)
            try:
                self._admit(shelf, max(0, nbytes - replaces), 1 if is_photo else 0, now)
            except OverBudget as e:
                shelf.refused[upload_id] = e
                return e
            shelf.pending[upload_id] = (nbytes, is_photo, name)
            return None

    def forget_upload(self, session_id, upload_id):
        """An upload left Streamlit's store (taken, removed by the visitor, or its page closed)."""
        with self._lock:
            shelf = self._shelves.get(session_id)
            if shelf is not None:
                shelf.pending.pop(upload_id, None)

    def add(self, shelf, photo_id, name, data, upload_id=None, now=None):
        """Put an upload on a shelf. Returns the ShelfPhoto (the existing one for a duplicate);
        raises OverBudget with a one-line reason when the page cannot keep it. An upload admitted on
        arrival (`upload_id` pending) is already counted; a refused one raises its refusal."""
        with self._lock:
            refused = shelf.refused.pop(upload_id, None) if upload_id is not None else None
            admitted = shelf.pending.pop(upload_id, None) if upload_id is not None else None
            if refused is not None:
                raise refused
            if photo_id in shelf.photos:
                return shelf.photos[photo_id]
            if admitted is None:
                self._admit(shelf, len(data), 1, now)
            photo = ShelfPhoto(photo_id, name, data, max_pins=self.budget.pins_per_photo)
            pins = shelf.ghosts.pop(photo_id, None)
            if pins:
                photo.pins = pins
                photo.next_pin = max(p.id for p in pins) + 1
            shelf.photos[photo_id] = photo
            return photo

    def keep_clip(self, shelf, nbytes, upload_id=None):
        """Make room for a clip of `nbytes` on `shelf` (replacing its clip): OverBudget when the page
        cannot keep it. An upload admitted on arrival is already counted."""
        with self._lock:
            refused = shelf.refused.pop(upload_id, None) if upload_id is not None else None
            admitted = shelf.pending.pop(upload_id, None) if upload_id is not None else None
            if refused is not None:
                raise refused
            if admitted is None:
                self._admit(shelf, max(0, nbytes - held_bytes(shelf.video)), 0)

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


class WorkTurns:
    """Memory-hungry work takes turns: at most `slots` jobs at once, their estimated bytes together
    within `max_bytes` (a bigger job runs alone), big jobs (`big_bytes`) in all but one slot, so that a
    small photo never waits behind big ones, and among those waiting, the visitor served least
    recently goes first (then first come, first served).

    CPU, too, goes to the lighter user first: each visitor's recent work is counted (seconds of turns,
    halving every USAGE_HALF_LIFE seconds), and while jobs run side by side, those of visitors who
    have used clearly more than another running one run at a lower priority (`gentle`: on Linux, their
    threads' own nice value). A flood of uploads then barely slows another visitor's photo.

        with turns.turn(visitor, nbytes):  # waits for its turn, in the thread that does the work
            ...
        ticket = turns.join(visitor, nbytes)  # or by hand, to show the place in line while waiting
        while not turns.wait(ticket, 0.5): show(turns.place(ticket))
        ...; turns.leave(ticket)
    """

    def __init__(self, slots, max_bytes=None, gentle=True, big_bytes=None):
        self.slots, self.max_bytes, self.gentle = int(slots), max_bytes, gentle
        self.big_bytes = big_bytes  # jobs this big leave one slot to smaller ones (a photo of a few MP)
        self._cond = threading.Condition()
        self._running = {}  # ticket -> bytes
        self._waiting = []  # tickets in arrival order
        self._served = {}  # visitor -> monotonic time of their last turn
        self._usage = {}  # visitor -> (seconds of work, monotonic time they were counted at)

    def join(self, visitor, nbytes=0):
        ticket = _Ticket(visitor, int(nbytes), time.monotonic())
        with self._cond:
            self._waiting.append(ticket)
        return ticket

    def _line(self):
        return sorted(self._waiting, key=lambda t: (self._served.get(t.visitor, float("-inf")), t.arrival))

    def _is_big(self, ticket):
        return self.big_bytes is not None and ticket.nbytes >= self.big_bytes

    def _admissible(self, ticket):
        """Whether the ticket could start now: a free slot (big jobs leave one to small ones) and room."""
        if len(self._running) >= self.slots:
            return False
        if self._is_big(ticket) and sum(map(self._is_big, self._running)) >= max(1, self.slots - 1):
            return False
        used = sum(self._running.values())
        return not self._running or self.max_bytes is None or used + ticket.nbytes <= self.max_bytes

    def _may_go(self, ticket):
        """The ticket starts when it could, and no ticket before it in line could."""
        if not self._admissible(ticket):
            return False
        for other in self._line():
            if other is ticket:
                return True
            if self._admissible(other):
                return False
        return False

    def usage(self, visitor, now=None):
        """Seconds of work the visitor's turns took lately (halving every USAGE_HALF_LIFE seconds),
        their running ones included."""
        now = time.monotonic() if now is None else now
        with self._cond:
            spent, at = self._usage.get(visitor, (0.0, now))
            running = sum(now - t.started for t in self._running if t.visitor == visitor)
            return spent * 0.5 ** ((now - at) / USAGE_HALF_LIFE) + running

    def heavy(self, visitor, now=None):
        """Whether the visitor used clearly more of the page's work lately than another visitor served
        in the last minute (whose work should then go first)."""
        now = time.monotonic() if now is None else now
        with self._cond:
            others = [self.usage(v, now) for v, at in self._served.items() if v != visitor and now - at < 60]
            return bool(others) and self.usage(visitor, now) > min(others) + USAGE_MARGIN

    def wait(self, ticket, timeout=None):
        """True once the ticket's turn has come (it then counts as running, in the calling thread);
        False after `timeout`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while ticket not in self._running:
                if self._may_go(ticket):
                    self._waiting.remove(ticket)
                    self._running[ticket] = ticket.nbytes
                    ticket.started, ticket.thread = time.monotonic(), threading.get_native_id()
                    self._served[ticket.visitor] = ticket.started
                    if len(self._served) > 1024:  # forget visitors not served for ten minutes
                        old = ticket.started - 600
                        self._served = {v: t for v, t in self._served.items() if t > old}
                        self._usage = {v: u for v, u in self._usage.items() if u[1] > old}
                    self._share_cpu()
                    self._cond.notify_all()
                    break
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cond.wait(1.0 if left is None else min(left, 1.0))
            return True

    def _share_cpu(self):
        """Lower the priority of the running jobs whose visitor used clearly more than another running
        one's, and put it back once that is no longer so. Called with the lock held."""
        if not self.gentle:
            return
        now = time.monotonic()
        used = {t: self.usage(t.visitor, now) for t in self._running}
        for ticket in self._running:
            heavier = any(used[ticket] > used[other] + USAGE_MARGIN for other in self._running)
            if heavier and ticket.restore is None:
                ticket.restore = lower_priority(GENTLE_STEP, ticket.thread)
            elif not heavier and ticket.restore is not None:
                ticket.restore()
                ticket.restore = None

    def place(self, ticket):
        """0 when running, else the ticket's place in line (1: next)."""
        with self._cond:
            if ticket in self._running:
                return 0
            line = self._line()
            return line.index(ticket) + 1 if ticket in line else 0

    def leave(self, ticket):
        with self._cond:
            if ticket in self._running:
                now = time.monotonic()
                spent = self.usage(ticket.visitor, now)  # this ticket's time included
                del self._running[ticket]
                others = sum(now - t.started for t in self._running if t.visitor == ticket.visitor)
                self._usage[ticket.visitor] = (spent - others, now)
                if ticket.restore is not None:
                    ticket.restore()
                    ticket.restore = None
                self._share_cpu()
            if ticket in self._waiting:
                self._waiting.remove(ticket)
            self._cond.notify_all()

    def busy(self):
        """(jobs running, jobs waiting, bytes reserved)."""
        with self._cond:
            return len(self._running), len(self._waiting), sum(self._running.values())

    def turn(self, visitor, nbytes=0):
        """A context manager: waits for the turn (in the thread that will do the work), and gives it back."""
        return _Turn(self, visitor, nbytes)


USAGE_HALF_LIFE = 30.0  # seconds: how fast a visitor's past work is forgotten
USAGE_MARGIN = 1.0  # seconds of work more than another running visitor's before a job runs gently
GENTLE_STEP = 5  # nice steps a gentle job's thread gives up (CFS: about a third of the CPU beside a normal one)


@dataclass(eq=False)
class _Ticket:
    visitor: str
    nbytes: int
    arrival: float
    started: float = 0.0
    thread: int | None = None  # the native id of the thread doing the work, once running
    restore: Any = None  # puts the thread's priority back, while it runs gently


class _Turn:
    def __init__(self, turns, visitor, nbytes):
        self.turns, self.ticket = turns, turns.join(visitor, nbytes)

    def __enter__(self):
        try:
            self.turns.wait(self.ticket)
        except BaseException:
            self.turns.leave(self.ticket)
            raise
        return self.ticket

    def __exit__(self, *exc):
        self.turns.leave(self.ticket)


def lower_priority(step, tid=None):
    """Lower a thread's CPU priority (`tid`, a native thread id; default this one) by `step` nice
    levels (Linux: a thread's own); returns what puts it back where allowed (an unprivileged process
    cannot raise a priority again: the thread then keeps the lower one until it ends, a page's run)."""
    try:
        tid = threading.get_native_id() if tid is None else tid
        before = os.getpriority(os.PRIO_PROCESS, tid)
        os.setpriority(os.PRIO_PROCESS, tid, min(19, before + step))
    except (OSError, AttributeError):  # not Linux, or not allowed: nothing to put back
        return lambda: None

    def restore():
        try:
            os.setpriority(os.PRIO_PROCESS, tid, before)
        except OSError:
            pass

    return restore


class Reaper:
    """A daemon thread that every few seconds calls `on_gone(session_id)` for each tab no longer
    connected (its work stops at once), releases closed pages' shelves after the grace period and the
    looks no shelf refers to any more, and calls `on_drop(session_id)` for each shelf dropped (the page
    frees what its framework keeps for that session)."""

    def __init__(self, shelves, looks, alive, every=5.0, on_drop=None, on_gone=None, keep=frozenset()):
        self.shelves, self.looks, self.alive, self.every = shelves, looks, alive, every
        self.on_drop, self.on_gone = on_drop, on_gone
        self.keep = frozenset(keep)  # photo ids whose looks stay while the cache has room (the samples)
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="colorize-reaper", daemon=True)
        self.thread.start()

    def sweep(self):
        dropped = self.shelves.reap(self.alive)
        if self.on_gone is not None:
            for sid, shelf in self.shelves.sessions().items():
                if shelf.dead_since is not None:
                    self.on_gone(sid)
        for sid in dropped:
            if self.on_drop is not None:
                self.on_drop(sid)
        before = self.looks.nbytes
        self.looks.keep_only(self.shelves.photo_ids() | self.keep)
        if dropped or self.looks.nbytes < before:
            give_back_memory()
        if dropped:
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


def browser_token(cookie):
    """The secret of Streamlit's XSRF cookie (`2|mask|masked token|time`, or a bare token), which is
    the same in every tab of one browser, as a short digest; None without a usable cookie."""
    if not isinstance(cookie, str) or not cookie.strip("\"' "):
        return None
    value = cookie.strip("\"' ")
    try:
        if value.startswith("2|"):
            _, mask, masked, _ = value.split("|")
            mask_bytes, masked_bytes = bytes.fromhex(mask), bytes.fromhex(masked)
            if len(mask_bytes) != 4 or not masked_bytes:
                return None
            token = bytes(c ^ mask_bytes[i % 4] for i, c in enumerate(masked_bytes))
        else:
            token = value.encode("utf-8", "replace")
    except ValueError:
        return None
    return hashlib.sha256(token).hexdigest()[:16]


def refusal_line(name, error):
    """'name: not added: reason — advice.' for one upload the page refused (`name` already safe to show)."""
    return f"{name}: not added: {error.reason}" + (f" — {error.advice}" if error.advice else "") + "."


def some_names(names, most=3):
    """'a.png, b.png and 5 more' (names already safe to show)."""
    return ", ".join(names[:most]) + (f" and {len(names) - most} more" if len(names) > most else "")


def intake_summary(names, added, already, refused, noun="photo"):
    """One line for a batch of uploads (`names`, safe to show): how many were added, which were already
    on the page (`already`: their names), and how many were refused and why (`refused`: (name,
    OverBudget) of each; the commonest reason is said). None when every one was added."""
    total = len(names)
    if added == total:
        return None
    if total == 1:
        return refusal_line(*refused[0]) if refused else f"{names[0]}: already on the page."
    parts = [f"{added} of {total} {noun}s added"]
    if already:
        parts.append(f"{len(already)} already on the page ({some_names(already)})")
    if refused:
        counts: dict[tuple[str, str], int] = {}
        for _, e in refused:
            counts[(e.reason, e.advice)] = counts.get((e.reason, e.advice), 0) + 1
        reason, advice = max(counts, key=lambda k: counts[k])
        others = "" if len(counts) == 1 else " (and other limits)"
        parts.append(f"{len(refused)} refused: {reason}{others}" + (f" — {advice}" if advice else ""))
    return "; ".join(parts) + "."


def gave_way_line(names, noun="upload"):
    """One line telling a visitor which of their uploads gave way to other visitors (None if none)."""
    if not names:
        return None
    shown = some_names(names)
    what = f"{len(names)} {noun}s" if len(names) > 1 else f"1 {noun}"
    return (
        f"{what} ({shown}) made room for other visitors while this page was idle — upload "
        f"{'them' if len(names) > 1 else 'it'} again to go on (pins come back with their photo)."
    )
