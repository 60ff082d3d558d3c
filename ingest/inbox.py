"""The one walker of an inbox source folder (`<inbox>/ofsted`, `ssda903`, `spend`, `placement_costs`).

`walk(folder)` lists the files a source may read: recursively, in path order, each with the first of two looks
at it (size, modification time and identity, from one stat). What it does not hand on it says, with the rule:

- hidden files and folders (`.DS_Store`, `.~lock.x.csv#`) and temporary ones (`*.building`, `*.partial`,
  `*.part`, `*.tmp`, `*.crdownload`, `~$x.xlsx`, `x.csv~`): another program's files or a copy not finished yet.
  They are said in the run's log only (`recorded` false): they are no delivery, and a refusal logged under a
  name that is about to change would stand in audit.load_log for a file that never comes back.
- a file or folder, or a symbolic link to one, that resolves outside the inbox (FILE_OUTSIDE_INBOX): never read;
- a link to nothing (FILE_VANISHED), a link back to a folder being walked (LINK_LOOP), a folder that cannot be
  listed or a name that is not valid UTF-8 (UNREADABLE), a named pipe, socket or device (UNKNOWN_KIND).
  These are `recorded`: the source logs each in audit.load_log as a refused file (`record_skipped`).

A link inside the inbox is followed and the file keeps the name it was listed under (its folders say its LA and
year). The second look is `InboxFile.check()`, which the source calls just before it reads the file (again before
it lands a batch read earlier): a file deleted since it was listed is FILE_VANISHED, one whose size, time or
identity changed is FILE_CHANGING ("still being written: <file>, left for the next run"; nothing of it is
loaded, and the next run reads it whole). The walker never sleeps between the two looks: the sources read their
files one after another, so a copy still in progress is normally caught.
"""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ingest import audit
from ingest.csv_files import sha256_of
from ingest.errors import IngestError

log = logging.getLogger(__name__)

CSV_SUFFIXES = (".csv", ".txt")
# Names another program is still writing, or keeps for itself (this repository writes `.x.building` and
# `.x.partial` before it renames them; browsers, Office and editors have theirs).
TEMPORARY_SUFFIXES = (".building", ".partial", ".part", ".tmp", ".temp", ".crdownload", ".download", ".swp")
TEMPORARY_PREFIXES = ("~$",)

OUTSIDE_INBOX = "FILE_OUTSIDE_INBOX"
VANISHED = "FILE_VANISHED"
CHANGING = "FILE_CHANGING"


@dataclass(frozen=True)
class Look:
    """One stat of a file: what is compared between listing it and reading it."""

    size: int
    mtime_ns: int
    device: int
    inode: int

    @classmethod
    def of(cls, info: os.stat_result) -> Look:
        return cls(info.st_size, info.st_mtime_ns, info.st_dev, info.st_ino)


@dataclass(frozen=True)
class InboxFile:
    """A file the walker hands on: where it was listed, its path inside the source folder, the first look."""

    path: Path  # absolute, under the source folder as listed (a link inside the inbox keeps its own name)
    parts: tuple[str, ...]  # the path's parts below the source folder: <LA>/<YYYY>/name.csv
    look: Look
    inbox: Path  # the inbox folder (resolved): nothing outside it is read

    @property
    def suffix(self) -> str:
        return self.path.suffix.lower()

    @property
    def is_csv(self) -> bool:
        return self.suffix in CSV_SUFFIXES

    @property
    def shown(self) -> str:
        """The file as the run's messages name it: its path inside the inbox."""
        return _shown(self.path, self.inbox)

    def check(self) -> None:
        """The second look, just before the file is read: raises IngestError unless it is still the file listed,
        at the same place inside the inbox."""
        try:
            real = Path(os.path.realpath(self.path))
            info = os.stat(self.path)
        except FileNotFoundError:
            raise _said(IngestError(self.path, VANISHED, f"{self.shown} was deleted after the inbox was listed: "
                                    "nothing read")) from None
        except OSError as error:
            raise IngestError(self.path, "UNREADABLE", f"{type(error).__name__}: {error}") from error
        if not _inside(real, self.inbox):
            raise _said(IngestError(self.path, OUTSIDE_INBOX, f"{self.shown} now leads to {real}, outside the inbox "
                                    f"{self.inbox}: never read"))
        now = Look.of(info)
        if (now.device, now.inode) != (self.look.device, self.look.inode):
            raise _said(IngestError(self.path, CHANGING, f"replaced after the inbox was listed: {self.shown}, "
                                    "left for the next run"))
        if (now.size, now.mtime_ns) != (self.look.size, self.look.mtime_ns):
            raise _said(IngestError(self.path, CHANGING, f"still being written: {self.shown}, left for the next run "
                                    f"(size {self.look.size:,} then {now.size:,} bytes)"))


