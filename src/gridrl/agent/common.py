"""Pieces shared by the learners: reward transforms, schedules, losses, RNG state capture."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from gridrl.config import AgentConfig, EpsilonConfig, RewardConfig


def precision_autocast(device: torch.device, precision: str) -> torch.autocast:
    """The context of a forward pass at ``precision`` (fp32 | bf16): bfloat16 autocast when bf16."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def transform_reward(r: np.ndarray, cfg: RewardConfig) -> np.ndarray:
    """Scale, then clip, then symlog (in that order). Returns float32."""
    out = np.asarray(r, dtype=np.float32) * np.float32(cfg.scale)
    if cfg.clip == "auto":
        raise ValueError("reward.clip=auto is decided with the game: build the config with to_config")
    if cfg.clip == "true":
        out = np.clip(out, cfg.clip_low, cfg.clip_high)
    if cfg.symlog:
        out = np.sign(out) * np.log1p(np.abs(out))
    return out.astype(np.float32, copy=False)


def epsilon_at(step: int, cfg: EpsilonConfig) -> float:
    """Exploration rate after ``step`` env steps."""
    if cfg.schedule == "linear":
        frac = min(1.0, step / cfg.decay_steps)
        return cfg.start + frac * (cfg.end - cfg.start)
    return cfg.end + (cfg.start - cfg.end) * math.exp(-step / cfg.decay_steps)


@dataclass
class Segment:
    """Where the budget-bound schedules (the annealed learning rate, PER's beta) stand: they go linearly
    from their values at env step ``start`` to their ends (lr 0, beta 1) at env step ``end``, the budget.
    A fresh run has one segment from step 0 with the configured values. A run resumed with another
    ``trainer.total_steps`` starts a new segment at the resume point with the values reached there, so
    nothing jumps; resumed with the same budget it keeps its segment, so the numbers stay identical."""

    start: int  # env step where the segment began (0, or the resume point that changed the budget)
    end: int  # env step where the annealed values reach their ends (trainer.total_steps)
    lr: float  # learning rate at ``start`` (with agent.lr_anneal; otherwise agent.lr throughout)
    per_beta: float = 1.0  # prioritized replay's importance-sampling exponent at ``start``

    def progress(self, step: int) -> float:
        """0 at ``start``, 1 from ``end`` on."""
        return min(1.0, (step - self.start) / max(1, self.end - self.start))

    def lr_at(self, step: int, cfg: AgentConfig) -> float:
        """The learning rate after ``step`` env steps."""
        if not cfg.lr_anneal:
            return cfg.lr
        return self.lr * max(0.0, 1.0 - (step - self.start) / max(1, self.end - self.start))

    def per_beta_at(self, step: int) -> float:
        return self.per_beta + (1.0 - self.per_beta) * self.progress(step)

    def rebased(self, step: int, end: int, cfg: AgentConfig) -> Segment:
        """The segment that continues this one from ``step`` to a new ``end``: same values at ``step``."""
        if end == self.end:
            return self
        return Segment(step, end, self.lr_at(step, cfg), self.per_beta_at(step))


def lr_at(step: int, total_steps: int, cfg: AgentConfig) -> float:
    """The learning rate after ``step`` env steps of a run of ``total_steps`` (its first segment)."""
    return Segment(0, total_steps, cfg.lr).lr_at(step, cfg)


def td_loss(
    pred: torch.Tensor, target: torch.Tensor, kind: str, weights: torch.Tensor | None = None
) -> torch.Tensor:
    if kind == "huber":
        per = nn.functional.smooth_l1_loss(pred, target, reduction="none")
    else:
        per = 0.5 * (pred - target).pow(2)
    if weights is not None:
        per = per * weights
    return per.mean()


def epsilon_greedy(q: torch.Tensor, epsilon: float, rng: np.random.Generator) -> np.ndarray:
    """Greedy actions from Q-values, each replaced by a uniform random action with probability epsilon.
    Draws the same random numbers whatever epsilon is (so schedules do not shift the stream)."""
    return explore(q.argmax(dim=1).cpu().numpy(), q.shape[1], epsilon, rng)


def explore(greedy: np.ndarray, n_actions: int, epsilon: float, rng: np.random.Generator) -> np.ndarray:
    """:func:`epsilon_greedy` given the greedy actions (the same random numbers)."""
    n = len(greedy)
    explore = rng.random(n) < epsilon
    random = rng.integers(0, n_actions, n)
    return np.where(explore, random, greedy)


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    return dict(rng.bit_generator.state)


