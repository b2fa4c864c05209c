"""One exception type for every problem a user can cause; its message is one line naming the file."""


class ColorizeError(Exception):
    """A problem with an input or a setting, worded for the person who supplied it."""

    def __init__(self, source: object, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")
