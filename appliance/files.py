"""Files the box writes whole or not at all: the saved configuration, its kept commits,
DAHDI's system.conf, the console's password.

Rules: the text goes to a temporary file beside the target, which gets its mode before
any byte is written (a password file is never readable by others, not even for a
moment), is synced, and is renamed over the target; then the folder is synced so the
rename outlives a power cut. A reader sees the old file or the new one, never half of
one. On any failure the temporary file goes and the target is as it was.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Optional


def write_whole(path, text: str, mode: Optional[int] = None) -> None:
    """Writes text (UTF-8) to path whole. mode: the file's; by default the mode of the
    file it replaces, else 0o644."""
    path = Path(path)
    if mode is None:
        try:
            mode = path.stat().st_mode & 0o777
        except OSError:
            mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), mode)
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(str(path.parent), os.O_RDONLY)
    except OSError:
        return                  # a folder that cannot be opened to sync: the rename stands
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
