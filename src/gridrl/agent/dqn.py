"""Replay DQN: target network (hard or soft), double DQN, n-step returns, prioritized replay."""

from __future__ import annotations

import copy
import logging
from dataclasses import asdict
from typing import Any

import numpy as np
import torch

from gridrl.agent.common import (
    Learner,
    Segment,
    epsilon_greedy,
    rng_state,
    set_rng_state,
    td_loss,
    transform_reward,
)
from gridrl.agent.replay import ReplayBuffer
from gridrl.config import DQNConfig

log = logging.getLogger(__name__)


def dqn_targets(
    returns: torch.Tensor,
    discount: torch.Tensor,
    next_q_online: torch.Tensor | None,
    next_q_target: torch.Tensor,
) -> torch.Tensor:
    """``returns + discount * Q_target(s', a*)`` where a* is the online argmax (double DQN) or the
    target argmax (``next_q_online`` None). ``discount`` is gamma^k, or 0 where the episode terminated."""
    if next_q_online is not None:
        best = next_q_online.argmax(1, keepdim=True)
        boot = next_q_target.gather(1, best).squeeze(1)
    else:
        boot = next_q_target.max(1).values
    return returns + discount * boot


class DQNLearner(Learner):
    cfg: DQNConfig

    def __init__(
        self,
        cfg: DQNConfig,
        online: torch.nn.Module,
        obs_shape: tuple[int, ...],
        total_steps: int,
        device: torch.device,
        seed: int,
        max_episode_steps: int,
        precision: str = "fp32",
    ) -> None:
        self.cfg = cfg
        self.device = device
        self.precision = precision
        self.schedule = Segment(0, total_steps, cfg.lr, cfg.per_beta)
        self.online = online.to(device).eval()  # train mode only inside gradient steps (dropout)
        self.target = copy.deepcopy(self.online).eval()
        for p in self.target.parameters():
            p.requires_grad_(False)
        self.optimizer = torch.optim.Adam(self.online.parameters(), lr=cfg.lr, eps=cfg.adam_eps, fused=True)
        self.rng = np.random.default_rng([seed, 2])  # epsilon-greedy acting (host)
        # replay sampling: a torch generator on the learner's device (the buffer lives there too)
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(int(np.random.SeedSequence([seed, 3]).generate_state(1, np.uint64)[0]))
        self.replay = ReplayBuffer(
            cfg.buffer_size,
            cfg.n_envs,
            obs_shape,
            cfg.n_step,
            cfg.gamma,
            max_episode_steps,
            cfg.prioritized,
            cfg.per_alpha,
            device=device,
        )
        self.updates = 0
        self.update_credit = 0.0  # fractional updates owed by the replay ratio

    def act(self, obs: np.ndarray, epsilon: float) -> np.ndarray:
        return epsilon_greedy(self.acting_q_values(obs), epsilon, self.rng)

    def observe(
        self,
        obs: np.ndarray | torch.Tensor,
        actions: np.ndarray | torch.Tensor,
        rewards: np.ndarray,
        terminated: np.ndarray | torch.Tensor,
        truncated: np.ndarray | torch.Tensor,
        final_obs: np.ndarray | torch.Tensor,
        next_obs: np.ndarray | torch.Tensor | None = None,
    ) -> None:
        """Numpy arrays or tensors (device tensors are stored without a host round trip; the frames
        ``act`` just moved to the device are reused)."""
        self.replay.add(
            self.obs_tensor(obs),
            actions,
            transform_reward(rewards, self.cfg.reward),
            terminated,
            truncated,
            final_obs,
        )

    def cut_episodes(self, final_obs: np.ndarray) -> None:
        self.replay.truncate_last(torch.as_tensor(final_obs))

    def update(self, env_step: int) -> dict[str, float] | None:
        cfg = self.cfg
        # the warm-up counts what the replay holds (env steps in a fresh run), so that a run resumed
        # from a checkpoint without its replay collects learning_starts transitions again
        if len(self.replay) < min(cfg.learning_starts, self.replay.capacity) or not self.replay.can_sample():
            return None
        self.update_credit += cfg.replay_ratio * cfg.n_envs
        n = int(self.update_credit)
        if n == 0:
            return None
        self.update_credit -= n
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(env_step)
        beta = self.schedule.per_beta_at(env_step)
        losses, qs = [], []
        self.online.train()
        for _ in range(n):
            loss, q = self._gradient_step(beta)
            losses.append(loss)
            qs.append(q)
        self.online.eval()
        return {"td_loss": float(torch.stack(losses).mean()), "q_values": float(torch.stack(qs).mean())}

    def _gradient_step(self, beta: float) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.cfg
        b = self.replay.sample(cfg.batch_size, self.generator, beta)  # tensors on self.device
        with torch.no_grad(), self.autocast():  # bootstrap values in eval mode (no dropout), like acting
            self.online.eval()
            next_target = self.target(b["next_obs"]).float()
            next_online = self.online(b["next_obs"]).float() if cfg.double else None
            self.online.train()
        target = dqn_targets(b["returns"], b["discount"], next_online, next_target)
        with self.autocast():
            q_all = self.online(b["obs"])
        q = q_all.float().gather(1, b["actions"][:, None]).squeeze(1)
        weights = b["weights"] if cfg.prioritized else None
        loss = td_loss(q, target, cfg.loss, weights)
        self.optimize(loss, cfg.max_grad_norm)
        if cfg.prioritized:
            self.replay.update_priorities(b["slot"], b["game"], q.detach() - target, cfg.per_eps)
        self._sync_target()
        return loss.detach(), q.detach().mean()

    def _sync_target(self) -> None:
        """Every ``target_update`` gradient steps: a copy (tau 1) or a soft step toward the online net."""
        if self.updates % self.cfg.target_update != 0:
            return
        if self.cfg.tau < 1.0:
            with torch.no_grad():
                for t, o in zip(self.target.parameters(), self.online.parameters(), strict=True):
                    t.lerp_(o, self.cfg.tau)
        else:
            self.target.load_state_dict(self.online.state_dict())

    def init_weights(self, online: dict[str, torch.Tensor]) -> None:
        """Start from trained weights: the online network and its target copy (nothing else)."""
        super().init_weights(online)
        self.target.load_state_dict(self.online.state_dict())

    # ------------------------------------------------------------------------------------ checkpoint
    def state_dict(self, with_replay: bool = True) -> dict[str, Any]:
        state = {
            "online": self.online.state_dict(),
            "target": self.target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": rng_state(self.rng),
            "replay_generator": self.generator.get_state(),  # a CPU uint8 tensor on every device
            "replay_generator_device": self.generator.device.type,
            "updates": self.updates,
            "update_credit": self.update_credit,
            "schedule": asdict(self.schedule),
        }
        if with_replay:
            state["replay"] = self.replay.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.online.load_state_dict(state["online"])
        self.target.load_state_dict(state["target"])
        self.optimizer.load_state_dict(state["optimizer"])
        set_rng_state(self.rng, state["rng"])
        if state.get("replay_generator_device") == self.generator.device.type:
            self.generator.set_state(state["replay_generator"].cpu())
        else:  # saved on another kind of device (or before the generator existed): keep the seeded one
            log.warning(
                "replay sampling generator not restored (saved for %s, running on %s): the resumed run "
                "samples differently from an uninterrupted one",
                state.get("replay_generator_device", "an older version"),
                self.generator.device.type,
            )
        self.updates = int(state["updates"])
        self.update_credit = float(state["update_credit"])
        if "schedule" in state:  # (checkpoints of earlier versions: the Trainer sets it)
            self.schedule = Segment(**state["schedule"])
        if "replay" in state:
            self.replay.load_state_dict(state["replay"])
        else:
            log.warning(
                "checkpoint without its replay buffer (trainer.save_replay=false): collecting %d transitions "
                "before the next update; the resumed run differs from an uninterrupted one",
                self.cfg.learning_starts,
            )