def set_rng_state(rng: np.random.Generator, state: dict[str, Any]) -> None:
    rng.bit_generator.state = state


class Learner:
    """The interface the Trainer drives; both learners implement it.

    ``act`` returns epsilon-greedy actions for a batch of observations; ``observe`` hands over the
    step's outcome (raw game rewards; the learner transforms them); ``update`` does whatever learning
    is due and returns scalars to log (or None); ``state_dict`` holds everything a resume needs.
    """

    cfg: AgentConfig
    online: nn.Module
    optimizer: torch.optim.Optimizer
    updates: int
    schedule: Segment  # where the annealed learning rate (and PER's beta) stand; saved in state_dict()
    device: torch.device
    precision: str = "fp32"  # fp32 | bf16 (autocast of the network's passes)
    _acted: tuple[np.ndarray, torch.Tensor] | None = None  # the last batch act() moved to the device

    def act(self, obs: np.ndarray, epsilon: float) -> np.ndarray:
        raise NotImplementedError

    def lr_at(self, env_step: int) -> float:
        """The learning rate of an update after ``env_step`` env steps."""
        return self.schedule.lr_at(env_step, self.cfg)

    def set_budget(self, env_step: int, total_steps: int) -> None:
        """A resumed run's budget: a new one continues the schedules from their values at ``env_step``."""
        self.schedule = self.schedule.rebased(env_step, total_steps, self.cfg)

    def init_weights(self, online: dict[str, torch.Tensor]) -> None:
        """Start from trained network weights (``init_from``): the online network only, nothing else."""
        self.online.load_state_dict(online)

    def autocast(self) -> torch.autocast:
        """The context of every forward pass: bfloat16 autocast when ``precision`` is bf16."""
        return precision_autocast(self.device, self.precision)

    def q_values(self, obs: np.ndarray | torch.Tensor) -> torch.Tensor:
        """Q-values (float32, no gradient) of a batch of uint8 observations, on the learner's device."""
        with torch.no_grad(), self.autocast():
            return self.online(torch.as_tensor(obs, device=self.device)).float()

    def acting_q_values(self, obs: np.ndarray) -> torch.Tensor:
        """:meth:`q_values` for acting: remembers the device copy of ``obs`` so that ``observe`` of the
        same batch stores it without a second host-to-device copy."""
        x = torch.as_tensor(obs, device=self.device)
        self._acted = (obs, x)
        return self.q_values(x)

    def obs_tensor(self, obs: np.ndarray | torch.Tensor) -> torch.Tensor:
        """``obs`` on the learner's device (the copy ``act`` made when it is the batch just acted on)."""
        if self._acted is not None and self._acted[0] is obs:
            return self._acted[1]
        return torch.as_tensor(obs, device=self.device)

    def greedy(self, obs: np.ndarray) -> np.ndarray:
        return self.q_values(obs).argmax(1).cpu().numpy()

    def optimize(self, loss: torch.Tensor, max_grad_norm: float) -> None:
        """One gradient step on ``loss``: backward, the global-norm clip (0 = off), the optimizer's step."""
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(self.online.parameters(), max_grad_norm)
        self.optimizer.step()
        self.updates += 1

    def observe(
        self,
        obs: np.ndarray,
        actions: np.ndarray,
        rewards: np.ndarray,
        terminated: np.ndarray,
        truncated: np.ndarray,
        final_obs: np.ndarray,
        next_obs: np.ndarray | None = None,
    ) -> None:
        raise NotImplementedError

    def update(self, env_step: int) -> dict[str, float] | None:
        raise NotImplementedError

    def cut_episodes(self, final_obs: np.ndarray) -> None:
        """Every game's episode stops after the last observed step (a resumed run restarts an env whose
        state could not be saved): that step bootstraps from ``final_obs``, as a timeout would."""
        raise NotImplementedError

    def state_dict(self, with_replay: bool = True) -> dict[str, Any]:
        """Everything a resume needs; ``with_replay=False`` leaves out a replay buffer if there is one."""
        raise NotImplementedError

    def load_state_dict(self, state: dict[str, Any]) -> None:
        raise NotImplementedError
