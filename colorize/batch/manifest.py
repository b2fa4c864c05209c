"""The manifest: a CSV record of a batch, every input once, kept whole even when the run is killed."""

import csv
import io
import time

from ..atomic import write_atomic
from ..decode import one_line
from ..errors import ColorizeError

MANIFEST_EVERY_S = 2.0  # how often a running batch rewrites its manifest
MANIFEST_FIELDS = ("input", "output", "status", "error", "note", "seconds")


class Manifest:
    """The CSV record of a batch: every input once, in plan order, with its output, status, error,
    note and seconds. Rewritten atomically (at most every MANIFEST_EVERY_S while the batch runs, and
    at its end), so even a killed run leaves a whole, valid file."""

    def __init__(self, path, rows, every=MANIFEST_EVERY_S):
        self.path, self.rows, self.every = path, rows, every
        self.written_at = 0.0

    def record(self, outcome):
        self.rows[outcome.index] = outcome
        if self.path and time.monotonic() - self.written_at >= self.every:
            self.write()

    def write(self):
        if not self.path:
            return
        buf = io.StringIO()
        out = csv.writer(buf, lineterminator="\n")
        out.writerow(MANIFEST_FIELDS)
        for r in self.rows:
            out.writerow(
                [
                    r.source,
                    r.output,
                    r.status,
                    r.error,
                    r.note,
                    f"{r.seconds:.3f}" if r.status in ("done", "failed") and r.seconds else "",
                ]
            )
        try:
            write_atomic(self.path, buf.getvalue().encode("utf-8"))
        except OSError as e:
            raise ColorizeError(self.path, f"manifest cannot be written ({e.strerror or one_line(e)})") from None
        self.written_at = time.monotonic()
