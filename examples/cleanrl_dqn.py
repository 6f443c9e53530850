"""DQN on gridrl's grid game in one file, in the style of CleanRL: every step of the algorithm is in
``main``'s loop below (act, store, sample, TD update, target copy), nothing is hidden in a library.

    pip install gridrl            # or, in a checkout: pip install -e .
    python examples/cleanrl_dqn.py --total-timesteps 200000
    python examples/cleanrl_dqn.py --env-preset seed --max-steps 100 --seed 3

The game comes from gymnasium's registry (``import gridrl`` registers ``gridrl/Grid-v0``); its
observation is a uint8 (C, H, W) image, 3x19x19 for the default 10x10 game's player-centred view.
Each finished episode prints one line ``global_step=... episodic_return=... outcome=...`` (returns in
the game's own units: -1 a move, +25 the food, -300 an enemy); the run ends with a greedy evaluation.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import gridrl  # noqa: F401  (registers gridrl/Grid-v0 with gymnasium)


@dataclass
class Args:
    """Every knob of the run; each field is a command-line flag (``total_timesteps`` -> ``--total-timesteps``)."""

    env_preset: str = "default"  # the game: default | seed | sentdex | crowded (gridrl's env presets)
    max_steps: int = 200  # steps before an episode is truncated
    seed: int = 1  # seeds python, numpy, torch, the env and its action space
    total_timesteps: int = 300_000  # env steps of training
    learning_rate: float = 5e-4  # Adam step size
    buffer_size: int = 100_000  # transitions kept in the replay buffer
    gamma: float = 0.95  # discount
    reward_scale: float = 0.04  # rewards are multiplied by this and clipped to [-1, 1] for learning
    target_network_frequency: int = 1_000  # env steps between copies of the online net into the target
    batch_size: int = 64  # transitions per gradient step
    start_e: float = 1.0  # epsilon at the start
    end_e: float = 0.05  # epsilon after the decay
    exploration_fraction: float = 0.5  # fraction of total_timesteps over which epsilon decays linearly
    learning_starts: int = 1_000  # env steps of random play before the first update
    train_frequency: int = 4  # env steps between gradient steps
    eval_episodes: int = 20  # greedy episodes at the end
    device: str = "cpu"  # cpu | cuda | auto (the network is small: the CPU is usually as fast)
    torch_threads: int = 1  # CPU threads of torch (batches of 64 small images: more threads only wait)


def parse_args(argv: list[str] | None = None) -> Args:
    """``Args`` from the command line (one flag per field, the field's default and type)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for f in dataclasses.fields(Args):
        parser.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default)
    return Args(**vars(parser.parse_args(argv)))


class QNetwork(nn.Module):
    """Two stride-2 3x3 convolutions (16 and 32 channels, padded so any image size works), a hidden
    layer of 256 and one Q-value per action. Takes uint8 images, scales them to [0, 1]."""

    def __init__(self, obs_shape: tuple[int, ...], n_actions: int) -> None:
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv2d(obs_shape[0], 16, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        with torch.no_grad():
            n_flat = self.conv(torch.zeros(1, *obs_shape)).shape[1]
        self.head = nn.Sequential(nn.Linear(n_flat, 256), nn.ReLU(), nn.Linear(256, n_actions))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(obs.float() / 255.0))


class ReplayBuffer:
    """A ring buffer of transitions in preallocated numpy arrays (uint8 images)."""

    def __init__(self, capacity: int, obs_shape: tuple[int, ...], rng: np.random.Generator) -> None:
        self.obs = np.zeros((capacity, *obs_shape), dtype=np.uint8)
        self.next_obs = np.zeros((capacity, *obs_shape), dtype=np.uint8)
        self.actions = np.zeros(capacity, dtype=np.int64)
        self.rewards = np.zeros(capacity, dtype=np.float32)
        self.terminated = np.zeros(capacity, dtype=np.float32)  # 1: no bootstrap (a timeout bootstraps)
        self.capacity, self.size, self.pos, self.rng = capacity, 0, 0, rng

    def add(
        self, obs: np.ndarray, next_obs: np.ndarray, action: int, reward: float, terminated: bool
    ) -> None:
        i = self.pos
        self.obs[i], self.next_obs[i], self.actions[i] = obs, next_obs, action
        self.rewards[i], self.terminated[i] = reward, float(terminated)
        self.pos = (self.pos + 1) % self.capacity
        self.size = min(self.size + 1, self.capacity)

    def sample(self, batch_size: int, device: torch.device) -> tuple[torch.Tensor, ...]:
        idx = self.rng.integers(0, self.size, batch_size)
        arrays = (self.obs, self.next_obs, self.actions, self.rewards, self.terminated)
        return tuple(torch.as_tensor(a[idx], device=device) for a in arrays)


