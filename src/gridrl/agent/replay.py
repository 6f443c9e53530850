"""Replay memory for N games stepped together, each frame stored once.

Layout: a ring of ``slots = capacity // n_envs`` time steps for every game, ``obs[slot, game]`` being
the observation the action was taken in. The next observation of a transition is ``obs[slot + 1]`` of
the same game, unless the episode ended there: terminated transitions need none, truncated ones
(timeouts, which bootstrap) keep their true final frame in a small side ring sized for the most
timeouts the window can hold (``slots // max_steps + 2`` per game, ~1 % extra for 200-step episodes).
Append is one vectorised write per step; sampling is uniform (or proportional to priorities) over
the transitions whose n-step successors are stored. n-step returns stop at episode ends.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


class ReplayBuffer:
    def __init__(
        self,
        capacity: int,
        n_envs: int,
        obs_shape: tuple[int, ...],
        n_step: int,
        gamma: float,
        max_episode_steps: int,
        prioritized: bool = False,
        alpha: float = 0.6,
    ) -> None:
        self.slots = capacity // n_envs
        if self.slots <= n_step + 1:
            raise ValueError(f"capacity {capacity} too small for {n_envs} games and n_step {n_step}")
        self.n_envs, self.n_step, self.gamma = n_envs, n_step, gamma
        S, N = self.slots, n_envs
        self.obs = np.zeros((S, N, *obs_shape), dtype=np.uint8)
        self.actions = np.zeros((S, N), dtype=np.int64)
        self.rewards = np.zeros((S, N), dtype=np.float32)
        self.terminated = np.zeros((S, N), dtype=bool)
        self.truncated = np.zeros((S, N), dtype=bool)
        self.final_slot = np.zeros(
            (S, N), dtype=np.int64
        )  # side-ring index of a truncated step's final frame
        self.final_size = S // max(1, max_episode_steps) + 2
        self.final_obs = np.zeros((self.final_size, N, *obs_shape), dtype=np.uint8)
        self.final_ptr = np.zeros(N, dtype=np.int64)
        self.pos = 0  # next slot to write
        self.size = 0  # slots written (<= slots)
        self.prioritized, self.alpha = prioritized, alpha
        self.priorities = np.zeros((S, N), dtype=np.float64) if prioritized else None
        self.max_priority = 1.0

    def __len__(self) -> int:
        return self.size * self.n_envs

    @property
    def nbytes(self) -> int:
        arrays = [
            self.obs,
            self.actions,
            self.rewards,
            self.terminated,
            self.truncated,
            self.final_slot,
            self.final_obs,
        ]
        return sum(a.nbytes for a in arrays) + (self.priorities.nbytes if self.priorities is not None else 0)

    def add(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        final_obs: np.ndarray,
    ) -> None:
        p = self.pos
        self.obs[p] = obs
        self.actions[p] = actions
        self.rewards[p] = rewards
        self.terminated[p] = terminated
        self.truncated[p] = truncated
        if truncated.any():
            games = np.flatnonzero(truncated)
            slot = self.final_ptr[games]
            self.final_obs[slot, games] = final_obs[games]
            self.final_slot[p, games] = slot
            self.final_ptr[games] = (slot + 1) % self.final_size
        if self.priorities is not None:
            self.priorities[p] = self.max_priority
        self.pos = (p + 1) % self.slots
        self.size = min(self.size + 1, self.slots)

    def _valid_ages(self) -> int:
        """Transitions with age in [n_step, size - 1] (age 0 = the newest slot) have their successors."""
        return max(0, self.size - self.n_step)

    def can_sample(self) -> bool:
        return self._valid_ages() > 0

    def sample(self, batch_size: int, rng: np.random.Generator, beta: float = 0.4) -> dict[str, Any]:
        n_valid = self._valid_ages()
        if self.priorities is None:
            age = rng.integers(self.n_step, self.n_step + n_valid, batch_size)
            game = rng.integers(0, self.n_envs, batch_size)
            slot = (self.pos - 1 - age) % self.slots
            weights = np.ones(batch_size, dtype=np.float32)
        else:
            ages = np.arange(self.n_step, self.n_step + n_valid)
            slots = (self.pos - 1 - ages) % self.slots
            pri = self.priorities[slots] ** self.alpha  # (n_valid, N)
            cdf = np.cumsum(pri.ravel())
            pick = np.searchsorted(cdf, rng.random(batch_size) * cdf[-1], side="right")
            pick = np.minimum(pick, cdf.size - 1)
            slot, game = slots[pick // self.n_envs], pick % self.n_envs
            prob = pri.ravel()[pick] / cdf[-1]
            w = (cdf.size * prob) ** (-beta)
            weights = (w / w.max()).astype(np.float32)
        return self._gather(slot, game, weights)

    def _gather(self, slot: np.ndarray, game: np.ndarray, weights: np.ndarray) -> dict[str, Any]:
        """n-step return, bootstrap frame and discount for each sampled (slot, game)."""
        B = len(slot)
        ret = np.zeros(B, dtype=np.float32)
        discount = np.ones(B, dtype=np.float32)  # gamma^k for the bootstrap, 0 where terminated
        alive = np.ones(B, dtype=bool)
        ended_at = np.full(B, -1, dtype=np.int64)  # slot of the truncated step that ended the window
        for k in range(self.n_step):
            s = (slot + k) % self.slots
            ret += np.where(alive, discount * self.rewards[s, game], 0.0).astype(np.float32)
            discount = np.where(alive, discount * self.gamma, discount).astype(np.float32)
            term, trunc = self.terminated[s, game] & alive, self.truncated[s, game] & alive
            discount[term] = 0.0
            ended_at[trunc] = s[trunc]
            alive &= ~(term | trunc)
        next_slot = (slot + self.n_step) % self.slots
        next_obs = self.obs[next_slot, game]
        trunc_rows = np.flatnonzero(ended_at >= 0)
        if len(trunc_rows):
            g = game[trunc_rows]
            next_obs[trunc_rows] = self.final_obs[self.final_slot[ended_at[trunc_rows], g], g]
        return {
            "obs": self.obs[slot, game],
            "actions": self.actions[slot, game],
            "returns": ret,
            "next_obs": next_obs,
            "discount": discount,
            "weights": weights,
            "slot": slot,
            "game": game,
        }

    def update_priorities(self, slot: np.ndarray, game: np.ndarray, td: np.ndarray, eps: float) -> None:
        assert self.priorities is not None
        pri = np.abs(td) + eps
        self.priorities[slot, game] = pri
        self.max_priority = max(self.max_priority, float(pri.max()))

    # ------------------------------------------------------------------------------------ checkpoint
    _ARRAYS = ("obs", "actions", "rewards", "terminated", "truncated", "final_slot", "final_obs", "final_ptr")

    def state_dict(self) -> dict[str, Any]:
        """Tensors share memory with the arrays (no copy: saving does not double peak memory)."""
        state: dict[str, Any] = {k: torch.from_numpy(getattr(self, k)) for k in self._ARRAYS}
        if self.priorities is not None:
            state["priorities"] = torch.from_numpy(self.priorities)
        state.update(pos=self.pos, size=self.size, max_priority=self.max_priority)
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for k in self._ARRAYS:
            getattr(self, k)[:] = state[k].numpy()
        if self.priorities is not None:
            self.priorities[:] = state["priorities"].numpy()
        self.pos, self.size = int(state["pos"]), int(state["size"])
        self.max_priority = float(state["max_priority"])
