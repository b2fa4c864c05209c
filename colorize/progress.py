"""A dependency-free progress bar on stderr for the CLI.

On a terminal it redraws one line in place, with the current item's name. Into a pipe or a log
file it draws nothing (a log full of carriage returns helps nobody), so there every line that
names a file is a message about that file. Names and messages are shown as colorize.names.printable
makes them: a file name's escape sequences or line breaks never act on the terminal.
"""

import sys
import time

from .names import printable


class ProgressBar:
    def __init__(self, total, label="", stream=None, width=28, interactive=None):
        self.total, self.label, self.width = max(1, total), label, width
        self.stream = stream or sys.stderr
        if interactive is None:
            isatty = getattr(self.stream, "isatty", None)
            interactive = bool(isatty and isatty())
        self.interactive = interactive
        self.start = time.monotonic()
        self.done = 0
        self.note = ""
        self.drawn = False  # a bar is on the current terminal line

    def line(self):
        """The bar as text: label, bar, count and estimated time left."""
        frac = min(1.0, self.done / self.total)
        elapsed = time.monotonic() - self.start
        left = elapsed / frac - elapsed if frac > 0 else 0
        filled = int(frac * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        return f"{self.label} [{bar}] {self.done}/{self.total}  {left:4.0f}s left"

    def update(self, done, total=None, note=""):
        self.done, self.note = done, note
        if total:
            self.total = max(1, total)
        if not self.interactive:
            return
        self.stream.write("\r\033[K" + self.line() + (f"  {printable(note)[:40]}" if note else ""))
        self.stream.flush()
        self.drawn = True

    def message(self, text):
        """Print one line of text above the bar without garbling either."""
        if self.drawn:
            self.stream.write("\r\033[K")
            self.drawn = False
        self.stream.write(printable(text) + "\n")
        self.stream.flush()
        if self.interactive:
            self.update(self.done, note=self.note)

    def clear(self):
        """Remove the bar from the terminal line (before an error message, say)."""
        if self.drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.drawn = False

    def close(self):
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False
