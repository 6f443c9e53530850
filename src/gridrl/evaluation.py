"""Greedy evaluation on a fixed set of layouts, scored against the oracle.

The layouts are drawn once from ``eval_seed`` (independent of the training seed), so every evaluation
of every run with the same game sees the same games. Each game plays exactly one episode.

Loop stop: on a static game (nothing moves, no slip) a greedy policy (epsilon 0) is a function of the
observation, which is a function of the player's cell and the food left. If the player revisits a cell
with the same food left, it is in a loop it can never leave: the game is stopped there and booked as the
timeout it would have become (its return so far plus ``move_reward`` for every remaining step).

Recording: ``run(policy, record=K)`` also keeps, in the same batched play, the RGB frames of the first K
games at every step (:class:`Recording`), so a video shows exactly the games the evaluator scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from gridrl.config import EnvConfig
from gridrl.game.grid import OUTCOME_ENEMY, OUTCOME_FOOD, OUTCOME_TIMEOUT, GridGame
from gridrl.game.oracle import oracle_returns
from gridrl.game.render import ViewedGame

Policy = Callable[[np.ndarray], np.ndarray]


@dataclass
class Recording:
    """The first K games of an evaluation, step by step, as the evaluator played and booked them.

    Row ``t`` of ``frames`` / ``returns`` is the state after step ``t`` (row 0: before the first step).
    Game ``k`` is on screen for rows ``0 .. lengths[k]``: its last row is its final state (the food
    eaten, the enemy touched, the timeout, or the step where the loop stop fired). Later rows of a game
    are meaningless.
    """

    frames: np.ndarray  # (T + 1, K, 3, H, W) uint8 RGB frames in the game's colours
    returns: np.ndarray  # (T + 1, K) return so far at each row
    lengths: np.ndarray  # (K,) steps on screen (a loop-stopped game: the step it was stopped at)
    outcomes: np.ndarray  # (K,) the evaluator's outcome: 1 food, 2 enemy, 3 timeout
    booked_returns: np.ndarray  # (K,) the evaluator's returns (a loop stop books the whole timeout)
    loop_stopped: np.ndarray  # (K,) bool: stopped by the loop rule
    max_steps: int


@dataclass
class EvalResult:
    returns: np.ndarray  # (episodes,) returns in the game's own units
    lengths: np.ndarray  # (episodes,) steps (a loop-stopped game counts max_steps)
    outcomes: np.ndarray  # (episodes,) 1 food, 2 enemy, 3 timeout
    loop_stopped: np.ndarray  # (episodes,) bool: stopped by the loop rule
    oracle: np.ndarray  # (episodes,) the oracle's return on each layout
    recording: Recording | None = None  # the first games step by step (``Evaluator.run(record=K)``)

    def summary(self) -> dict[str, float]:
        oracle_mean = float(self.oracle.mean())
        mean = float(self.returns.mean())
        return {
            "episodes": int(len(self.returns)),
            "mean_return": mean,
            "std_return": float(self.returns.std()),
            "min_return": float(self.returns.min()),
            "max_return": float(self.returns.max()),
            "mean_length": float(self.lengths.mean()),
            "food_rate": float((self.outcomes == OUTCOME_FOOD).mean()),
            "enemy_rate": float((self.outcomes == OUTCOME_ENEMY).mean()),
            "timeout_rate": float((self.outcomes == OUTCOME_TIMEOUT).mean()),
            "loop_stop_rate": float(self.loop_stopped.mean()),
            "oracle_mean_return": oracle_mean,
            # share of the oracle's mean return (1.0 = optimal); undefined when the oracle scores <= 0
            "oracle_ratio": mean / oracle_mean if oracle_mean > 0 else float("nan"),
        }


class Evaluator:
    def __init__(self, cfg: EnvConfig, episodes: int, seed: int) -> None:
        self.cfg, self.episodes, self.seed = cfg, episodes, seed
        game = GridGame(cfg, episodes)
        game.reset(seed)
        self.layouts = game.get_state()
        self._oracle: np.ndarray | None = None

    def layout_frames(self, k: int) -> np.ndarray:
        """RGB pictures (k, 3, H, W) uint8 of the first ``k`` evaluation layouts."""
        k = min(k, self.episodes)
        game = GridGame(self.cfg, k)
        game.set_state({key: v[:k] for key, v in self.layouts.items()})
        return game.render_obs("rgb")

    @property
    def oracle(self) -> np.ndarray:
        if self._oracle is None:
            self._oracle = oracle_returns(self.cfg, self.layouts, seed=self.seed)
        return self._oracle

    def run(
        self,
        policy: Policy,
        epsilon: float = 0.0,
        rng: np.random.Generator | None = None,
        loop_stop: bool = True,
        record: int = 0,
    ) -> EvalResult:
        """Play every layout once with ``policy`` (one call per step on all unfinished games).

        ``record`` > 0 also returns the first ``record`` games as a :class:`Recording` (in
        ``EvalResult.recording``); it changes no score.
        """
        cfg, n = self.cfg, self.episodes
        if not 0 <= record <= n:
            raise ValueError(f"record={record}: choose 0 .. episodes ({n})")
        game = ViewedGame(cfg, n) if record else GridGame(cfg, n)
        game.reset(self.seed + 1)  # randomness of moving entities / respawns during evaluation
        obs = game.set_state(self.layouts)
        rng = rng or np.random.default_rng(self.seed + 2)
        stop_loops = loop_stop and epsilon == 0.0 and cfg.is_static and cfg.on_food != "respawn"
        returns = np.zeros(n)
        lengths = np.zeros(n, dtype=np.int64)
        outcomes = np.zeros(n, dtype=np.int64)
        looped = np.zeros(n, dtype=bool)
        active = np.ones(n, dtype=bool)
        visited = np.zeros((n, cfg.height * cfg.width), dtype=bool)
        rows = np.arange(n)
        visited[rows, game.player[:, 1] * cfg.width + game.player[:, 0]] = True
        food_left = game.food_alive.sum(1)
        rec = _Recorder(game, record) if isinstance(game, ViewedGame) else None
        while active.any():
            idx = np.flatnonzero(active)
            actions = np.zeros(n, dtype=np.int64)
            acts = policy(obs[idx])
            if epsilon > 0.0:
                explore = rng.random(len(idx)) < epsilon
                acts = np.where(explore, rng.integers(0, game.n_actions, len(idx)), acts)
            actions[idx] = acts
            obs, _, term, trunc, info = game.step(actions)
            done = (term | trunc) & active
            if done.any():
                d = np.flatnonzero(done)
                returns[d] = info["episode_return"][d]
                lengths[d] = info["episode_length"][d]
                outcomes[d] = info["outcome"][d]
                active &= ~done
            if stop_loops:
                now_left = game.food_alive.sum(1)
                changed = now_left != food_left
                visited[changed] = False
                food_left = now_left
                cell = game.player[:, 1] * cfg.width + game.player[:, 0]
                loop = active & visited[rows, cell]
                visited[rows, cell] = True
                if loop.any():
                    g = np.flatnonzero(loop)
                    returns[g] = game.ep_return[g] + (cfg.max_steps - game.t[g]) * cfg.move_reward
                    lengths[g] = cfg.max_steps
                    outcomes[g] = OUTCOME_TIMEOUT
                    looped[g] = True
                    active &= ~loop
            if rec is not None:
                rec.add(done, active, info)
        recording = rec.result(returns, outcomes, looped) if rec is not None else None
        return EvalResult(returns, lengths, outcomes, looped, self.oracle, recording)


class _Recorder:
    """Collects a :class:`Recording` of the first ``k`` games of a :class:`ViewedGame` during ``run``."""

    def __init__(self, game: ViewedGame, k: int) -> None:
        self.game, self.k = game, k
        self.frames = [game.frames(slice(0, k))]
        self.returns = [np.zeros(k)]
        self.lengths = np.zeros(k, dtype=np.int64)
        self.on = np.ones(k, dtype=bool)  # games still on screen

    def add(self, done: np.ndarray, active: np.ndarray, info: dict[str, np.ndarray]) -> None:
        """After a step: ``done`` games ended this step, ``active`` ones play on (loop stops applied)."""
        if not self.on.any():
            return
        k, game = self.k, self.game
        frames, returns = game.frames(slice(0, k)), game.ep_return[:k].copy()
        ended = done[:k]
        if ended.any():  # auto-reset: their last state is the one the game kept
            frames[ended] = game.final_frames(np.flatnonzero(ended))
            returns[ended] = info["episode_return"][:k][ended]
        self.frames.append(frames)
        self.returns.append(returns)
        off = self.on & ~active[:k]
        self.lengths[off] = len(self.frames) - 1
        self.on &= ~off

    def result(self, returns: np.ndarray, outcomes: np.ndarray, looped: np.ndarray) -> Recording:
        k = self.k
        return Recording(
            np.stack(self.frames),
            np.stack(self.returns),
            self.lengths,
            outcomes[:k].copy(),
            returns[:k].copy(),
            looped[:k].copy(),
            self.game.cfg.max_steps,
        )
