"""Stable-Baselines3 DQN on gridrl's grid game: make the env, train, evaluate.

    pip install "gridrl[sb3]"     # or, in a checkout: pip install -e ".[sb3]"
    python examples/sb3_dqn.py --total-timesteps 200000

SB3's default ``CnnPolicy`` network is made for 84x84 Atari frames and refuses the game's 19x19 image;
``sb3_policy_kwargs`` gives it gridrl's small CNN instead. Prints the greedy policy's episode returns.
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import DQN
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

import gridrl  # noqa: F401  (registers gridrl/Grid-v0 with gymnasium)
from gridrl.sb3 import sb3_policy_kwargs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="SB3 DQN on gridrl/Grid-v0")
    parser.add_argument("--env-preset", default="default", help="default | seed | sentdex | crowded")
    parser.add_argument("--total-timesteps", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--torch-threads", type=int, default=1, help="small network: 1 is fastest")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.torch_threads)

    env = gym.make("gridrl/Grid-v0", preset=args.env_preset)
    model = DQN(
        "CnnPolicy",
        env,
        policy_kwargs=sb3_policy_kwargs(env),
        buffer_size=100_000,  # SB3's default (1M) would reserve 2 GB for these images
        learning_starts=min(1_000, args.total_timesteps // 2),
        exploration_fraction=0.5,
        seed=args.seed,
        device="cpu",
    )
    model.learn(total_timesteps=args.total_timesteps)

    eval_env = Monitor(gym.make("gridrl/Grid-v0", preset=args.env_preset))
    eval_env.reset(seed=10_000 + args.seed)  # seeds the layouts of the evaluation episodes
    returns, lengths = evaluate_policy(
        model, eval_env, n_eval_episodes=args.eval_episodes, deterministic=True, return_episode_rewards=True
    )
    for ret, length in zip(returns, lengths, strict=True):
        print(f"episodic_return={float(ret):.1f} episodic_length={int(length)}")
    print(f"eval: mean_return={np.mean(returns):.2f} over {len(returns)} greedy episodes")


if __name__ == "__main__":
    main()
