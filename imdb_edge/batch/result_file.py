"""The job's output file: locked for the run, never truncated before the job can start,
resumable only by the same job.

Beside the output, a small resume record (`.NAME.imdb-edge-resume.json`) names the
job that writes it (a `JobIdentity`: input, model file's sha256, output form, threshold,
max-chars, input format, encoding) and how far it got (complete lines, bytes, sha256 of
the last bytes). It is updated at most every CHECKPOINT_SECONDS, after the lines it
counts are written, and removed when the run completes (nothing is left to resume).
`--resume` accepts the output only when that record matches this job and the file's
tail matches the record, cuts anything after the recorded end (lines written after the
last checkpoint are simply redone) and reads nothing but that tail, whatever the file's
size. An existing output is never cut in place when a run starts over: a new file is
renamed over it once the run's first lines are in it, so whoever still reads the old one
(`cat f | classify - -o f`) reads it whole, and a run that writes no line (a full disk, a
signal, a model that fails) leaves it as it was. `-o` through a symbolic link writes the
file the link points to.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import stat
import tempfile
import time
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any, BinaryIO

from imdb_edge.batch.errors import JobError

RECORD_FORMAT = "imdb-edge-classify-resume"
RECORD_VERSION = 1
TAIL_BYTES = 4096
CHECKPOINT_SECONDS = 0.25


def resume_record_path(output: Path) -> Path:
    return output.with_name(f".{output.name}.imdb-edge-resume.json")


_DIFFERENCES = {
    "input": "another input (or the input changed since)",
    "model": "another model",
    "as_json": "another output form ({json} or not)",
    "threshold": "another {threshold}",
    "max_chars": "another {max_chars}",
    "input_format": "another {format}",
    "encoding": "another {encoding}",
    "min_known": "another {min_known}",
    "explain": "another {explain}",
}
"""How a difference in each JobIdentity field is told to the user."""


@dataclass(frozen=True)
class JobIdentity:
    """What makes two runs the same job, so that one may continue the other's output (`--resume`)."""

    input: dict[str, Any]
    """The input's identity (records.Source.identity: path, inode, size, mtime, or a digest of the texts)."""
    model: str
    """The model file's identity (ModelFile.identity)."""
    as_json: bool
    threshold: float
    max_chars: int
    input_format: str
    encoding: str = "utf-8"
    min_known: int = 0
    explain: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def _recorded(self, recorded: Any) -> dict[str, Any]:
        """A recorded job with the defaults of fields added since (an older record has no "encoding")."""
        recorded = recorded if isinstance(recorded, dict) else {}
        defaults = {f.name: f.default for f in fields(self) if f.default is not MISSING}
        return {**defaults, **recorded}

    def matches(self, recorded: Any) -> bool:
        return self._recorded(recorded) == self.to_dict()

    def difference(self, recorded: Any) -> str:
        """What differs between this job and a recorded one (a dict from a resume record), in words."""
        recorded = self._recorded(recorded)
        for field in fields(self):
            if recorded.get(field.name) != getattr(self, field.name):
                return _DIFFERENCES[field.name]
        return "another job"


_new_files: set[str] = set()
"""New output files not yet renamed into place, for a last-resort exit to remove (discard_new_files)."""


def discard_new_files() -> None:
    """Remove the new files of every output not yet replaced (the old ones stay as they were): for an exit
    that cannot run the usual clean-up (cli.common.exit_if_run_is_stuck)."""
    for name in list(_new_files):
        with contextlib.suppress(OSError):
            os.unlink(name)


