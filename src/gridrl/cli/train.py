"""``gridrl train``: the Hydra app that validates a config, finds what to resume, runs the Trainer and
reports. Only this module (and the Python API) sees the OmegaConf object; components get dataclasses.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from gridrl import checkpoint as ckpt
from gridrl.cli import app
from gridrl.config import ConfigError, to_config, typed_node
from gridrl.rundir import RunDir

log = logging.getLogger("gridrl")
# keys a resumed run may change; everything else must match the checkpoint's config
RESUMABLE_KEYS = ("trainer", "device", "resume", "name")


def main(args: list[str]) -> Any:
    with app.funnel():
        if any(a in app.HELP_FLAGS for a in args):
            return app.show_help(
                "config", args, ("env", "model", "agent", "trainer", "experiment", "hparams_search")
            )
        extra = resume_overrides(args)
        if not extra:
            app.precheck("config", args, validate)
    return app.run("gridrl train", "config", train_task, [*args, *extra])


def validate(cfg: DictConfig) -> None:
    """Every key and value, a network that fits the game's image (no layer shrinks it below 1x1), and
    weights to start from (``init_from``) that fit the game and the network."""
    from gridrl.agent.networks import build_q_network
    from gridrl.envs.factory import obs_spec

    config = to_config(cfg)
    build_q_network(config.model, *obs_spec(config.env))
    if config.init_from and not config.resume:
        from gridrl.trainer import warm_start

        warm_start(config)


def resume_overrides(args: list[str]) -> list[str]:
    """``resume=<dir>`` runs in that dir: point Hydra's run dir there and don't rewrite its .hydra/."""
    for a in args:
        if a.startswith("resume=") and a.split("=", 1)[1] not in ("", "null"):
            target = a.split("=", 1)[1]
            run = RunDir.of(target)
            if not run.path.is_dir():
                raise ConfigError(f"resume={target}: no such run dir")
            if Path(target).expanduser().is_file():
                resume_checkpoint(target)  # a weights file is refused before Hydra opens the run's log
            return [f"hydra.run.dir={run.path}", "hydra.output_subdir=null"]
    return []


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
        if _plain(new) != _plain(old):
            raise ConfigError(
                f"resume: override '{ov.input_line}' changes {key} of the saved run; a resumed run keeps its "
                "game, network, learner and seed (only trainer.* and device may change)"
            )
    return merged


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(OmegaConf.create({"v": value}))["v"]  # type: ignore[index,call-overload]


def resume_checkpoint(target: str) -> dict[str, Any]:
    """The checkpoint file ``resume=`` names; a weights file (``q_network.pt``, ``best.pt``) is refused
    with the hint to start a new run from it."""
    payload = ckpt.safe_load(Path(target).expanduser(), require_format=False)
    if payload.get("kind") != "resume":
        raise ckpt.CheckpointError(
            f"resume={target}: network weights, not a resume checkpoint (checkpoints/ckpt_*.pt or the run "
            f"dir); to start a new run from these weights use init_from={target}"
        )
    if payload.get("format") != ckpt.FORMAT_VERSION:
        raise ckpt.CheckpointError(f"{target}: not a gridrl checkpoint of format {ckpt.FORMAT_VERSION}")
    return payload


def _find_resume(cfg: DictConfig, run: RunDir) -> tuple[Path, dict[str, Any]] | None:
    target = cfg.get("resume")
    if target:
        p = Path(target).expanduser()
        if p.is_file():
            return p, resume_checkpoint(target)
        found = ckpt.load_latest(p)
        if found is None:
            final = RunDir(p).final_weights.is_file()
            hint = f"; its final weights can start a new run: init_from={target}" if final else ""
            raise ckpt.CheckpointError(f"resume={target}: the run dir holds no checkpoint{hint}")
        return found
    if cfg.trainer.auto_resume:
        return ckpt.load_latest(run.path)
    return None


def train_task(cfg: DictConfig) -> float:
    """Hydra task: returns the final evaluation mean return (the sweep objective; NaN on failure)."""
    from hydra.core.hydra_config import HydraConfig

    hc = HydraConfig.get()
    run = RunDir(hc.runtime.output_dir)
    run.failed.unlink(missing_ok=True)  # left by an earlier failed launch of this job
    try:
        return run_training(cfg, run, list(hc.overrides.task))
    except app.USER_ERRORS as exc:
        return _failed(run, str(exc), code=2)
    except Exception as exc:  # a crash: reported; in a sweep the other jobs go on
        if not app.is_multirun():
            raise
        log.exception("job failed")
        return _failed(run, f"{type(exc).__name__}: {exc}", code=1)


def _failed(run: RunDir, message: str, code: int) -> float:
    if not app.is_multirun():
        app.fail(message, code)
    run.write_failed(message)
    log.error("job failed: %s", message)
    return math.nan


def run_training(cfg: DictConfig, run: RunDir, overrides: list[str]) -> float:
    """Train the composed ``cfg`` in ``run`` (resuming when asked); the final mean return."""
    from gridrl.trainer import Trainer

    found = _find_resume(cfg, run)
    if found is None:
        config = to_config(cfg)  # validates every key before anything is written
        trainer = Trainer(config, run.path, OmegaConf.to_yaml(cfg, resolve=True))
    else:
        path, payload = found
        merged = merge_resume_config(typed_node(OmegaConf.create(payload["config_yaml"])), cfg, overrides)
        merged.resume = None
        config = to_config(merged)
        metrics = run.read_metrics()
        if metrics is not None and int(payload["env_step"]) >= config.trainer.total_steps:
            log.info("run already finished at %d env steps: %s", payload["env_step"], run.path)
            return float(metrics.get("mean_return", math.nan))
        trainer = Trainer(config, run.path, OmegaConf.to_yaml(merged, resolve=True))
        trainer.load_state_dict(payload)
        trainer.log_resume(path)
    return float(trainer.run().get("mean_return", math.nan))
