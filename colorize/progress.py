"""A dependency-free progress bar on stderr for the CLI."""
import sys
import time


class ProgressBar:
    def __init__(self, total, label="", stream=None, width=28):
        self.total, self.label, self.width = max(1, total), label, width
        self.stream = stream or sys.stderr
        self.start = time.monotonic()
        self.done = 0

    def update(self, done, total=None, note=""):
        self.done = done
        if total:
            self.total = max(1, total)
        frac = min(1.0, done / self.total)
        elapsed = time.monotonic() - self.start
        left = elapsed / frac - elapsed if frac > 0 else 0
        bar = "#" * int(frac * self.width) + "-" * (self.width - int(frac * self.width))
        self.stream.write(f"\r{self.label} [{bar}] {done}/{self.total}  {left:4.0f}s left  {note[:40]:<40}")
        self.stream.flush()

    def close(self):
        self.stream.write("\n")
        self.stream.flush()
