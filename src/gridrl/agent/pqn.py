"""Parallel Q-learning without replay (PQN-style) with Q(lambda) targets.

Many games are stepped together; every ``rollout_steps`` steps the rollout (n_envs x rollout_steps
transitions) is turned into Q(lambda) targets, computed backwards with the Q-values seen while acting,
and trained on for ``epochs`` x ``minibatches`` gradient steps. No replay buffer, no target network.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np
import torch

from gridrl.agent.common import (
    Learner,
    Segment,
    explore,
    rng_state,
    set_rng_state,
    td_loss,
    transform_reward,
)
from gridrl.config import PQNConfig


def q_lambda_targets(
    rewards: torch.Tensor,
    terminated: torch.Tensor,
    truncated: torch.Tensor,
    next_q: torch.Tensor,
    final_q: torch.Tensor,
    gamma: float,
    lam: float,
) -> torch.Tensor:
    """Peng's Q(lambda) returns of a rollout, tensors shaped (T, N) on any device.

    ``next_q[t]`` is max_a Q(s_{t+1}) (after an auto-reset this is a new episode's state and is ignored),
    ``final_q[t]`` is max_a Q of the true final state where step t was truncated. Terminated steps do not
    bootstrap; truncated steps bootstrap from ``final_q``; otherwise
    ``G_t = r_t + gamma * ((1 - lam) * next_q[t] + lam * G_{t+1})`` with ``G_T = next_q[T-1]``.
    lam = 0 gives one-step targets, lam = 1 Monte Carlo returns bootstrapped at the rollout's end.
    """
    T = rewards.shape[0]
    # G_t = base_t + coef_t * G_{t+1}: everything but the recursion computed for the whole rollout at once
    base = torch.where(
        terminated,
        rewards,
        torch.where(truncated, rewards + gamma * final_q, rewards + (gamma * (1.0 - lam)) * next_q),
    ).float()
    coef = (~(terminated | truncated)).float().mul_(gamma * lam)
    out = torch.empty_like(base)
    g = next_q[T - 1].float()  # G_T: with it, G_{T-1} = r + gamma * next_q[T-1]
    for t in range(T - 1, -1, -1):
        g = torch.addcmul(base[t], coef[t], g, out=out[t])
    return out


class PQNLearner(Learner):
    """The rollout lives on the learner's device: per step, one host-to-device copy of the frames (shared
    with acting) and one device-to-host copy of the actions. Rewards, episode ends, actions and the final
    frames of truncated games stay on the host until the rollout is complete; the final frames are then
    evaluated in the same forward pass as the bootstrap frames (one pass per rollout, not one per step
    with a timeout)."""

    cfg: PQNConfig

    def __init__(
        self,
        cfg: PQNConfig,
        online: torch.nn.Module,
        obs_shape: tuple[int, ...],
        total_steps: int,
        device: torch.device,
        seed: int,
        precision: str = "fp32",
    ) -> None:
        self.cfg = cfg
        self.online = online.to(device).eval()  # train mode only inside gradient steps (dropout)
        self.device = device
        self.precision = precision
        self.schedule = Segment(0, total_steps, cfg.lr)
        self.optimizer = torch.optim.Adam(self.online.parameters(), lr=cfg.lr, eps=cfg.adam_eps, fused=True)
        self.rng = np.random.default_rng([seed, 1])
        T, N = cfg.rollout_steps, cfg.n_envs

        def zeros(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
            return torch.zeros(shape, dtype=dtype, device=device)

        self.obs = zeros(T, N, *obs_shape, dtype=torch.uint8)
        # what the game hands over stays on the host (written through numpy views, one device copy per
        # rollout in update); the Q-values are the device's
        self.actions = torch.zeros(T, N, dtype=torch.int64)
        self.rewards = torch.zeros(T, N)
        self.terminated = torch.zeros(T, N, dtype=torch.bool)
        self.truncated = torch.zeros(T, N, dtype=torch.bool)
        self._host = {k: getattr(self, k).numpy() for k in ("actions", "rewards", "terminated", "truncated")}
        self.q_max = zeros(T, N)  # max Q(s_t) seen while acting
        self.final_q = zeros(T, N)  # max Q(final state) of truncated steps
        self._final_obs = np.zeros((T, N, *obs_shape), dtype=np.uint8)  # their final frames, host side
        self._pending = np.zeros((T, N), dtype=bool)  # final frames not yet evaluated (in final_q)
        self.next_obs = zeros(N, *obs_shape, dtype=torch.uint8)
        self.t = 0  # steps in the current rollout
        self.updates = 0
        self._pending_qmax: torch.Tensor | None = None

    # ---------------------------------------------------------------------------------------- acting
    def act(self, obs: np.ndarray, epsilon: float) -> np.ndarray:
        q = self.acting_q_values(obs)
        self._pending_qmax, greedy = q.max(1)  # one pass for the bootstrap value and the greedy action
        return explore(greedy.cpu().numpy(), q.shape[1], epsilon, self.rng)

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
        t, host = self.t, self._host
        assert self._pending_qmax is not None, "act() must precede observe()"
        self.obs[t] = self.obs_tensor(obs)
        host["actions"][t] = actions
        host["rewards"][t] = transform_reward(rewards, self.cfg.reward)
        host["terminated"][t] = terminated
        host["truncated"][t] = truncated
        self.q_max[t] = self._pending_qmax
        if t == 0:
            self.final_q.zero_()
            self._pending[:] = False
        if truncated.any():  # evaluated in update, with the bootstrap frames
            idx = np.flatnonzero(truncated)
            self._final_obs[t, idx] = final_obs[idx]
            self._pending[t, idx] = True
        if next_obs is not None and t == self.cfg.rollout_steps - 1:  # only the last one bootstraps
            self.next_obs.copy_(torch.as_tensor(next_obs))
        self.t += 1

    def cut_episodes(self, final_obs: np.ndarray) -> None:
        """The rollout's last step becomes a timeout of every game still running, bootstrapping from
        ``final_obs`` (nothing to do at a rollout's start: the last rollout was learned from)."""
        if self.t == 0:
            return
        t, dev = self.t - 1, self.device
        cut = ~(self.terminated[t] | self.truncated[t])  # host tensors
        self.final_q[t] = torch.where(cut.to(dev), self.q_values(final_obs).max(1).values, self.final_q[t])
        self.truncated[t] |= cut
        self.next_obs.copy_(torch.as_tensor(final_obs, device=dev))

    # -------------------------------------------------------------------------------------- learning
    def update(self, env_step: int) -> dict[str, float] | None:
        cfg = self.cfg
        if self.t < cfg.rollout_steps:
            return None
        dev = self.device
        last_q = self._bootstrap()
        next_q = torch.cat([self.q_max[1:], last_q[None]], dim=0)
        rewards, terminated, truncated, actions = (
            getattr(self, k).to(dev, non_blocking=True)
            for k in ("rewards", "terminated", "truncated", "actions")
        )
        targets = q_lambda_targets(
            rewards, terminated, truncated, next_q, self.final_q, cfg.gamma, cfg.q_lambda
        )
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr_at(env_step)

        T, N = self.rewards.shape
        flat_obs = self.obs.reshape(T * N, *self.obs.shape[2:])
        flat_act = actions.reshape(-1)
        flat_tgt = targets.reshape(-1)
        pick = torch.index_select  # rows by index (advanced indexing takes a 15x slower path here)
        losses, qs = [], []
        self.online.train()
        for _ in range(cfg.epochs):
            perm = self.rng.permutation(T * N)
            for mb in np.array_split(perm, cfg.minibatches):
                idx = torch.as_tensor(mb, device=self.device)
                loss, q_mean = self.gradient_step(
                    pick(flat_obs, 0, idx), pick(flat_act, 0, idx), pick(flat_tgt, 0, idx)
                )
                losses.append(loss)
                qs.append(q_mean)
        self.online.eval()
        self.t = 0
        return {"td_loss": float(torch.stack(losses).mean()), "q_values": float(torch.stack(qs).mean())}

    def _bootstrap(self) -> torch.Tensor:
        """max_a Q of the frames after the rollout (returned) and of the final frames of its truncated
        games (into ``final_q``), in one forward pass."""
        n = self.next_obs.shape[0]
        tt, gg = np.nonzero(self._pending)
        frames = self.next_obs
        if len(tt):
            finals = torch.from_numpy(self._final_obs[tt, gg]).to(self.device)
            frames = torch.cat([self.next_obs, finals])
        q = self.q_values(frames).max(1).values
        if len(tt):
            self.final_q[torch.as_tensor(tt, device=self.device), torch.as_tensor(gg, device=self.device)] = (
                q[n:]
            )
            self._pending[:] = False
        return q[:n]

    def gradient_step(
        self, obs: torch.Tensor, actions: torch.Tensor, targets: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One minibatch: forward, TD loss, backward, clip, Adam. Returns the loss and the mean Q-value."""
        cfg = self.cfg
        with self.autocast():
            q_all = self.online(obs)
        q = q_all.float().gather(1, actions[:, None]).squeeze(1)
        loss = td_loss(q, targets, cfg.loss)
        self.optimize(loss, cfg.max_grad_norm)
        return loss.detach(), q.detach().mean()

    # ------------------------------------------------------------------------------------ checkpoint
    _ROLLOUT = ("actions", "rewards", "terminated", "truncated", "q_max", "final_q")

    def state_dict(self, with_replay: bool = True) -> dict[str, Any]:  # no replay: nothing to leave out
        return {
            "online": self.online.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "rng": rng_state(self.rng),
            "updates": self.updates,
            "schedule": asdict(self.schedule),
            "t": self.t,
            "rollout": {
                "obs": self.obs.cpu(),
                "next_obs": self.next_obs.cpu(),
                **{k: getattr(self, k).cpu() for k in self._ROLLOUT},
                "pending": torch.from_numpy(self._pending.copy()),
                "pending_frames": torch.from_numpy(self._final_obs[self._pending]),
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.online.load_state_dict(state["online"])
        self.optimizer.load_state_dict(state["optimizer"])
        set_rng_state(self.rng, state["rng"])
        self.updates = int(state["updates"])
        if "schedule" in state:  # (checkpoints of earlier versions: the Trainer sets it)
            self.schedule = Segment(**state["schedule"])
        self.t = int(state["t"])
        roll = state["rollout"]
        self.obs.copy_(roll["obs"])
        self.next_obs.copy_(roll["next_obs"])
        for k in self._ROLLOUT:
            getattr(self, k).copy_(roll[k])
        self._pending[:] = False  # checkpoints from before this field hold every final_q already
        if "pending" in roll:
            self._pending[:] = roll["pending"].numpy()
            self._final_obs[self._pending] = roll["pending_frames"].numpy()
