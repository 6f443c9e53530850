"""What an evaluation writes: ``gridrl eval``'s ``eval.json``, table and videos, and, during training,
the TensorBoard scalars and frames, the videos and ``best.pt`` of each periodic evaluation.
The scores themselves come from :mod:`gridrl.evaluation`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from gridrl import rundir, tblog
from gridrl.config import EnvConfig
from gridrl.evaluation import Evaluator, Recording
from gridrl.policy import Policy
from gridrl.videos import VIDEO_FPS, VIDEO_SIZE

log = logging.getLogger("gridrl")


def run_eval(
    env: EnvConfig,
    policy: Policy,
    out_dir: Path,
    episodes: int,
    seed: int,
    epsilon: float = 0.0,
    video_episodes: int = 0,
    video_size: int = VIDEO_SIZE,
    fps: float = VIDEO_FPS,
    record: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Evaluate ``policy`` on ``env``, write ``out_dir/eval.json`` (and with ``video_episodes`` > 0,
    ``eval.mp4`` / ``eval.gif``); returns what eval.json holds: ``stats``, ``eval`` (``record`` plus the
    evaluation's own settings), ``env``, ``config``, ``video``."""
    from gridrl.videos import write_recording

    start = time.perf_counter()
    result = Evaluator(env, episodes, seed).run(policy, epsilon=epsilon, record=min(video_episodes, episodes))
    stats = result.summary()
    seconds = time.perf_counter() - start
    video = None
    if result.recording is not None:  # the first games of this very evaluation, as scored
        video = write_recording(result.recording, Path(out_dir) / "eval", video_size, fps)
    report = {
        "stats": stats,
        "eval": {
            **(record or {}),
            "episodes": episodes,
            "seed": seed,
            "epsilon": epsilon,
            "seconds": round(seconds, 3),
        },  # fmt: skip
        "env": dataclasses.asdict(env),
        "config": {**(config or {}), "env": dataclasses.asdict(env)},
        "video": video,
    }
    rundir.write_json(Path(out_dir) / rundir.EVAL_REPORT, report)
    return report


def format_table(report: dict[str, Any]) -> str:
    """The short aligned table ``gridrl eval`` prints."""
    s, ev, env = report["stats"], report["eval"], report["env"]

    def pct(x: float | None) -> str:
        return "-" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"

    step = ev.get("env_step")
    head = f"{ev.get('weights', 'policy')}" + (f" (trained {step:,} env steps)" if step else "")
    game = (
        f"{env['height']}x{env['width']} {env['obs_mode']}, {env['n_food']} food ({env['food_motion']}), "
        f"{env['n_enemies']} enem{'y' if env['n_enemies'] == 1 else 'ies'} ({env['enemy_motion']})"
    )
    rows = [
        ("mean return", f"{s['mean_return']:.2f} ± {s['std_return']:.2f}"),
        ("min / max return", f"{s['min_return']:g} / {s['max_return']:g}"),
        ("oracle return", f"{s['oracle_mean_return']:.2f}"),
        ("% of oracle", pct(s["oracle_ratio"])),
        ("mean length", f"{s['mean_length']:.1f}"),
        ("food", pct(s["food_rate"])),
        ("enemy", pct(s["enemy_rate"])),
        ("timeout", f"{pct(s['timeout_rate'])} (loop-stopped {pct(s['loop_stop_rate'])})"),
    ]
    lines = [
        f"gridrl eval: {head}",
        f"game {game}; {s['episodes']} layouts, seed {ev['seed']}, epsilon {ev['epsilon']:g}",
    ]
    lines += [f"  {name:<18} {value}" for name, value in rows]
    return "\n".join(lines)


class TrainingReporter:
    """The outputs of the Trainer's periodic evaluations: TensorBoard scalars and frames of a few
    layouts, the log line, videos (``trainer.video``) and ``best.pt`` when the mean return improves."""

    def __init__(
        self, run: rundir.RunDir, tb: tblog.TBLogger, evaluator: Evaluator, video_episodes: int = 0
    ) -> None:
        self.run, self.tb, self.evaluator, self.video_episodes = run, tb, evaluator, video_episodes

    def report(self, stats: dict[str, float], env_step: int, recording: Recording | None = None) -> None:
        """Scalars, frames and the log line of an evaluation's ``stats``; its ``recording`` (made when
        the evaluation ran with ``record=self.video_episodes``) as ``videos/step_<env step>``."""
        self.tb.scalars(
            {
                tblog.EVAL_MEAN_RETURN: stats["mean_return"],
                tblog.EVAL_ORACLE_RATIO: stats["oracle_ratio"],
                tblog.EVAL_FOOD_RATE: stats["food_rate"],
                tblog.EVAL_ENEMY_RATE: stats["enemy_rate"],
                tblog.EVAL_TIMEOUT_RATE: stats["timeout_rate"],
                tblog.EVAL_MEAN_LENGTH: stats["mean_length"],
            },
            env_step,
        )
        frames = self.evaluator.layout_frames(4)
        self.tb.images(tblog.GAME_FRAMES, np.repeat(np.repeat(frames, 16, 2), 16, 3), env_step)
        log.info(
            "eval @ %d: mean return %.2f (%.1f%% of oracle %.2f), food %.1f%%, enemy %.1f%%, timeout %.1f%%",
            env_step,
            stats["mean_return"],
            100 * stats["oracle_ratio"],
            stats["oracle_mean_return"],
            100 * stats["food_rate"],
            100 * stats["enemy_rate"],
            100 * stats["timeout_rate"],
        )
        if recording is not None:
            from gridrl.videos import write_recording

            write_recording(recording, self.run.video(env_step))

    def save_best(
        self, env_step: int, stats: dict[str, float], config_yaml: str, online: dict[str, Any]
    ) -> None:
        from gridrl import checkpoint as ckpt

        manifest = {"format": ckpt.FORMAT_VERSION, "kind": "best", "env_step": env_step, "eval": stats,
                    "config_yaml": config_yaml, "online": online}  # fmt: skip
        ckpt.atomic_torch_save(manifest, self.run.best)