@dataclass(frozen=True)
class Skipped:
    """A file or folder the walker did not hand on, and why."""

    path: Path
    rule: str
    message: str
    recorded: bool  # the source logs it in audit.load_log as a refused file


@dataclass
class Listing:
    folder: Path  # the source folder as listed (under the resolved inbox)
    inbox: Path
    files: list[InboxFile] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def _inside(real: Path, inbox: Path) -> bool:
    return real == inbox or inbox in real.parents


def _shown(path: Path, inbox: Path) -> str:
    try:
        return str(path.relative_to(inbox))
    except ValueError:
        return str(path)


def _said(error: IngestError) -> IngestError:
    log.warning("%s", error)
    return error


def _ignored(name: str) -> str | None:
    """Why a name is passed over without a word in audit.load_log: hidden, or a file still being made."""
    if name.startswith("."):
        return "hidden"
    lower = name.lower()
    if lower.endswith(TEMPORARY_SUFFIXES) or lower.startswith(TEMPORARY_PREFIXES) or lower.endswith("~"):
        return "temporary (a copy or download not finished, or another program's own file)"
    return None


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes of the name, kept by Python as surrogates
        return False
    return True


def _printable(path: Path) -> Path:
    """A path whose name is not valid UTF-8, as text that can be logged and stored (bytes as \\xNN)."""
    return Path(os.fsencode(path).decode("utf-8", "backslashreplace"))


