"""Videos of a policy playing: an ``.mp4`` (OpenCV, mp4v) and a ``.gif`` (Pillow) of the same frames.

Used by ``gridrl eval video=true`` and by the Trainer at each evaluation (``trainer.video=true``):
:func:`record_eval_video` writes ``<run_dir>/videos/step_<env step, 12 digits>.mp4`` and ``.gif``.
Frames come from :func:`gridrl.game.render.record_episodes` (crisp cells, episode / step / return drawn
on each frame); both files are written atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from gridrl.config import EnvConfig
from gridrl.game.render import record_episodes, write_gif, write_video

Policy = Callable[[np.ndarray], np.ndarray]

VIDEO_SIZE = 320  # pixels of the grid's longer side in a video frame
VIDEO_FPS = 8.0  # frames (game steps) per second


def write_media(frames: Sequence[np.ndarray], base: Path, fps: float = VIDEO_FPS) -> tuple[Path, Path]:
    """Write ``base.mp4`` and ``base.gif`` from RGB HWC uint8 frames; returns both paths."""
    base = Path(base)
    mp4 = write_video(frames, base.with_name(base.name + ".mp4"), fps)
    gif = write_gif(frames, base.with_name(base.name + ".gif"), fps)
    return mp4, gif


def record_eval_video(
    cfg_env: EnvConfig,
    policy: Policy,
    run_dir: Path | str,
    env_step: int,
    episodes: int,
    seed: int = 12345,
    size: int = VIDEO_SIZE,
    fps: float = VIDEO_FPS,
) -> tuple[Path, Path]:
    """Play ``episodes`` games with ``policy`` and write ``<run_dir>/videos/step_<env_step>.mp4`` / ``.gif``.

    ``policy`` maps ``cfg_env.obs_mode`` observations ``(N, C, H, W)`` uint8 to N actions (e.g. a
    learner's ``greedy``). The layouts are those of ``GridGame(cfg_env, episodes).reset(seed)``: with a
    fixed ``seed`` (the Trainer passes ``trainer.eval_seed``) every evaluation of a run shows the same
    games, so the videos show the policy improving. Returns the (mp4, gif) paths.
    """
    frames = record_episodes(cfg_env, policy, episodes, seed, size=size, fps=fps)
    return write_media(frames, Path(run_dir) / "videos" / f"step_{env_step:012d}", fps)
