"""Count-based exploration bonus (``agent.explore_bonus``): reward for reaching rarely seen observations.

Reaching an observation seen ``n`` times so far in the run (this visit included) adds
``beta / sqrt(n)`` to the reward the learner learns from (the count-based bonus of Strehl & Littman
2008, with observations counted exactly as in #Exploration, Tang et al. 2017, whose hash is exact on
small discrete views). Episode returns, evaluations and every logged score stay the game's own.

Where the view shows what matters for progress (MiniGrid: a carried key sits in the agent's cell, an
open door looks open) the rare observations are the ones further along the task, so the bonus pulls
the agent through sparse, sequential rewards that epsilon-greedy rarely sees. It costs one integer
projection of the batch and one dictionary update per game per step.

With ``episodic`` (``agent.explore_episodic``) an observation earns its bonus only on its first visit in
an episode (NovelD's episodic restriction, Zhang et al. 2021): walking back and forth between two rare
views earns nothing more, so the bonus pays for reaching new views in this episode, not for farming
old ones, which matters in procedurally generated tasks where every episode has a new layout.

Observations are keyed by a fixed random linear hash mod 2^64 of their bytes (two observations
collide with probability about 2^-64); the counts are part of a checkpoint, so a resumed run counts on.
"""

from __future__ import annotations

import math

import numpy as np
import torch

_HASH_SEED = 0x5EED_C0DE


class CountBonus:
    """``beta / sqrt(n)`` per observation reached, ``n`` its visits so far (see the module docstring).

    Args:
        beta: the bonus of a first visit (``agent.explore_bonus``), in game-reward units (before
            ``agent.reward.scale``).
        obs_shape: ``(C, H, W)`` of the uint8 observations.
        n_games: games stepped together (rows of every batch).
        episodic: a bonus only on the first visit of an observation in its game's episode.
    """

    def __init__(self, beta: float, obs_shape: tuple[int, ...], n_games: int, episodic: bool = False) -> None:
        self.beta = float(beta)
        self.episodic = episodic
        self.seen: list[set[int]] = [set() for _ in range(n_games)]  # per game: keys met this episode
        size = math.prod(obs_shape)
        rng = np.random.default_rng(_HASH_SEED)
        self._weights = rng.integers(0, 2**62, size, dtype=np.int64) * 2 + 1  # odd multipliers
        self.counts: dict[int, int] = {}

    def keys(self, obs: np.ndarray) -> np.ndarray:
        """The int64 hash of each observation of the batch ``obs`` ``(m, C, H, W)``."""
        with np.errstate(over="ignore"):  # wraps mod 2^64 by design
            return obs.reshape(len(obs), -1).astype(np.int64) @ self._weights

    def __call__(self, obs: np.ndarray, done: np.ndarray | None = None) -> np.ndarray:
        """Count a visit to each observation of ``obs`` (row ``i`` reached by game ``i``) and return their
        bonuses, float32 ``(m,)``. ``done`` (bool ``(m,)``): the games whose episodes ended with this
        observation (their episodic memories are cleared after it)."""
        counts = self.counts
        keys = self.keys(obs).tolist()
        n = np.empty(len(obs), dtype=np.float64)
        for i, key in enumerate(keys):
            c = counts.get(key, 0) + 1
            counts[key] = c
            n[i] = c
        bonus = self.beta / np.sqrt(n)
        if self.episodic:
            for i, key in enumerate(keys):
                seen = self.seen[i]
                if key in seen:
                    bonus[i] = 0.0
                else:
                    seen.add(key)
            if done is not None:
                for i in np.flatnonzero(done).tolist():
                    self.seen[i] = set()
        return bonus.astype(np.float32)

    def new_episodes(self) -> None:
        """Every game starts a new episode (a resumed external env): forget what the episodes met."""
        self.seen = [set() for _ in self.seen]

    def state_dict(self) -> dict[str, torch.Tensor]:
        keys = np.fromiter(self.counts.keys(), dtype=np.int64, count=len(self.counts))
        counts = np.fromiter(self.counts.values(), dtype=np.int64, count=len(self.counts))
        state = {"keys": torch.from_numpy(keys), "counts": torch.from_numpy(counts)}
        if self.episodic:  # the episodes' memories: (game, key) pairs
            games = [i for i, s in enumerate(self.seen) for _ in s]
            met = [k for s in self.seen for k in s]
            state["seen_games"] = torch.tensor(games, dtype=torch.int64)
            state["seen_keys"] = torch.tensor(met, dtype=torch.int64)
        return state

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.counts = dict(zip(state["keys"].tolist(), state["counts"].tolist(), strict=True))
        self.new_episodes()
        if "seen_games" in state:
            for i, key in zip(state["seen_games"].tolist(), state["seen_keys"].tolist(), strict=True):
                self.seen[i].add(key)