def walk(folder: Path | str) -> Listing:
    """Every file under `folder` a source may read, in path order, and every file or folder passed over.

    Nothing outside the inbox (the folder holding `folder`, which holds the four source folders) is read. Nothing
    is read here either: one stat per entry, and where a link leads."""
    folder = Path(os.path.abspath(folder))
    inbox_real = Path(os.path.realpath(folder.parent))
    top = inbox_real / folder.name
    listing = Listing(top, inbox_real)

    def skip(path: Path, rule: str, message: str, recorded: bool = True) -> None:
        listing.skipped.append(Skipped(path, rule, message, recorded))
        log.warning("skipped %s: [%s] %s", _shown(path, inbox_real), rule, message)

    def visit(directory: Path, parts: tuple[str, ...], walking: frozenset[Path]) -> None:
        try:
            with os.scandir(directory) as entries:
                children = sorted(entries, key=lambda entry: entry.name)
        except OSError as error:
            skip(directory, "UNREADABLE", f"the folder cannot be listed ({type(error).__name__}: {error.strerror})")
            return
        for entry in children:
            path = directory / entry.name
            if not _utf8(entry.name):
                skip(_printable(path), "UNREADABLE", "the name is not valid UTF-8 (written by a system with another "
                     "character set?): rename it and drop it again; nothing read")
                continue
            why = _ignored(entry.name)
            if why:
                skip(path, "IGNORED", f"{why}: not read", recorded=False)
                continue
            _visit_entry(entry, path, parts + (entry.name,), walking)

    def _visit_entry(entry: os.DirEntry, path: Path, parts: tuple[str, ...], walking: frozenset[Path]) -> None:
        try:
            is_link = entry.is_symlink()
            real = Path(os.path.realpath(path))
        except OSError as error:
            skip(path, "UNREADABLE", f"{type(error).__name__}: {error}")
            return
        if not _inside(real, inbox_real):
            kind = "a link" if is_link else "a path"
            skip(path, OUTSIDE_INBOX, f"{kind} to {real}, outside the inbox {inbox_real}: never read")
            return
        try:
            info = os.stat(path)  # follows a link (inside the inbox, as just checked)
        except FileNotFoundError:
            skip(path, VANISHED, f"a link to {real}, which does not exist" if is_link
                 else "deleted while the inbox was listed")
            return
        except OSError as error:
            skip(path, "UNREADABLE", f"{type(error).__name__}: {error}")
            return
        if stat.S_ISDIR(info.st_mode):
            if real in walking:
                skip(path, "LINK_LOOP", f"a link back to {_shown(real, inbox_real)}, a folder it is inside of: "
                     "not walked twice")
                return
            visit(path, parts, walking | {real})
        elif stat.S_ISREG(info.st_mode):
            listing.files.append(InboxFile(path, parts, Look.of(info), inbox_real))
        else:
            skip(path, "UNKNOWN_KIND", "not a regular file (a named pipe, socket or device): nothing read")

    real_top = Path(os.path.realpath(top))
    if not _inside(real_top, inbox_real):
        skip(top, OUTSIDE_INBOX, f"the source folder leads to {real_top}, outside the inbox {inbox_real}: "
             "never read")
    elif real_top.is_dir():
        visit(top, (), frozenset({real_top}))
    listing.files.sort(key=lambda f: f.parts)
    return listing


def refusal(load_id: str, source: str, path: Path, rule: str, message: str) -> audit.FileLoad:
    """The outcome of a file refused before it is read (not yet written to audit.load_log)."""
    outcome = audit.FileLoad(load_id=load_id, path=path, source=source)
    outcome.refuse(rule, message)
    return outcome


def record_skipped(con: duckdb.DuckDBPyConnection, listing: Listing, source: str,
                   load_id: str) -> list[audit.FileLoad]:
    """One refused audit.load_log row (0 rows read, loaded and quarantined) per recorded skip of the listing."""
    outcomes = [refusal(load_id, source, s.path, s.rule, s.message) for s in listing.skipped if s.recorded]
    if outcomes:
        audit.write_all(con, outcomes)
    return outcomes


def refuse_if_not_csv(con: duckdb.DuckDBPyConnection, file: InboxFile, source: str,
                      load_id: str) -> audit.FileLoad | None:
    """A file that is not a .csv (or .txt) is refused as UNKNOWN_KIND, unless its bytes were loaded before."""
    outcome = audit.FileLoad(load_id=load_id, path=file.path, source=source)
    try:
        file.check()
        outcome.sha256 = sha256_of(file.path)
    except IngestError as error:
        outcome.fail(con, error.rule, error.message)
        return outcome
    except OSError as error:
        outcome.fail(con, "UNREADABLE", f"{type(error).__name__}: {error}")
        return outcome
    if audit.previous_load(con, outcome.sha256) is not None:
        return None
    outcome.fail(con, "UNKNOWN_KIND", f"not a .csv file ({file.path.suffix or 'no extension'}): export it as CSV")
    return outcome


def still_as_listed(con: duckdb.DuckDBPyConnection, file: InboxFile, outcome: audit.FileLoad) -> bool:
    """The second look (again, for a file prepared earlier and landed now): False, with the file refused in
    audit.load_log and nothing of it landed, when it vanished or changed since it was listed."""
    try:
        file.check()
    except IngestError as error:
        outcome.notes = []
        outcome.fail(con, error.rule, error.message)
        return False
    return True
