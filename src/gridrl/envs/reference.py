"""Reference returns per env, for ``eval/ref_ratio`` = mean evaluation return / mean reference return.

Every constant names its source; where no published number was found the env has no entry (rather
than a guessed one).

* MinAtar: DQN after 5M frames in Young & Tian 2019 (arXiv:1903.03176, the MinAtar paper; sticky
  actions 0.1, all 6 actions). The paper publishes learning curves (average training return, epsilon
  0.1 exploration included), not a table: the values below are readings of those curves' ends as
  transcribed by a third-party replication (a public GitHub README, "Paper ≈" column; see
  ``approximate``), not numbers printed in the paper. A greedy evaluation may score well above them.
  No MinAtar numbers of the PQN paper (Gallici et al. 2025) were found in a form that could be cited
  (its MinAtar runs also use gymnax's minimal action sets, no sticky actions and a 1000-step limit, a
  different protocol), so none are given.
* MiniGrid: the exact optimal return of each seeded episode, computed by breadth-first search
  (:func:`gridrl.envs.minigrid.optimal_returns`) for the tasks without keys and doors (Empty, FourRooms,
  LavaGap); DoorKey and KeyCorridor have no reference here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from gridrl.config import GameConfig, MinAtarConfig, MiniGridConfig


@dataclass(frozen=True)
class Reference:
    """A constant reference return of one env."""

    score: float  # mean episode return, raw env units
    source: str  # where the number comes from
    approximate: bool  # read off a published figure rather than printed as a number


_YOUNG_TIAN = (
    "Young & Tian 2019, MinAtar (arXiv:1903.03176), DQN at 5M frames, read off the learning curves "
    "(third-party transcription)"
)
# MinAtar DQN, 5M frames: approximate curve readings (see the module docstring).
MINATAR_DQN: dict[str, Reference] = {
    "asterix": Reference(16.5, _YOUNG_TIAN, True),
    "breakout": Reference(10.0, _YOUNG_TIAN, True),
    "freeway": Reference(50.5, _YOUNG_TIAN, True),
    "seaquest": Reference(20.0, _YOUNG_TIAN, True),
    "space_invaders": Reference(45.0, _YOUNG_TIAN, True),
}
# MiniGrid tasks whose optimal return is computed exactly per seeded episode.
MINIGRID_PLANNABLE = ("empty-8x8", "fourrooms", "lavagap-s7")


def reference_returns(
    family: str, name: str, seeds: Sequence[int], max_steps: int | None = None
) -> np.ndarray | None:
    """The reference return of each seeded evaluation episode, or ``None`` where there is none.

    ``family`` / ``name`` as for :func:`gridrl.envs.factory.make_env` (MinAtar: the constant of
    :data:`MINATAR_DQN` for every seed; MiniGrid: the optimal return of each seed's episode, for
    Empty / FourRooms / LavaGap tasks and other tasks without objects, under the env's ``max_steps``
    when it was overridden).
    """
    seeds = list(seeds)
    if family == "minatar":
        ref = MINATAR_DQN.get(name.replace("-", "_"))
        return None if ref is None else np.full(len(seeds), ref.score)
    if family == "minigrid":
        from gridrl.envs.minigrid import optimal_returns

        try:
            return optimal_returns(name, seeds, **({} if max_steps is None else {"max_steps": max_steps}))
        except ValueError:  # keys, doors or other objects: no planner here
            return None
    return None


def game_reference(cfg: GameConfig, seeds: Sequence[int]) -> tuple[np.ndarray, str] | None:
    """The reference return of each seeded evaluation episode of the env config ``cfg`` (an external
    family's; the built-in game's reference is its oracle, :mod:`gridrl.game.oracle`) and its source,
    or ``None`` where there is none (DoorKey-like tasks, gym ids)."""
    if isinstance(cfg, MinAtarConfig):
        ref = reference_returns("minatar", cfg.game, seeds)
        return None if ref is None else (ref, MINATAR_DQN[cfg.game].source)
    if isinstance(cfg, MiniGridConfig):
        ref = reference_returns("minigrid", cfg.task, seeds, cfg.max_steps or None)
        return None if ref is None else (ref, "the optimal return of each episode (breadth-first search)")
    return None
