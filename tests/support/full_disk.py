"""A real full filesystem for the full-disk tests (#17.4): a small tmpfs, and a way to fill it."""

from __future__ import annotations

import contextlib
import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

from support.real_parts import need


@contextlib.contextmanager
def small_tmpfs(mount_point: Path, size: str = "2m") -> Iterator[Path]:
    """A ``size`` tmpfs mounted at ``mount_point`` (created), unmounted afterwards.

    Needs root (or CAP_SYS_ADMIN): where it cannot mount, the test skips with the reason, and
    under CI it fails (``need``).
    """
    mount_point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                           str(mount_point)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        need("a mountable tmpfs", f"the full-disk test mounts a {size} tmpfs: "
             f"{done.stderr.strip() or done.returncode}",
             "run the tests as root (or with CAP_SYS_ADMIN) on Linux")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(path: Path) -> None:
    """Write ``path`` until the filesystem has no space left (anything else is an error)."""
    with open(path, "wb") as fh:
        block = b"\0" * 65536
        while True:
            try:
                fh.write(block)
                fh.flush()
            except OSError as error:
                assert error.errno == errno.ENOSPC
                break
        # What the buffered writer still holds cannot be written either; drop it.
        with contextlib.suppress(OSError):
            fh.close()
