"""Errors that reach users as a short message, never as a traceback."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file."""

    message: str
    path: str = ""
    """Field path in the file, such as ``regions[3].code``; empty for the whole file."""
    line: int | None = None
    """1-based line number, where known."""
    column: int | None = None
    """1-based column number, where known."""
    expected: str | None = None
    """What would have been accepted."""

    def render(self, file: str | None) -> str:
        where = file or ""
        if self.line is not None:
            where = f"{where or '<input>'}:{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        head = f"{where}: " if where else ""
        if self.path:
            head += f"{self.path}: "
        text = head + self.message
        if self.expected:
            text += f"\n    expected: {self.expected}"
        return text


@dataclass
class InputError(Exception):
    """Bad user input (a topology, scenario or command argument). CLI exit status 2."""

    problems: list[Problem]
    file: str | None = None
    max_shown: int = field(default=12, repr=False)

    def __post_init__(self) -> None:
        super().__init__(self.render())

    def render(self) -> str:
        shown = self.problems[: self.max_shown]
        lines = [p.render(self.file) for p in shown]
        rest = len(self.problems) - len(shown)
        if rest > 0:
            lines.append(f"... and {rest} more problem(s)")
        return "\n".join(lines)

    @classmethod
    def single(
        cls,
        message: str,
        *,
        file: str | None = None,
        path: str = "",
        line: int | None = None,
        expected: str | None = None,
    ) -> InputError:
        return cls([Problem(message, path=path, line=line, expected=expected)], file=file)