class ResultFile:
    """An output file this run holds an exclusive lock on; writes whole chunks of lines.

    `-o` through a symbolic link writes the file the link points to (the link stays a link, and the resume
    record lies beside that file). An existing file is never cut in place: unless --resume continues it,
    the results go to a new file beside it, renamed over it once the first lines are in it (or when the job
    completes with none), so the old contents stay whole until then: a job that stops before its first line
    (a full disk, a signal, a failing model) leaves the old file untouched. Other hard links to the old file
    keep the old contents, as with `sed -i` or an editor's save.
    """

    def __init__(
        self,
        path: Path,
        handle: BinaryIO,
        job: JobIdentity,
        lines: int,
        size: int,
        tail: bytes,
        replaces: tuple[str, BinaryIO] | None = None,
    ) -> None:
        self.path = path
        self._handle = handle
        self._job = job
        self.lines = lines
        self._size = size
        self._tail = tail
        self._saved_at = 0.0
        self._recorded_lines = lines
        self._replaces = replaces
        self._discarded = False
        """(the new file's temporary name, the old file's locked handle) until the new file is renamed over
        the old one."""

    @property
    def untouched(self) -> bool:
        """True while an existing output still has its old contents (nothing of this run is in it)."""
        return self._replaces is not None or self._discarded

    @classmethod
    def open(cls, path: Path, job: JobIdentity, resume: bool) -> ResultFile:
        """Lock `path` (creating it if needed), then either continue it (--resume) or start a new file that
        replaces it at the first lines."""
        path = Path(os.path.realpath(path))  # through a symbolic link: the file it points to
        flags = os.O_RDWR | getattr(os, "O_CLOEXEC", 0)
        try:
            try:
                fd, created = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o666), True
            except FileExistsError:
                fd, created = os.open(path, flags), False
        except IsADirectoryError:
            raise JobError("{output} {path} is a directory", path=path) from None
        except OSError as exc:
            raise JobError("cannot write {output} {path}: {reason}", path=path, reason=exc.strerror or exc) from None
        handle = os.fdopen(fd, "r+b", buffering=0)
        try:
            cls._lock(fd, path)
            if resume:
                lines, size, tail = cls._resume_point(path, handle, job)
            elif not created:
                new, temporary = cls._new_file_beside(path, handle)
                return cls(path, new, job, 0, 0, b"", replaces=(temporary, handle))
            else:
                lines, size, tail = 0, 0, b""
            result = cls(path, handle, job, lines, size, tail)
            result._save(complete=False)  # the record first: a crash before the cut below still resumes right
            handle.truncate(size)
            handle.seek(size)
            return result
        except BaseException:
            handle.close()
            raise

    @staticmethod
    def _lock(fd: int, path: Path) -> None:
        """An exclusive lock on `fd`, which must still be the file `path` names (another job may have renamed
        its own output over it between our open and our lock)."""
        busy = "{path} is being written by another imdb-edge classify; wait for it or choose another {output}"
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise JobError(busy, path=path) from None
            raise
        held, named = os.fstat(fd), os.stat(path)
        if (held.st_dev, held.st_ino) != (named.st_dev, named.st_ino):
            raise JobError(busy, path=path)

    @staticmethod
    def _new_file_beside(path: Path, old: BinaryIO) -> tuple[BinaryIO, str]:
        """A new, locked, empty file beside `path` (renamed over it at the first write), with its permission
        bits. The old file stays whole until then, for whoever still reads it: cutting it in place turned
        `cat f | imdb-edge classify - -o f` (100,000 reviews) into 104 lines."""
        try:
            fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new")
        except OSError as exc:
            raise JobError(
                "cannot write {output} {path}: cannot create a new file beside it ({reason})",
                path=path,
                reason=exc.strerror or exc,
            ) from None
        handle = os.fdopen(fd, "r+b", buffering=0)
        _new_files.add(temporary)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.chmod(fd, stat.S_IMODE(os.fstat(old.fileno()).st_mode))
        except BaseException:
            handle.close()
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            _new_files.discard(temporary)
            raise
        return handle, temporary

    def _put_in_place(self) -> None:
        """Rename the new file over the old one (whose lock this run then lets go)."""
        assert self._replaces is not None
        temporary, old = self._replaces
        os.replace(temporary, self.path)
        _new_files.discard(temporary)
        self._replaces = None
        old.close()

    def _discard_new_file(self) -> None:
        """Nothing of this run went in: remove the new file; the old one keeps its contents."""
        assert self._replaces is not None
        temporary, old = self._replaces
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        _new_files.discard(temporary)
        self._replaces = None
        self._discarded = True
        old.close()

    @staticmethod
    def _resume_point(path: Path, handle: BinaryIO, job: JobIdentity) -> tuple[int, int, bytes]:
        actual = os.fstat(handle.fileno()).st_size
        record_path = resume_record_path(path)
        if actual == 0 and not record_path.exists():
            return 0, 0, b""  # nothing to resume: start from the beginning
        refuse = "cannot {resume} {path}:"
        try:
            raw = record_path.read_bytes()
            if len(raw) > 1 << 20:
                raise ValueError("too large")
            record = json.loads(raw)
            if not isinstance(record, dict) or record.get("format") != RECORD_FORMAT:
                raise ValueError("not a resume record")
        except FileNotFoundError:
            raise JobError(
                refuse + " it has no resume record ({record}): the run that wrote it finished (nothing to resume), "
                "or imdb-edge classify did not write it; run without {resume} to replace it",
                path=path,
                record=record_path.name,
            ) from None
        except (OSError, ValueError):
            raise JobError(
                refuse + " its resume record {record} is unreadable", path=path, record=record_path.name
            ) from None
        if record.get("version") != RECORD_VERSION:
            raise JobError(refuse + " it was written by another version of imdb-edge", path=path)
        if not job.matches(record.get("job")):
            raise JobError(
                refuse + " it was written for " + job.difference(record.get("job")) + "; "
                "run without {resume} to replace it, or choose another {output}",
                path=path,
            )
        lines, size, tail_sha = record.get("lines"), record.get("bytes"), record.get("tail_sha256")
        if not (isinstance(lines, int) and isinstance(size, int) and 0 <= lines <= size and isinstance(tail_sha, str)):
            raise JobError(refuse + " its resume record {record} is damaged", path=path, record=record_path.name)
        if actual < size:
            raise JobError(refuse + " it is shorter than its resume record says (cut or edited since)", path=path)
        start = max(0, size - TAIL_BYTES)
        handle.seek(start)
        tail = handle.read(size - start)
        if hashlib.sha256(tail).hexdigest() != tail_sha or (size and not tail.endswith(b"\n")):
            raise JobError(refuse + " its end does not match its resume record (edited since)", path=path)
        return lines, size, tail

    def write_lines(self, data: bytes, count: int) -> None:
        """Append whole lines; the resume record follows at most every CHECKPOINT_SECONDS. The first lines
        into a new file put it in place of the old one."""
        view = memoryview(data)
        placed = False
        try:
            while view:
                written = self._handle.write(view)
                view = view[written or 0 :]
            if self._replaces is not None:
                self._put_in_place()
                placed = True
        except OSError as exc:  # a full disk, a file too large, an I/O error: what is recorded can be resumed
            if self._replaces is not None:
                self._discard_new_file()
                raise JobError(
                    "cannot write {output} {path}: {reason}; nothing was written and {path} is unchanged",
                    path=self.path,
                    reason=exc.strerror or exc,
                ) from None
            raise JobError(
                "cannot write {output} {path}: {reason}; {lines} result line(s) are recorded complete: make room "
                "and rerun with {resume} to continue",
                path=self.path,
                reason=exc.strerror or exc,
                lines=self._recorded_lines,
            ) from None
        self._size += len(data)
        self._tail = (self._tail + data[-TAIL_BYTES:])[-TAIL_BYTES:]
        self.lines += count
        if placed or time.monotonic() - self._saved_at >= CHECKPOINT_SECONDS:
            self._save(complete=False)

    def _save(self, complete: bool) -> None:
        record = {
            "format": RECORD_FORMAT,
            "version": RECORD_VERSION,
            "job": self._job.to_dict(),
            "lines": self.lines,
            "bytes": self._size,
            "tail_sha256": hashlib.sha256(self._tail).hexdigest(),
            "complete": complete,
        }
        target = resume_record_path(self.path)
        temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        try:
            temporary.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
            os.replace(temporary, target)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise JobError(
                "cannot write {output} {path}'s resume record: {reason}", path=self.path, reason=exc.strerror or exc
            ) from None
        self._saved_at = time.monotonic()
        self._recorded_lines = self.lines

    def close(self, complete: bool) -> None:
        """Release the lock: after a complete run the resume record is removed (there is nothing to resume);
        otherwise it records how far the output got, best effort (a full disk may refuse even that; the last
        checkpoint then stands). A run that wrote no line leaves an existing output as it was, unless it
        completed (its result is then the empty file)."""
        try:
            if self._discarded:
                return
            if self._replaces is not None:
                if not complete:
                    self._discard_new_file()
                    return
                self._put_in_place()
            if complete:
                with contextlib.suppress(FileNotFoundError):
                    resume_record_path(self.path).unlink()
            else:
                with contextlib.suppress(JobError):
                    self._save(complete=False)
        finally:
            self._handle.close()


def output_is_regular_or_missing(path: Path) -> bool:
    """False for /dev/stdout, a FIFO or a terminal: written as a stream, without lock or resume record.

    `-o /dev/stdout` counts as a stream even when the shell sent stdout to a file:
    the user meant "my stdout", and a resume record cannot live in /dev.
    """
    if str(path).startswith("/dev/") or os.path.realpath(path).startswith(("/dev/", "/proc/")):
        return False
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return True  # missing (it will be created), or open() will explain


def open_stream_output(path: Path) -> BinaryIO:
    """A pipe, FIFO or device to write results to, unbuffered; opening a FIFO waits for its reader (the caller
    makes that wait interruptible)."""
    try:
        return open(path, "ab", buffering=0)
    except OSError as exc:
        raise JobError("cannot write {output} {path}: {reason}", path=path, reason=exc.strerror or exc) from None
