"""Checkpoints: one file per save, data only, written atomically.

A checkpoint ``<run_dir>/checkpoints/ckpt_<env_step>.pt`` is a ``torch.save`` of nested dicts of tensors
and plain Python values (no objects): the manifest (format version, step, resolved config as YAML) and
the ``state_dict()`` of every component. It is written to ``<name>.tmp``, flushed, fsynced and renamed,
so a kill at any moment leaves the previous complete checkpoint intact. Loading uses
``torch.load(weights_only=True)``: a file that carries a pickled object is refused and never runs.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridrl import rundir

FORMAT_VERSION = 1
log = logging.getLogger(__name__)


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used (corrupt, truncated, unsafe or incompatible)."""


def atomic_torch_save(obj: Any, path: Path) -> tuple[int, float]:
    """``torch.save`` of ``obj`` to ``path`` through :func:`gridrl.rundir.atomic_write`; (bytes, seconds)."""
    import torch

    start = time.perf_counter()
    size = rundir.atomic_write(path, lambda f: torch.save(obj, f))
    return size, time.perf_counter() - start


def safe_load(path: Path, require_format: bool = True) -> dict[str, Any]:
    """Load a checkpoint as data only; raise :class:`CheckpointError` with the reason otherwise.
    ``require_format=False`` also accepts a bare dict such as a network ``state_dict``."""
    import torch

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


def load_latest(run_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest checkpoint that loads; corrupt ones are skipped with a warning. None if the run has none."""
    errors = []
    for _, path in reversed(rundir.RunDir(run_dir).list_checkpoints()):
        try:
            return path, safe_load(path)
        except CheckpointError as exc:
            log.warning("skipping checkpoint: %s", exc)
            errors.append(str(exc))
    if errors:
        raise CheckpointError(
            f"no usable checkpoint in {rundir.RunDir(run_dir).checkpoints}: " + "; ".join(errors)
        )
    return None


def prune(run_dir: Path, keep: int) -> None:
    """Keep the newest ``keep`` periodic checkpoints (``best.pt`` is separate and always kept)."""
    run = rundir.RunDir(run_dir)
    for _, path in run.list_checkpoints()[:-keep]:
        path.unlink(missing_ok=True)
    run.clear_temp()  # left by a kill mid-write


@dataclass
class Weights:
    """A network's state_dict found from a user's target, with the config it was trained with."""

    run_dir: Path  # the run the weights belong to
    path: Path  # the file they were read from
    state: dict[str, Any]  # the online network's state_dict
    config_yaml: str  # the run's resolved config
    env_step: int | None  # env steps of training behind them (None if unknown)


def load_weights(target: str | Path) -> Weights:
    """The network weights of a run dir (``final/q_network.pt``, else its newest checkpoint) or of a
    ``.pt`` file (a resume checkpoint, ``best.pt``, or a bare state_dict with a ``config.yaml`` beside
    it or in its run). Data only; :class:`CheckpointError` with one line otherwise."""
    p = Path(target).expanduser()
    if p.is_dir():
        run = rundir.RunDir(p)
        if run.final_weights.is_file():
            config = rundir.config_beside(run.final_weights)
            if config is None:
                raise CheckpointError(f"{run.final_weights}: no config.yaml beside it")
            step = (run.read_metrics() or {}).get("env_step")
            return Weights(
                p, run.final_weights, safe_load(run.final_weights, False), config.read_text(), step
            )
        found = load_latest(p)
        if found is None:
            raise CheckpointError(
                f"{target}: holds neither final/{rundir.WEIGHTS} nor checkpoints/ckpt_*.pt "
                "(give a run dir of gridrl train, or a .pt file)"
            )
        path, payload = found
        return Weights(
            p, path, payload["learner"]["online"], payload["config_yaml"], int(payload["env_step"])
        )
    if not p.is_file():
        raise CheckpointError(f"{target}: no such run dir or file")
    obj = safe_load(p, require_format=False)
    run_dir = rundir.RunDir.of(p).path
    if "format" in obj:  # a checkpoint: resume (learner.online) or best.pt (online)
        if obj.get("format") != FORMAT_VERSION or "config_yaml" not in obj:
            raise CheckpointError(f"{p}: not a gridrl checkpoint of format {FORMAT_VERSION}")
        state = obj["online"] if "online" in obj else obj.get("learner", {}).get("online")
        if state is None:
            raise CheckpointError(f"{p}: a checkpoint without network weights")
        return Weights(run_dir, p, state, obj["config_yaml"], int(obj.get("env_step", 0)))
    config = rundir.config_beside(p)
    if config is None:
        raise CheckpointError(f"{p}: a bare network state_dict without a config.yaml beside it or in its run")
    return Weights(run_dir, p, obj, config.read_text(), None)
