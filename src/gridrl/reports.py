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
from gridrl.config import GameConfig
from gridrl.evaluation import AnyEvaluator, EpisodeEvaluator, Recording, make_evaluator
from gridrl.policy import Policy
from gridrl.videos import VIDEO_FPS, VIDEO_SIZE

log = logging.getLogger("gridrl")
# the evaluation scalars of TensorBoard: stats key -> tag (a key a game does not report is skipped)
EVAL_TAGS = {
    "mean_return": tblog.EVAL_MEAN_RETURN,
    "oracle_ratio": tblog.EVAL_ORACLE_RATIO,
    "ref_ratio": tblog.EVAL_REF_RATIO,
    "normalized_score": tblog.EVAL_NORMALIZED_SCORE,
    "food_rate": tblog.EVAL_FOOD_RATE,
    "enemy_rate": tblog.EVAL_ENEMY_RATE,
    "timeout_rate": tblog.EVAL_TIMEOUT_RATE,
    "mean_length": tblog.EVAL_MEAN_LENGTH,
}


def write_video(
    recording: Recording, base: Path, size: int = VIDEO_SIZE, fps: float = VIDEO_FPS
) -> dict[str, Any]:
    """``recording`` as ``base``.mp4 / .gif (:func:`gridrl.videos.write_recording`), ``size`` pixels on the
    longer side or the recorded pictures' own size where larger (a gym env's ``render()``)."""
    from gridrl.videos import write_recording

    return write_recording(recording, base, max(size, *recording.frames.shape[-2:]), fps)


