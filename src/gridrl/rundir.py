"""The run directory: its layout and every read and write of its files (the one home of file names).

```
<run>/
  .hydra/config.yaml, overrides.yaml   the composed config and the overrides (written by Hydra)
  train.log                            the log lines
  tb/                                  TensorBoard events
  checkpoints/ckpt_<env step>.pt       the newest K resume checkpoints; best.pt (best evaluation)
  videos/step_<env step>.mp4 / .gif    trainer.video=true
  eval/                                gridrl eval: eval.json (+ eval.mp4, eval.gif)
  final/q_network.pt, config.yaml, metrics.json
  failed.json, job.json                a failed job of a sweep; a sweep job's record
```

Every file is written through :func:`atomic_write` (a temp name beside the target, flushed, fsynced,
renamed), so a kill at any moment leaves the previous complete file or none, never half of one.
"""

from __future__ import annotations

import json
import math
import os
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

TB = "tb"
CHECKPOINTS = "checkpoints"
FINAL = "final"
VIDEOS = "videos"
EVAL = "eval"
HYDRA = ".hydra"
WEIGHTS = "q_network.pt"  # final/: the online network's state_dict
CONFIG = "config.yaml"  # final/: the resolved config of the run
METRICS = "metrics.json"  # final/: the final evaluation and counters
BEST = "best.pt"  # checkpoints/: the weights of the best evaluation
FAILED = "failed.json"  # a job of a sweep that failed: {"error": ...}
JOB = "job.json"  # a sweep job's record (kept by the sweep callback)
EVAL_REPORT = "eval.json"  # eval/: what gridrl eval measured
_CKPT = re.compile(r"^ckpt_(\d+)\.pt$")

Writer = Callable[[IO[bytes]], None]


def atomic_write(path: str | os.PathLike[str], data: str | bytes | Writer, fsync: bool = True) -> int:
    """Write ``data`` (text, bytes, or a function writing into a binary file) to ``path`` atomically;
    returns the size in bytes. A failure leaves no temp file and the old ``path`` untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if fsync:
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return path.stat().st_size


def finite(x: Any) -> Any:
    """NaN and inf -> None (recursively), so that JSON files are strict JSON."""
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [finite(v) for v in x]
    return x


def write_json(path: str | os.PathLike[str], data: dict[str, Any]) -> None:
    atomic_write(path, json.dumps(finite(data), indent=2) + "\n")


def read_json(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """A JSON object file, or None when it is missing or unreadable."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_temp(path: Path) -> bool:
    """A temp file left by a write that was killed."""
    return path.name.endswith(".tmp")


@dataclass(frozen=True)
class RunDir:
    """Paths of one run, and the reads of its small files."""

    path: Path

    def __init__(self, path: str | os.PathLike[str]) -> None:
        object.__setattr__(self, "path", Path(path).expanduser())

    @classmethod
    def of(cls, target: str | os.PathLike[str]) -> RunDir:
        """The run a path belongs to: a run dir itself, or a file in its ``checkpoints/`` or ``final/``
        (any other file: the folder holding it)."""
        p = Path(target).expanduser()
        if p.is_dir():
            return cls(p)
        return cls(p.parent.parent if p.parent.name in (CHECKPOINTS, FINAL) else p.parent)

    # --------------------------------------------------------------------------------------- paths
    @property
    def tb(self) -> Path:
        return self.path / TB

    @property
    def checkpoints(self) -> Path:
        return self.path / CHECKPOINTS

    @property
    def best(self) -> Path:
        return self.checkpoints / BEST

    @property
    def final(self) -> Path:
        return self.path / FINAL

    @property
    def final_weights(self) -> Path:
        return self.final / WEIGHTS

    @property
    def final_config(self) -> Path:
        return self.final / CONFIG

    @property
    def metrics(self) -> Path:
        return self.final / METRICS

    @property
    def failed(self) -> Path:
        return self.path / FAILED

    @property
    def job(self) -> Path:
        return self.path / JOB

    @property
    def hydra_overrides(self) -> Path:
        return self.path / HYDRA / "overrides.yaml"

    @property
    def eval_dir(self) -> Path:
        return self.path / EVAL

    def checkpoint(self, env_step: int) -> Path:
        return self.checkpoints / f"ckpt_{env_step:012d}.pt"

    def video(self, env_step: int) -> Path:
        """Base name (no suffix) of the videos of the evaluation at ``env_step``."""
        return self.path / VIDEOS / f"step_{env_step:012d}"

    # --------------------------------------------------------------------------------------- reads
    def list_checkpoints(self) -> list[tuple[int, Path]]:
        """Complete periodic checkpoints, oldest first (temp files and best.pt are not listed)."""
        if not self.checkpoints.is_dir():
            return []
        found = [(int(m.group(1)), p) for p in self.checkpoints.iterdir() if (m := _CKPT.match(p.name))]
        return sorted(found)

    def last_checkpoint_step(self) -> int | None:
        found = self.list_checkpoints()
        return found[-1][0] if found else None

    def read_metrics(self) -> dict[str, Any] | None:
        """``final/metrics.json`` (None when the run has not finished)."""
        return read_json(self.metrics)

    def write_metrics(self, metrics: dict[str, Any]) -> None:
        write_json(self.metrics, metrics)

    def write_failed(self, message: str) -> None:
        write_json(self.failed, {"error": message})

    def saved_config(self) -> Path | None:
        """The run's config file: ``final/config.yaml``, else Hydra's ``.hydra/config.yaml``."""
        for cand in (self.final_config, self.path / HYDRA / CONFIG):
            if cand.is_file():
                return cand
        return None

    def is_run(self) -> bool:
        return self.tb.is_dir()

    def clear_temp(self) -> None:
        """Remove the temp files a killed write left in ``checkpoints/`` and ``final/`` (never read)."""
        for folder in (self.checkpoints, self.final):
            for tmp in folder.glob("*.tmp") if folder.is_dir() else ():
                tmp.unlink(missing_ok=True)


def config_beside(path: Path) -> Path | None:
    """The config of a bare weights file: ``config.yaml`` beside it, else its run's saved config."""
    if (path.parent / CONFIG).is_file():
        return path.parent / CONFIG
    return RunDir.of(path).saved_config()


def find_runs(dirs: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Every run (a dir holding ``tb/``) among ``dirs`` and below them, sorted, once each.
    Raises FileNotFoundError naming a dir that does not exist."""
    found: list[Path] = []
    for d in dirs:
        root = Path(d).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"{d}: no such directory")
        if RunDir(root).is_run():
            found.append(root.resolve())
        found += [p.parent.resolve() for p in root.rglob(TB) if p.is_dir() and p.parent != root]
    return sorted(dict.fromkeys(found))


def find_job_dirs(sweep_dir: Path) -> list[Path]:
    """Job dirs under a sweep dir: those with a ``job.json`` or Hydra's ``.hydra/overrides.yaml``."""
    found = {p.parent for p in sweep_dir.rglob(JOB)}
    found |= {p.parent.parent for p in sweep_dir.rglob("overrides.yaml") if p.parent.name == HYDRA}
    return sorted(d for d in found if ".submitit" not in d.relative_to(sweep_dir).parts)
