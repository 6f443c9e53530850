"""Checkpoints: one file per save, data only, written atomically.

A checkpoint ``<run_dir>/checkpoints/ckpt_<env_step>.pt`` is a ``torch.save`` of nested dicts of tensors
and plain Python values (no objects): the manifest (format version, step, resolved config as YAML) and
the ``state_dict()`` of every component. It is written to ``<name>.tmp``, flushed, fsynced and renamed,
so a kill at any moment leaves the previous complete checkpoint intact. Loading uses
``torch.load(weights_only=True)``: a file that carries a pickled object is refused and never runs.
"""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path
from typing import Any

import torch

FORMAT_VERSION = 1
_NAME = re.compile(r"^ckpt_(\d+)\.pt$")
log = logging.getLogger(__name__)


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used (corrupt, truncated, unsafe or incompatible)."""


def checkpoint_dir(run_dir: Path) -> Path:
    return Path(run_dir) / "checkpoints"


def atomic_torch_save(obj: Any, path: Path) -> tuple[int, float]:
    """Save ``obj`` to ``path`` atomically; returns (bytes, seconds)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    start = time.perf_counter()
    with open(tmp, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path.stat().st_size, time.perf_counter() - start


def safe_load(path: Path, require_format: bool = True) -> dict[str, Any]:
    """Load a checkpoint as data only; raise :class:`CheckpointError` with the reason otherwise.
    ``require_format=False`` also accepts a bare dict such as a network ``state_dict``."""
    path = Path(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except Exception as exc:  # noqa: BLE001 - every failure to read is reported the same way
        text = str(exc)
        if "weights_only" in text or "Unsupported global" in text or "Unpickler" in text:
            raise CheckpointError(f"{path}: refused, it holds pickled objects, not plain data") from None
        raise CheckpointError(
            f"{path}: unreadable ({type(exc).__name__}: {text.splitlines()[0][:200]})"
        ) from None
    if not isinstance(obj, dict) or (require_format and obj.get("format") != FORMAT_VERSION):
        raise CheckpointError(f"{path}: not a gridrl checkpoint of format {FORMAT_VERSION}")
    return obj


def list_checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """Complete periodic checkpoints of a run, oldest first (temp files are ignored)."""
    d = checkpoint_dir(run_dir)
    if not d.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in d.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def load_latest(run_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint that loads; corrupt ones are skipped with a warning. None if the run has none."""
    errors = []
    for _, path in reversed(list_checkpoints(run_dir)):
        try:
            return path, safe_load(path)
        except CheckpointError as exc:
            log.warning("skipping checkpoint: %s", exc)
            errors.append(str(exc))
    if errors:
        raise CheckpointError(f"no usable checkpoint in {checkpoint_dir(run_dir)}: " + "; ".join(errors))
    return None


def prune(run_dir: Path, keep: int) -> None:
    """Keep the newest ``keep`` periodic checkpoints (``best.pt`` is separate and always kept)."""
    for _, path in list_checkpoints(run_dir)[:-keep]:
        path.unlink(missing_ok=True)
    for tmp in checkpoint_dir(run_dir).glob("*.tmp"):  # left by a kill mid-write
        tmp.unlink(missing_ok=True)
