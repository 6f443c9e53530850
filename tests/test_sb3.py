"""Stable-Baselines3 on gridrl's games: gridrl.sb3's extractor, policy kwargs, SB3's env checker."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

pytest.importorskip("stable_baselines3")

from stable_baselines3 import DQN, PPO  # noqa: E402
from stable_baselines3.common.env_checker import check_env  # noqa: E402

import gridrl.game.gym_env  # noqa: E402, F401  (registers gridrl/Grid-v0)
from gridrl import ENV_ID
from gridrl.agent.networks import build_q_network  # noqa: E402
from gridrl.config import LayerConfig, ModelConfig, compose_config  # noqa: E402
from gridrl.game.gym_env import GridEnv  # noqa: E402
from gridrl.sb3 import MIN_UNPADDED, GridCNN, ego_cnn_config, sb3_policy_kwargs  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src"

# (make kwargs, observation shape): the default game (fovea view), images of 5x5 (padded convolutions)
# and 49x49
GAMES = [
    ({}, (6, 11, 11)),
    ({"height": 3, "width": 3, "obs_mode": "ego"}, (3, 5, 5)),
    ({"height": 5, "width": 5, "obs_mode": "planes"}, (3, 5, 5)),
    ({"height": 25, "width": 25, "obs_mode": "ego"}, (3, 49, 49)),
]


def small_dqn(env: gym.Env, **kwargs: object) -> DQN:
    return DQN(
        "CnnPolicy",
        env,
        policy_kwargs=sb3_policy_kwargs(env),
        buffer_size=1_000,
        learning_starts=50,
        batch_size=16,
        seed=0,
        device="cpu",
        **kwargs,
    )


@pytest.mark.parametrize(("kwargs", "shape"), GAMES, ids=["default", "3x3-ego", "5x5-planes", "25x25-ego"])
def test_dqn_cnn_policy_learns_on_small_and_large_images(kwargs, shape):
    env = gym.make(ENV_ID, max_steps=30, **kwargs)
    assert env.observation_space.shape == shape
    model = small_dqn(env)
    weights = [p.detach().clone() for p in model.q_net.parameters()]
    model.learn(total_timesteps=200)
    assert model.num_timesteps == 200 and model._n_updates > 0
    assert any(not torch.equal(a, b) for a, b in zip(weights, model.q_net.parameters(), strict=True))
    assert isinstance(model.q_net.features_extractor, GridCNN)
    obs, _ = env.reset(seed=1)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_space.contains(int(action))
    q = model.q_net(torch.as_tensor(obs[None]).float() / 255)
    assert q.shape == (1, env.action_space.n) and torch.isfinite(q).all()


def test_ego_view_gets_exactly_gridrls_ego_cnn():
    env = gym.make(ENV_ID, obs_mode="ego")
    model = small_dqn(env)
    cfg = compose_config(["model=ego_cnn"]).model
    gridrl_net = build_q_network(cfg, env.observation_space.shape, int(env.action_space.n))
    assert cfg.layers == ego_cnn_config(env.observation_space.shape).layers
    sb3_params = sum(p.numel() for p in model.q_net.parameters())
    assert sb3_params == sum(p.numel() for p in gridrl_net.parameters()) == 138_729  # the README's count
    assert [type(m) for m in model.q_net.q_net] == [torch.nn.Linear]  # net_arch=[]: a linear Q head


def test_extractor_accepts_every_image_size():
    for side in range(1, 50):
        space = gym.spaces.Box(0, 255, (3, side, side + 2), np.uint8)
        extractor = GridCNN(space)
        pads = {m.padding for m in extractor.body if isinstance(m, torch.nn.Conv2d)}
        assert pads == ({(0, 0)} if side >= MIN_UNPADDED else {(1, 1)}), side
        out = extractor(torch.rand(2, 3, side, side + 2))
        assert out.shape == (2, 256) == (2, extractor.features_dim), side


def test_custom_model_and_width():
    env = GridEnv(preset="none")
    kwargs = sb3_policy_kwargs(env, features_dim=64)
    extractor = GridCNN(env.observation_space, **kwargs["features_extractor_kwargs"])
    assert extractor.features_dim == 64
    mlp = ModelConfig(
        layers=[LayerConfig("flatten"), LayerConfig("linear", features=32), LayerConfig("relu")]
    )
    assert GridCNN(env.observation_space, model=mlp).features_dim == 32


def test_policy_kwargs_accept_spaces_and_vec_envs_and_refuse_non_images():
    env = gym.make(ENV_ID)
    model = small_dqn(env)
    assert sb3_policy_kwargs(model.get_env()) == sb3_policy_kwargs(env.observation_space)
    with pytest.raises(ValueError, match="uint8 \\(C, H, W\\) image"):
        sb3_policy_kwargs(gym.wrappers.FlattenObservation(env))
    with pytest.raises(ValueError, match="channels-last"):
        sb3_policy_kwargs(GridEnv(preset="none", height=2, width=6, obs_mode="rgb"))


def test_ppo_uses_the_same_kwargs():
    env = gym.make(ENV_ID, height=4, width=4)
    model = PPO("CnnPolicy", env, policy_kwargs=sb3_policy_kwargs(env), n_steps=32, batch_size=16, seed=0)
    model.learn(total_timesteps=32)
    assert model.num_timesteps == 32


def test_save_and_load_round_trip(tmp_path):
    env = gym.make(ENV_ID)
    model = small_dqn(env)
    model.learn(total_timesteps=80)
    model.save(tmp_path / "dqn")
    loaded = DQN.load(tmp_path / "dqn", device="cpu")
    obs = np.stack([env.reset(seed=s)[0] for s in range(8)])
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], loaded.predict(obs, True)[0])


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"height": 3, "width": 3}, {"obs_mode": "rgb", "actions": "seed8"}, {"render_mode": "rgb_array"}],
)
def test_sb3_check_env_passes(kwargs):
    env = GridEnv(**kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env)
    # the one warning SB3 gives is about its own NatureCNN (what sb3_policy_kwargs replaces)
    assert all(str(w.message).startswith("The minimal resolution for an image is 36x36") for w in caught)


def test_missing_sb3_is_one_line_naming_the_extra():
    code = "import sys; sys.modules['stable_baselines3'] = None\nimport gridrl.sb3"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        'ImportError: gridrl.sb3 needs Stable-Baselines3, which is not installed: pip install "gridrl[sb3]"'
    )
