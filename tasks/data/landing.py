"""The landing folder as a boundary: which entries count as arrived files, and opening one safely.

Anyone who can drop a file into the landing folder can drop a symbolic link to
``/etc/passwd`` or to the admin-password file, a hard link to a file elsewhere on the
volume, or a FIFO that blocks a reader. ``dataset_uri`` is held to an allowlist of roots;
the landing folder holds itself: only a regular file whose one name is in the folder is
taken. Entries are listed with ``lstat`` (a link is never followed, its target never
touched); a taken file is opened with ``O_NOFOLLOW`` and checked on the descriptor, which
is what the caller reads from then on (never the name again). The ingest DAG's
``FileSensor`` (glob + ``stat``) only learns that a name exists; it opens nothing.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import BinaryIO

from tasks.core.common import StepError


def listed(landing: Path) -> list[tuple[Path, os.stat_result]]:
    """Visible entries that look like data (the sensor's ``*.csv*``), not folders, with their own ``lstat``.

    ``lstat``, never ``stat``: a symbolic link is listed as the link, its target never touched.
    """
    if not landing.is_dir():
        return []
    found = []
    with os.scandir(landing) as entries:
        for entry in entries:
            if entry.name.startswith(".") or ".csv" not in entry.name:
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if not stat.S_ISDIR(info.st_mode):
                found.append((Path(entry.path), info))
    return sorted(found, key=lambda item: (item[1].st_mtime, item[0].name))


def landed(landing: Path) -> list[Path]:
    """The entries :func:`listed` finds, oldest first."""
    return [path for path, _ in listed(landing)]


def _settled(info: os.stat_result, min_age: float, now: float) -> bool:
    """Settled: unchanged for ``min_age``; an entry that is not a regular file is refused at once, no wait."""
    return not stat.S_ISREG(info.st_mode) or now - info.st_mtime >= min_age


def pick_settled(landing: Path, min_age: float, max_wait: float, poll: float = 1.0) -> Path | None:
    """The oldest file that nobody has written to for ``min_age`` seconds, waiting up to ``max_wait``."""
    deadline = time.monotonic() + max_wait
    while True:
        entries = listed(landing)
        settled = [path for path, info in entries if _settled(info, min_age, time.time())]
        if settled or not entries or time.monotonic() >= deadline:
            return settled[0] if settled else None
        time.sleep(poll)


def _not_taken(info: os.stat_result) -> str | None:
    """Why an entry with this ``stat`` is not taken from the landing folder, or ``None``."""
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link; only regular files inside the landing folder are taken, links are never followed"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file (a pipe, socket or device); only regular files are taken"
    if info.st_nlink > 1:
        return (f"has {info.st_nlink} hard links; only a file whose one name is in the landing folder is taken "
                "(copy it in, do not link it)")
    return None


def open_landed(path: Path) -> BinaryIO:
    """Open a landing-folder entry for reading only if it is a regular, singly linked file; never follow a link.

    The checks run on the opened descriptor (``O_NOFOLLOW``, then ``fstat``), and it must be the
    inode that was listed, so swapping the name for a link between the check and the read changes nothing.
    """
    listed = os.lstat(path)
    problem = _not_taken(listed)
    if problem:
        raise StepError(f"{path}: {problem}")
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as err:
        raise StepError(f"{path}: cannot be opened without following a link ({err.strerror})") from err
    opened = os.fstat(fd)
    problem = _not_taken(opened) or (None if (opened.st_dev, opened.st_ino) == (listed.st_dev, listed.st_ino)
                                      else "was replaced while being opened")
    if problem:
        os.close(fd)
        raise StepError(f"{path}: {problem}")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def subfolder(landing: Path, name: str) -> Path:
    """``<landing>/<name>``, created if need be; refused if someone made it a link (files would leave the folder)."""
    folder = landing / name
    folder.mkdir(exist_ok=True)
    if not stat.S_ISDIR(os.lstat(folder).st_mode):
        raise StepError(f"{folder}: not a folder (a link?); remove it so that taken files stay in the landing folder")
    return folder
