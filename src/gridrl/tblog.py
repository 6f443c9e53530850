"""TensorBoard tags (each documented once) and the writer used by the Trainer.

Every scalar is plotted against env steps (all games together).
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.tensorboard import SummaryWriter
from torch.utils.tensorboard.summary import hparams

EPISODIC_RETURN = "charts/episodic_return"  # mean return of the training episodes finished since the last log
EPISODIC_LENGTH = "charts/episodic_length"  # their mean length
FOOD_RATE = "charts/food_rate"  # built-in game: share of those episodes that ended on food
ENEMY_RATE = "charts/enemy_rate"  # built-in game: share that ended on an enemy
EPSILON = "charts/epsilon"  # exploration rate
EXPLORE_BONUS = "charts/explore_bonus"  # with agent.explore_bonus: mean bonus per env step since the last log
SPS = "charts/SPS"  # env steps per second of wall time since the last log
UPDATES = "charts/updates"  # gradient steps so far
LEARNING_RATE = "charts/learning_rate"  # current learning rate
TD_LOSS = "losses/td_loss"  # TD loss of the latest update (mean over its minibatches)
Q_VALUES = "losses/q_values"  # mean Q(s, a) of the latest update's minibatches
EVAL_MEAN_RETURN = "eval/mean_return"  # greedy mean return on the fixed evaluation layouts (game units)
EVAL_ORACLE_RATIO = "eval/oracle_ratio"  # built-in game: that mean over the oracle's mean (1.0 = optimal)
EVAL_REF_RATIO = "eval/ref_ratio"  # other families: that mean over the reference's (gridrl.envs.reference)
EVAL_NORMALIZED_SCORE = "eval/normalized_score"  # (R - R_random) / (R_reference - R_random); reference: the oracle, or ref_ratio's
EVAL_FOOD_RATE = "eval/food_rate"  # built-in game: evaluation episodes ending on food
EVAL_ENEMY_RATE = "eval/enemy_rate"  # built-in game: evaluation episodes ending on an enemy
EVAL_TIMEOUT_RATE = "eval/timeout_rate"  # evaluation episodes timing out / truncated (loop-stopped included)
EVAL_MEAN_LENGTH = "eval/mean_length"  # mean evaluation episode length
TIME_PREFIX = "time/"  # seconds spent per phase (collect, update, eval, checkpoint) since the start
GAME_FRAMES = "game/frames"  # a few evaluation layouts as images

SCALAR_TAGS = (
    EPISODIC_RETURN,
    EPISODIC_LENGTH,
    FOOD_RATE,
    ENEMY_RATE,
    EPSILON,
    SPS,
    TD_LOSS,
    Q_VALUES,
    EVAL_MEAN_RETURN,
    EVAL_ORACLE_RATIO,
)


_STAMP = re.compile(r"events\.out\.tfevents\.(\d+)\.")


def _after_existing_files(log_dir: Path) -> None:
    """Wait until a new event file's name sorts after every file already in ``log_dir``.

    TensorBoard reads a run's event files in name order, and the name starts with the creation second:
    a resume started within the second of the killed run's file would be read first, and its
    ``purge_step`` would then not hide the killed run's points past the checkpoint. A file stamped
    more than a few seconds ahead (another machine's clock) is not waited for.
    """
    stamps = [int(m.group(1)) for f in log_dir.glob("events.out.tfevents.*") if (m := _STAMP.match(f.name))]
    last = max(stamps, default=0)
    while int(time.time()) <= last <= time.time() + 3:
        time.sleep(0.05)


class TBLogger:
    def __init__(self, log_dir: Path, purge_step: int | None = None) -> None:
        if purge_step is not None:
            _after_existing_files(log_dir)
        self.writer = SummaryWriter(str(log_dir), purge_step=purge_step, flush_secs=10)

    def scalars(self, values: dict[str, float], step: int) -> None:
        for tag, value in values.items():
            if value is not None and np.isfinite(value):
                self.writer.add_scalar(tag, float(value), step)

    def images(self, tag: str, frames: np.ndarray, step: int) -> None:
        """``frames`` (K, 3, H, W) uint8."""
        self.writer.add_images(tag, frames, step, dataformats="NCHW")

    def hparams(self, params: dict[str, Any], metrics: dict[str, float], step: int) -> None:
        """Write the HParams plugin data into this run's own event file (not a sub-run)."""
        clean = {k: (v if isinstance(v, int | float | str | bool) else str(v)) for k, v in params.items()}
        metrics = {f"hparams/{k}": float(v) for k, v in metrics.items() if v is not None and np.isfinite(v)}
        exp, ssi, sei = hparams(clean, metrics)
        fw = self.writer._get_file_writer()
        for summary in (exp, ssi, sei):
            fw.add_summary(summary)
        for k, v in metrics.items():
            self.writer.add_scalar(k, v, step)

    def close(self) -> None:
        self.writer.flush()
        self.writer.close()
