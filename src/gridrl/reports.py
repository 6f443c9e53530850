"""What an evaluation writes: ``gridrl eval``'s ``eval.json``, table and videos, and, during training,
the TensorBoard scalars and frames, the videos and ``best.pt`` of each periodic evaluation.
The scores themselves come from :mod:`gridrl.evaluation`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from gridrl import rundir, tblog
from gridrl.config import GameConfig
from gridrl.envs.factory import game_label, make_game
from gridrl.evaluation import AnyEvaluator, EpisodeEvaluator, Evaluator, Recording, make_evaluator
from gridrl.policy import Policy
from gridrl.videos import VIDEO_FPS, VIDEO_SIZE

log = logging.getLogger("gridrl")
VIDEO_MAX_STEPS = 300  # an external env's video shows at most this many steps of each episode
VIDEO_HOLD_S = 0.5  # seconds an episode's last frame stays on screen

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


def play(evaluator: AnyEvaluator, policy: Policy, epsilon: float = 0.0, record: int = 0) -> Any:
    """One evaluation. The built-in game's evaluator also records its first ``record`` games as they are
    scored (``result.recording``); another family's is recorded by :func:`write_video` in a second,
    identically seeded play of the same episodes."""
    if isinstance(evaluator, Evaluator):
        return evaluator.run(policy, epsilon=epsilon, record=min(record, evaluator.episodes))
    return evaluator.run(policy, epsilon=epsilon)


def write_video(
    evaluator: AnyEvaluator,
    result: Any,
    policy: Policy,
    base: Path,
    episodes: int,
    size: int = VIDEO_SIZE,
    fps: float = VIDEO_FPS,
) -> dict[str, Any]:
    """``base``.mp4 and ``base``.gif of the first ``episodes`` evaluation episodes; what eval.json keeps.
    The built-in game: the recording the evaluation made (:func:`play` with ``record``); another family:
    its env's ``render()`` frames of the same seeded episodes (:func:`env_episode_frames`)."""
    from gridrl.videos import write_media, write_recording

    recording: Recording | None = getattr(result, "recording", None)
    if recording is not None:
        return write_recording(recording, base, size, fps)
    frames = env_episode_frames(evaluator.cfg, policy, episodes, evaluator.seed, size=size, fps=fps)
    mp4, gif = write_media(frames, base, fps)
    h, w = frames[0].shape[:2]
    return {"mp4": str(mp4), "gif": str(gif), "episodes": episodes, "frames": len(frames), "height": h,
            "width": w, "fps": fps}  # fmt: skip


class AnnotatedFrames(Sequence[np.ndarray]):
    """Video frames made on demand from small RGB pictures: each scaled up by an integer factor (its
    longer side about ``size`` pixels, sizes made even) with its text lines in a band above."""

    def __init__(self, items: list[tuple[np.ndarray, list[str]]], size: int) -> None:
        self.items = items
        h, w = items[0][0].shape[:2]
        self.scale = max(1, size // max(h, w))

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, i: int) -> np.ndarray: ...
    @overload
    def __getitem__(self, i: slice) -> list[np.ndarray]: ...
    def __getitem__(self, i: int | slice) -> np.ndarray | list[np.ndarray]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        img, lines = self.items[i]
        return scaled_picture(img, lines, self.scale)


def scaled_picture(img: np.ndarray, lines: list[str], scale: int) -> np.ndarray:
    """An RGB picture ``(h, w, 3)`` scaled up ``scale`` times (nearest neighbour, sizes made even) with
    ``lines`` of text in a band above."""
    from gridrl.game.render import annotate

    big = np.repeat(np.repeat(img, scale, 0), scale, 1)
    big = np.pad(big, ((0, big.shape[0] % 2), (0, big.shape[1] % 2), (0, 0)))
    return annotate(big, lines)


