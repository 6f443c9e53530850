"""MinAtar (Young & Tian 2019) behind the batched contract of :mod:`gridrl.envs.base`.

Each copy is a ``minatar.Environment`` (``minatar.gym`` targets the old ``gym`` API, so the
``Environment`` class is used directly). Observations: MinAtar's ``(10, 10, C)`` bool state as
``(C, 10, 10)`` planes of 0/255 (C = 4 breakout / asterix, 7 freeway, 10 seaquest, 6 space_invaders).

Protocol (the paper's): sticky actions with probability 0.1 (the previous action repeats), the full
action set of 6 (``n l u r d f``; ``minimal_actions=True`` uses the game's minimal set instead, as the
JAX re-implementations do), difficulty ramping on. Termination is the game's own (Freeway's end after
2500 frames included). MinAtar has no time limit otherwise, so ``max_steps`` (default 10 000 steps =
frames) truncates episodes that a good policy could otherwise play forever (Seaquest, Breakout).

Seeding: ``reset(seed)`` seeds copy ``i`` with ``seed + i`` (MinAtar's ``Environment.seed``: one
``RandomState`` for the sticky actions and the game) and clears its last (sticky) action, so the copy
then behaves exactly like a fresh ``Environment`` seeded the same way. Auto-resets keep the copy's
generator and its last action (as a single MinAtar environment does between episodes).

``render()`` colours the planes (one colour per channel, the last channel on top): ``(n, 10, 10, 3)``.
"""

from __future__ import annotations

import numpy as np

from gridrl.config import MINATAR_GAMES, check_choice
from gridrl.envs.base import LoopEnv, colorize, palette

GAMES = MINATAR_GAMES  # the schema's list (gridrl.config)
STICKY_ACTION_PROB = 0.1  # the MinAtar paper's protocol
DEFAULT_MAX_STEPS = 10_000


class MinAtarEnv(LoopEnv):
    """``n`` copies of one MinAtar game.

    Args:
        game: one of :data:`GAMES`.
        n: number of copies.
        sticky_action_prob: chance that the previous action is repeated instead of the chosen one.
        max_steps: steps after which an episode is truncated (``None``: never).
        minimal_actions: use the game's minimal action set (``n_actions`` 3 to 6) instead of all 6.
        difficulty_ramping: MinAtar's gradual speed-up (asterix, seaquest, space_invaders).
    """

    def __init__(
        self,
        game: str,
        n: int = 1,
        sticky_action_prob: float = STICKY_ACTION_PROB,
        max_steps: int | None = DEFAULT_MAX_STEPS,
        minimal_actions: bool = False,
        difficulty_ramping: bool = True,
    ) -> None:
        check_choice("env.game", game, GAMES)
        from minatar import Environment

        self.game = game
        self.envs = [
            Environment(game, sticky_action_prob=sticky_action_prob, difficulty_ramping=difficulty_ramping)
            for _ in range(n)
        ]
        first = self.envs[0]
        H, W, C = first.state_shape()
        self.action_map = np.array(
            first.minimal_action_set() if minimal_actions else range(first.num_actions()), dtype=np.int64
        )
        super().__init__(n, (C, H, W), len(self.action_map), (H, W, C), bool, max_steps)
        self._colors = palette(C)
        self._actions = self.action_map.tolist()

    def _reset_one(self, i: int, seed: int | None) -> np.ndarray:
        env = self.envs[i]
        if seed is not None:
            env.seed(seed)
            env.last_action = 0
        env.reset()
        return env.state()

    def _step_one(self, i: int, action: int) -> tuple[np.ndarray, float, bool, bool]:
        env = self.envs[i]
        reward, terminal = env.act(self._actions[action])
        return env.state(), float(reward), bool(terminal), False

    def _encode(self, raw: np.ndarray, out: np.ndarray) -> None:
        np.multiply(raw.transpose(0, 3, 1, 2), np.uint8(255), out=out, casting="unsafe")

    def render(self, copies: np.ndarray | None = None) -> np.ndarray:
        """RGB ``(k, 10, 10, 3)`` of ``copies`` (default: all): each cell in the colour of its last
        active channel, black if none."""
        return colorize(self._observations(copies), self._colors)