def linear_schedule(start: float, end: float, duration: float, t: int) -> float:
    """``start`` at ``t = 0`` to ``end`` at ``t = duration``, then ``end``."""
    return start + min(t / max(duration, 1.0), 1.0) * (end - start)


def evaluate(
    q_network: QNetwork, env: gym.Env, episodes: int, seed: int, device: torch.device
) -> list[float]:
    """Returns of ``episodes`` greedy episodes on the layouts of seeds ``seed, seed + 1, ...``."""
    returns = []
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        done, total = False, 0.0
        while not done:
            with torch.no_grad():
                action = int(q_network(torch.as_tensor(obs[None], device=device)).argmax(1).item())
            obs, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        returns.append(total)
    return returns


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    random.seed(args.seed)
    np.random.seed(args.seed)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.torch_threads)
    rng = np.random.default_rng(args.seed)
    auto = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(auto if args.device == "auto" else args.device)

    env = gym.make("gridrl/Grid-v0", preset=args.env_preset, max_steps=args.max_steps)
    env = gym.wrappers.RecordEpisodeStatistics(env)  # info["episode"] = {"r": return, "l": length}
    env.action_space.seed(args.seed)
    assert isinstance(env.action_space, gym.spaces.Discrete), "DQN needs discrete actions"
    obs_shape = env.observation_space.shape
    n_actions = int(env.action_space.n)

    q_network = QNetwork(obs_shape, n_actions).to(device)
    target_network = QNetwork(obs_shape, n_actions).to(device)
    target_network.load_state_dict(q_network.state_dict())
    optimizer = torch.optim.Adam(q_network.parameters(), lr=args.learning_rate)
    rb = ReplayBuffer(args.buffer_size, obs_shape, rng)
    print(f"game {args.env_preset}: obs {obs_shape}, {n_actions} actions, device {device}")

    start = time.time()
    obs, _ = env.reset(seed=args.seed)
    for global_step in range(args.total_timesteps):
        # act: epsilon-greedy
        epsilon = linear_schedule(
            args.start_e, args.end_e, args.exploration_fraction * args.total_timesteps, global_step
        )
        if rng.random() < epsilon:
            action = int(env.action_space.sample())
        else:
            with torch.no_grad():
                action = int(q_network(torch.as_tensor(obs[None], device=device)).argmax(1).item())
        next_obs, reward, terminated, truncated, info = env.step(action)

        # store: the step's own next observation (the final one when the episode ended)
        learn_reward = float(np.clip(reward * args.reward_scale, -1.0, 1.0))
        rb.add(obs, next_obs, action, learn_reward, terminated)
        if terminated or truncated:
            ep = info["episode"]
            print(
                f"global_step={global_step + 1} episodic_return={float(ep['r']):.1f} "
                f"episodic_length={int(ep['l'])} outcome={info['outcome']} epsilon={epsilon:.3f}"
            )
            obs, _ = env.reset()
        else:
            obs = next_obs

        # learn: one TD step on a random batch every train_frequency env steps
        if global_step >= args.learning_starts and global_step % args.train_frequency == 0:
            b_obs, b_next, b_act, b_rew, b_term = rb.sample(args.batch_size, device)
            with torch.no_grad():
                next_q = target_network(b_next).max(1).values
                td_target = b_rew + args.gamma * next_q * (1.0 - b_term)
            q = q_network(b_obs).gather(1, b_act[:, None]).squeeze(1)
            loss = F.smooth_l1_loss(q, td_target)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(q_network.parameters(), 10.0)
            optimizer.step()

        # target: a hard copy every target_network_frequency env steps
        if global_step % args.target_network_frequency == 0:
            target_network.load_state_dict(q_network.state_dict())

    sps = args.total_timesteps / max(time.time() - start, 1e-9)
    print(f"trained {args.total_timesteps} env steps at {sps:.0f} steps/s")
    eval_env = gym.make("gridrl/Grid-v0", preset=args.env_preset, max_steps=args.max_steps)
    returns = evaluate(q_network, eval_env, args.eval_episodes, 10_000 + args.seed, device)
    print(f"eval: mean_return={np.mean(returns):.2f} over {len(returns)} greedy episodes")
    env.close()
    eval_env.close()


if __name__ == "__main__":
    main()
