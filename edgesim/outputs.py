"""Files the command line writes: checked before the work starts, written atomically.

* :func:`check_outputs` runs before a long computation: every output path (``--json``,
  ``--csv``, ``--html``, ``--save-baseline``, ``-o`` …) must name a file in an existing,
  writable directory, so a run is never lost to a typo in an output path. Nothing is created:
  a missing directory is an input error (exit status 2), not something to ``mkdir``.
  :func:`check_output_dir` does the same for a directory option (``sweep --out``).
* :func:`atomic_write` writes a temporary file next to the target, flushes it to disk and
  renames it over the target (``os.replace``), so a reader (or a crash) never sees half a
  file and an existing file is only replaced by a complete one.

``-`` (standard output) is accepted by both checks and never written here.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from edgesim.errors import InputError, Problem

__all__ = ["atomic_write", "check_output", "check_output_dir", "check_outputs"]


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_output(path: Path, option: str) -> Problem | None:
    """What stops ``path`` from being written (as a :class:`Problem` for ``option``), or
    ``None``. Probes the directory by creating and removing an empty temporary file."""
    if str(path) == "-":
        return None
    expected = "a file name in an existing, writable directory"
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        why = "does not exist" if not parent.exists() else "is not a directory"
        msg = f"cannot write {path}: the directory {parent} {why}"
        return Problem(msg, path=option, expected=expected)
    if path.is_dir():
        return Problem(f"cannot write {path}: it is a directory", path=option, expected=expected)
    probe = parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.probe"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return Problem(f"cannot write {path}: {_why(exc)}", path=option, expected=expected)
    return None


def check_outputs(*outputs: tuple[str, Path | None]) -> None:
    """Raise one :class:`InputError` naming every ``(option, path)`` that cannot be written
    (``None`` paths are skipped)."""
    problems = [p for opt, path in outputs if path is not None if (p := check_output(path, opt))]
    if problems:
        raise InputError(problems)


def check_output_dir(path: Path, option: str) -> None:
    """Make sure the output directory ``path`` can be used, before the work starts, without
    creating anything: it is a writable directory, or it does not exist yet and its nearest
    existing ancestor is one (the caller creates it when it writes the results)."""
    if path.exists() and not path.is_dir():
        raise InputError.single(
            f"cannot use {path}: it is a file", path=option, expected="a directory"
        )
    base = path
    while not base.exists() and base != base.parent:
        base = base.parent
    problem = check_output(base / "probe", option)
    if problem is not None:
        why = "not a directory" if not base.is_dir() else problem.message.rsplit(": ", 1)[-1]
        where = "" if base == path else f" ({base} is the nearest existing directory)"
        raise InputError.single(
            f"cannot write results into {path}: {why}{where}",
            path=option,
            expected="a writable directory, or a new one inside one",
        )


def atomic_write(path: Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` atomically: a temporary file in the same
    directory, flushed to disk, then renamed over ``path``. The directory is not created.
    Any failure leaves ``path`` as it was and raises :class:`InputError` naming it."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    parent = path.parent if str(path.parent) else Path(".")
    tmp = parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(raw)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise InputError.single(f"cannot write: {_why(exc)}", file=str(path)) from None
