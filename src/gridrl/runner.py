"""The Hydra task behind ``gridrl train``: validate, find what to resume, run the Trainer, report.

Only this module (and the CLI) sees the OmegaConf object; components get typed dataclasses.
"""

from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from gridrl import checkpoint as ckpt
from gridrl.checkpoint import CheckpointError
from gridrl.config import ConfigError, to_config, typed_node

log = logging.getLogger("gridrl")
# keys a resumed run may change; everything else must match the checkpoint's config
RESUMABLE_KEYS = ("trainer", "device", "resume", "name")


def _run_dir_of(target: str) -> Path:
    p = Path(target).expanduser()
    if p.is_file():  # a checkpoint file: <run>/checkpoints/ckpt_*.pt
        return p.parent.parent
    return p


def resume_overrides(args: list[str]) -> list[str]:
    """``resume=<dir>`` runs in that dir: point Hydra's run dir there and don't rewrite its .hydra/."""
    for a in args:
        if a.startswith("resume=") and a.split("=", 1)[1] not in ("", "null"):
            run_dir = _run_dir_of(a.split("=", 1)[1])
            if not run_dir.is_dir():
                raise ConfigError(f"resume={a.split('=', 1)[1]}: no such run dir")
            return [f"hydra.run.dir={run_dir}", "hydra.output_subdir=null"]
    return []


def _saved_config(payload: dict[str, Any]) -> DictConfig:
    return typed_node(OmegaConf.create(payload["config_yaml"]))


def merge_resume_config(saved: DictConfig, current: DictConfig, overrides: list[str]) -> DictConfig:
    """The saved config with the command line's allowed overrides applied; refuse incompatible ones."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    merged = saved.copy()
    for ov in OverridesParser.create().parse_overrides(overrides):
        key = ov.key_or_group
        if key.startswith("hydra."):
            continue
        new = OmegaConf.select(current, key)
        if key.split(".", 1)[0] in RESUMABLE_KEYS:
            if key != "resume":
                OmegaConf.update(merged, key, new, merge=False)
            continue
        old = OmegaConf.select(saved, key)
        if (
            OmegaConf.to_container(OmegaConf.create({"v": new}))["v"]
            != OmegaConf.to_container(OmegaConf.create({"v": old}))["v"]
        ):
            raise ConfigError(
                f"resume: override '{ov.input_line}' changes {key} of the saved run; a resumed run keeps its "
                "game, network, learner and seed (only trainer.* and device may change)"
            )
    return merged


def _find_resume(cfg: DictConfig, run_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    target = cfg.get("resume")
    if target:
        p = Path(target).expanduser()
        if p.is_file():
            return p, ckpt.safe_load(p)
        found = ckpt.load_latest(p)
        if found is None:
            raise CheckpointError(f"resume={target}: the run dir holds no checkpoint")
        return found
    if cfg.trainer.auto_resume:
        return ckpt.load_latest(run_dir)
    return None


def train_task(cfg: DictConfig) -> float:
    """Hydra task: returns the final evaluation mean return (the sweep objective; NaN on failure)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    hc = HydraConfig.get()
    multirun = hc.mode == RunMode.MULTIRUN
    run_dir = Path(hc.runtime.output_dir)
    (run_dir / "failed.json").unlink(missing_ok=True)  # left by an earlier failed launch of this job
    try:
        return _train(cfg, run_dir, list(hc.overrides.task))
    except (ConfigError, CheckpointError) as exc:
        return _failed(run_dir, str(exc), multirun, code=2)
    except Exception as exc:  # a crash: reported; in a sweep the other jobs go on
        if not multirun:
            raise
        log.exception("job failed")
        return _failed(run_dir, f"{type(exc).__name__}: {exc}", multirun, code=1)


def _failed(run_dir: Path, message: str, multirun: bool, code: int) -> float:
    if not multirun:
        print(f"gridrl: error: {message}", file=sys.stderr)
        raise SystemExit(code)
    (run_dir / "failed.json").write_text(json.dumps({"error": message}, indent=2))
    log.error("job failed: %s", message)
    return math.nan


def _train(cfg: DictConfig, run_dir: Path, overrides: list[str]) -> float:
    from gridrl.train import Trainer

    finished = run_dir / "final" / "metrics.json"
    found = _find_resume(cfg, run_dir)
    if found is not None:
        path, payload = found
        merged = merge_resume_config(_saved_config(payload), cfg, overrides)
        merged.resume = None
        config = to_config(merged)
        if finished.exists() and int(payload["env_step"]) >= config.trainer.total_steps:
            metrics = json.loads(finished.read_text())
            log.info("run already finished at %d env steps: %s", payload["env_step"], run_dir)
            return float(metrics.get("mean_return", math.nan))
        yaml = OmegaConf.to_yaml(merged, resolve=True)
        trainer = Trainer(config, run_dir, yaml)
        trainer.load_state_dict(payload)
        log.info("resumed from %s at env step %d", path, trainer.env_step)
    else:
        config = to_config(cfg)  # validates every key before anything is written
        yaml = OmegaConf.to_yaml(cfg, resolve=True)
        trainer = Trainer(config, run_dir, yaml)
    summary = trainer.run()
    return float(summary.get("mean_return", math.nan))