def env_episode_frames(
    env: GameConfig,
    policy: Policy,
    episodes: int,
    seed: int,
    size: int = VIDEO_SIZE,
    fps: float = VIDEO_FPS,
    max_steps: int = VIDEO_MAX_STEPS,
) -> AnnotatedFrames:
    """The annotated frames of ``episodes`` episodes of an env of another family, episode after
    episode: copy ``i`` reset with ``seed + i`` (the evaluation's episodes), drawn by the env's
    ``render()`` at every step, its last state held for :data:`VIDEO_HOLD_S`; an episode longer than
    ``max_steps`` is cut there (the video only)."""
    game = make_game(env, episodes)
    from gridrl.envs.base import LoopEnv

    assert isinstance(game, LoopEnv)
    game.final_frames = True
    hold = max(1, round(VIDEO_HOLD_S * fps))
    per: list[list[tuple[np.ndarray, list[str]]]] = [[] for _ in range(episodes)]

    def lines(i: int, step: int, ret: float, end: str = "") -> list[str]:
        return [f"{game_label(env)}   episode {i + 1}/{episodes}   step {step}", f"return {ret:+g}{end}"]

    try:
        obs, _ = game.reset(seed)
        for i, pic in enumerate(game.render()):
            per[i].append((pic, lines(i, 0, 0.0)))
        active, actions = np.ones(episodes, dtype=bool), np.zeros(episodes, dtype=np.int64)
        while active.any():
            idx = np.flatnonzero(active)
            actions[idx] = np.asarray(policy(obs[idx])).reshape(len(idx))
            obs, _, term, trunc, info = game.step(actions, active)
            pictures = game.render(idx)
            for j, i in enumerate(idx.tolist()):
                step, ret = int(info["episode_length"][i]), float(info["episode_return"][i])
                if term[i] or trunc[i]:
                    end = "   terminated" if term[i] else "   truncated"
                    per[i] += [(info["final_frames"][i], lines(i, step, ret, end))] * hold
                    active[i] = False
                elif step >= max_steps:
                    per[i] += [
                        (pictures[j], lines(i, step, ret, f"   (video cut at {max_steps} steps)"))
                    ] * hold
                    active[i] = False
                else:
                    per[i].append((pictures[j], lines(i, step, ret)))
    finally:
        game.close()
    return AnnotatedFrames([item for frames in per for item in frames], size)


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
    result = play(evaluator, policy, epsilon, video_episodes)
    stats = result.summary()
    seconds = time.perf_counter() - start
    reference = evaluator.reference_source if isinstance(evaluator, EpisodeEvaluator) else None
    video = None
    if video_episodes > 0:
        video = write_video(
            evaluator, result, policy, Path(out_dir) / "eval", video_episodes, video_size, fps
        )
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
            ("% of oracle", _pct(s["oracle_ratio"])),
        ]
    else:
        game = f"{env['family']}/{env.get('game') or env.get('task') or env.get('id')}"
        unit = "episodes (copy i seeded seed + i)"
        if "ref_ratio" in s:
            rows += [
                ("reference return", f"{s['reference_mean_return']:.2f} ({ev.get('reference', '-')})"),
                ("% of reference", _pct(s["ref_ratio"])),
            ]
    if "random_mean_return" in s:
        rows.append(("random return", f"{s['random_mean_return']:.2f}"))
    if "normalized_score" in s:
        rows.append(("normalized score", f"{s['normalized_score']:.3f} (0 random, 1 reference)"))
    rows.append(("mean length", f"{s['mean_length']:.1f}"))
    if "food_rate" in s:
        rows += [
            ("food", _pct(s["food_rate"])),
            ("enemy", _pct(s["enemy_rate"])),
            ("timeout", f"{_pct(s['timeout_rate'])} (loop-stopped {_pct(s['loop_stop_rate'])})"),
        ]
    else:
        rows.append(("truncated", _pct(s["timeout_rate"])))
    lines = [
        f"gridrl eval: {head}",
        f"game {game}; {s['episodes']} {unit}, seed {ev['seed']}, epsilon {ev['epsilon']:g}",
    ]
    lines += [f"  {name:<18} {value}" for name, value in rows]
    return "\n".join(lines)


def eval_line(stats: dict[str, float], env_step: int) -> str:
    """The log line of one evaluation during training."""
    text = f"eval @ {env_step}: mean return {stats['mean_return']:.2f}"
    if "oracle_ratio" in stats:
        text += f" ({_pct(stats['oracle_ratio'])} of oracle {stats['oracle_mean_return']:.2f})"
    elif "ref_ratio" in stats:
        text += f" ({_pct(stats['ref_ratio'])} of reference {stats['reference_mean_return']:.2f})"
    if "normalized_score" in stats:
        text += f", normalized {stats['normalized_score']:.3f}"
    if "food_rate" in stats:
        text += ", " + ", ".join(f"{k} {_pct(stats[k + '_rate'])}" for k in ("food", "enemy", "timeout"))
    else:
        text += f", mean length {stats['mean_length']:.1f}, truncated {_pct(stats['timeout_rate'])}"
    return text


class TrainingReporter:
    """The outputs of the Trainer's periodic evaluations: TensorBoard scalars and frames of a few
    layouts, the log line, videos (``trainer.video``) and ``best.pt`` when the mean return improves."""

    def __init__(
        self, run: rundir.RunDir, tb: tblog.TBLogger, evaluator: AnyEvaluator, video_episodes: int = 0
    ) -> None:
        self.run, self.tb, self.evaluator, self.video_episodes = run, tb, evaluator, video_episodes

    def report(self, stats: dict[str, float], env_step: int, result: Any, policy: Policy) -> None:
        """Scalars, frames and the log line of an evaluation (``result``, from :func:`play`); with
        ``video_episodes``, its video as ``videos/step_<env step>``."""
        self.tb.scalars({tag: stats[key] for key, tag in EVAL_TAGS.items() if key in stats}, env_step)
        frames = self.evaluator.layout_frames(4)
        scale = max(1, 160 // max(frames.shape[2:]))
        self.tb.images(tblog.GAME_FRAMES, np.repeat(np.repeat(frames, scale, 2), scale, 3), env_step)
        log.info("%s", eval_line(stats, env_step))
        if self.video_episodes > 0:
            write_video(self.evaluator, result, policy, self.run.video(env_step), self.video_episodes)

    def save_best(
        self, env_step: int, stats: dict[str, float], config_yaml: str, online: dict[str, Any]
    ) -> None:
        from gridrl import checkpoint as ckpt

        manifest = {"format": ckpt.FORMAT_VERSION, "kind": "best", "env_step": env_step, "eval": stats,
                    "config_yaml": config_yaml, "online": online}  # fmt: skip
        ckpt.atomic_torch_save(manifest, self.run.best)