def run_eval(
    env: GameConfig,
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
    start = time.perf_counter()
    evaluator = make_evaluator(env, episodes, seed)
    result = evaluator.run(policy, epsilon=epsilon, record=min(video_episodes, episodes))
    stats = result.summary()
    seconds = time.perf_counter() - start
    reference = evaluator.reference_source if isinstance(evaluator, EpisodeEvaluator) else None
    video = None
    if result.recording is not None:  # the first games of this very evaluation, as scored
        video = write_video(result.recording, Path(out_dir) / "eval", video_size, fps)
    report = {
        "stats": stats,
        "eval": {
            **(record or {}),
            "episodes": episodes,
            "seed": seed,
            "epsilon": epsilon,
            "seconds": round(seconds, 3),
            **({"reference": reference} if reference else {}),
        },  # fmt: skip
        "env": dataclasses.asdict(env),
        "config": {**(config or {}), "env": dataclasses.asdict(env)},
        "video": video,
    }
    rundir.write_json(Path(out_dir) / rundir.EVAL_REPORT, report)
    return report


def _pct(x: float | None) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{100 * x:.1f}%"


def _with_interval(s: dict[str, float], key: str, percent: bool = True, digits: int | None = None) -> str:
    """``98.4% [97.6%, 99.1%]``: a score and its 95 % interval over the evaluation's episodes."""
    from gridrl.stats import Interval

    iv = Interval(s[key], s.get(f"{key}_low", math.nan), s.get(f"{key}_high", math.nan))
    return iv.format(percent, digits) if math.isfinite(iv.value) else "-"


def _rate(s: dict[str, float], key: str) -> str:
    """``0.2% [0.1%, 0.6%]``: an outcome's share of the episodes with its 95 % Wilson interval, which stays
    honest where the outcome was rare or never seen (0 of 1000 episodes: up to 0.38 %)."""
    from gridrl.stats import wilson_interval

    return wilson_interval(s[key], int(s["episodes"])).format(percent=True)


def format_table(report: dict[str, Any]) -> str:
    """The short aligned table ``gridrl eval`` prints."""
    s, ev, env = report["stats"], report["eval"], report["env"]
    step = ev.get("env_step")
    head = f"{ev.get('weights', 'policy')}" + (f" (trained {step:,} env steps)" if step else "")
    rows = [
        ("mean return", f"{s['mean_return']:.2f} ± {s['std_return']:.2f}"),
        ("min / max return", f"{s['min_return']:g} / {s['max_return']:g}"),
    ]
    if env.get("family", "grid") == "grid":
        game = (
            f"{env['height']}x{env['width']} {env['obs_mode']}, {env['n_food']} food ({env['food_motion']}), "
            f"{env['n_enemies']} enem{'y' if env['n_enemies'] == 1 else 'ies'} ({env['enemy_motion']})"
        )
        unit = "layouts"
        rows += [
            ("oracle return", f"{s['oracle_mean_return']:.2f}"),
            ("% of oracle", _with_interval(s, "oracle_ratio")),
        ]
    else:
        game = f"{env['family']}/{env.get('game') or env.get('task') or env.get('id')}"
        unit = "episodes (copy i seeded seed + i)"
        if "ref_ratio" in s:
            rows += [
                ("reference return", f"{s['reference_mean_return']:.2f} ({ev.get('reference', '-')})"),
                ("% of reference", _with_interval(s, "ref_ratio")),
            ]
    if "random_mean_return" in s:
        rows.append(("random return", f"{s['random_mean_return']:.2f}"))
    if "normalized_score" in s:
        score = _with_interval(s, "normalized_score", percent=False, digits=3)
        rows.append(("normalized score", f"{score} (0 random, 1 reference)"))
    rows.append(("mean length", f"{s['mean_length']:.1f}"))
    if "food_rate" in s:
        rows += [
            ("food", _rate(s, "food_rate")),
            ("enemy", _rate(s, "enemy_rate")),
            ("timeout", f"{_rate(s, 'timeout_rate')} (loop-stopped {_pct(s['loop_stop_rate'])})"),
        ]
    else:
        rows.append(("truncated", _rate(s, "timeout_rate")))
    lines = [
        f"gridrl eval: {head}",
        f"game {game}; {s['episodes']} {unit}, seed {ev['seed']}, epsilon {ev['epsilon']:g}",
    ]
    if any(k.endswith("_low") for k in s):
        lines.append(
            "[a, b]: 95% interval over these episodes (more episodes narrow it); a ratio's interval cannot see "
            "an outcome that never happened, a rate's can (Wilson)"
        )
    lines += [f"  {name:<18} {value}" for name, value in rows]
    return "\n".join(lines)


def eval_line(stats: dict[str, float], env_step: int) -> str:
    """The log line of one evaluation during training."""
    text = f"eval @ {env_step}: mean return {stats['mean_return']:.2f}"
    if "oracle_ratio" in stats:
        text += f" ({_pct(stats['oracle_ratio'])} of oracle {stats['oracle_mean_return']:.2f})"
    elif "ref_ratio" in stats:
        text += f" ({_pct(stats['ref_ratio'])} of reference {stats['reference_mean_return']:.2f})"
    if "food_rate" in stats:
        text += ", " + ", ".join(f"{k} {_pct(stats[k + '_rate'])}" for k in ("food", "enemy", "timeout"))
    else:
        text += f", mean length {stats['mean_length']:.1f}, truncated {_pct(stats['timeout_rate'])}"
    if "normalized_score" in stats:
        text += f", normalized score {stats['normalized_score']:.3f}"
    return text


class TrainingReporter:
    """The outputs of the Trainer's periodic evaluations: TensorBoard scalars and frames of a few
    layouts, the log line, videos (``trainer.video``) and ``best.pt`` when the mean return improves."""

    def __init__(
        self, run: rundir.RunDir, tb: tblog.TBLogger, evaluator: AnyEvaluator, video_episodes: int = 0
    ) -> None:
        self.run, self.tb, self.evaluator, self.video_episodes = run, tb, evaluator, video_episodes

    def report(self, stats: dict[str, float], env_step: int, recording: Recording | None = None) -> None:
        """Scalars, frames and the log line of an evaluation's ``stats``; its ``recording`` (made when
        the evaluation ran with ``record=self.video_episodes``) as ``videos/step_<env step>``."""
        self.tb.scalars({tag: stats[key] for key, tag in EVAL_TAGS.items() if key in stats}, env_step)
        frames = self.evaluator.layout_frames(4)
        scale = max(1, 160 // max(frames.shape[2:]))
        self.tb.images(tblog.GAME_FRAMES, np.repeat(np.repeat(frames, scale, 2), scale, 3), env_step)
        log.info("%s", eval_line(stats, env_step))
        if recording is not None:
            write_video(recording, self.run.video(env_step))

    def save_best(
        self, env_step: int, stats: dict[str, float], config_yaml: str, online: dict[str, Any]
    ) -> None:
        from gridrl import checkpoint as ckpt

        manifest = {"format": ckpt.FORMAT_VERSION, "kind": "best", "env_step": env_step, "eval": stats,
                    "config_yaml": config_yaml, "online": online}  # fmt: skip
        ckpt.atomic_torch_save(manifest, self.run.best)
