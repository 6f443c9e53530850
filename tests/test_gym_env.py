"""The gymnasium adapter: API check, episodes, seeding, info, rendering, presets."""

from __future__ import annotations

import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import gridrl.game.gym_env  # noqa: F401  (registers gridrl/Grid-v0)
from gridrl.config import ConfigError, EnvConfig
from gridrl.game.grid import GridGame
from gridrl.game.gym_env import ENV_ID, GridEnv, env_conf_dir, load_env_config


@pytest.mark.parametrize(
    "kwargs",
    [
        {"render_mode": "rgb_array"},
        {"render_mode": None, "obs_mode": "rgb", "actions": "seed8"},
        {"render_mode": "rgb_array", "obs_mode": "planes", "enemy_motion": "chase", "slip": 0.1},
    ],
)
def test_check_env_passes_without_warnings(kwargs):
    env = gym.make(ENV_ID, preset="none", **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(env.unwrapped, skip_render_check=False)
    env.close()


def test_spaces():
    env = GridEnv(preset="none", height=7, width=9, obs_mode="ego", actions="seed8")
    assert env.observation_space == gym.spaces.Box(0, 255, (3, 13, 17), np.uint8)
    assert env.action_space == gym.spaces.Discrete(8)
    obs, info = env.reset(seed=0)
    assert obs in env.observation_space and info == {}


def test_random_episode_ends_by_max_steps():
    env = GridEnv(preset="none", max_steps=25, obs_mode="planes")
    env.action_space.seed(0)
    for seed in range(5):
        env.reset(seed=seed)
        terminated = truncated = False
        t = 0
        while not (terminated or truncated) and t < 30:
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            t += 1
            assert obs in env.observation_space and isinstance(reward, float)
            assert (info == {}) == (not (terminated or truncated))
        assert terminated or truncated
        assert truncated == (info["outcome"] == "timeout") and (t == 25 if truncated else t <= 25)
        assert info["episode_length"] == t
        assert set(info) == {"outcome", "episode_return", "episode_length", "is_success"}
        with pytest.raises(RuntimeError, match="reset"):
            env.step(0)


def test_reset_seed_reproducible_and_matches_the_game():
    a, b = GridEnv(preset="none"), GridEnv(preset="none")
    oa, _ = a.reset(seed=42)
    ob, _ = b.reset(seed=42)
    np.testing.assert_array_equal(oa, ob)
    np.testing.assert_array_equal(oa, GridGame(a.cfg, 1).reset(42)[0][0])
    for action in [0, 4, 4, 7, 8, 2]:
        ra, rb = a.step(action), b.step(action)
        np.testing.assert_array_equal(ra[0], rb[0])
        assert ra[1:] == rb[1:]
        if ra[2] or ra[3]:
            break
    # a fresh episode without a seed continues the generator: reproducible too, and a new layout
    np.testing.assert_array_equal(a.reset()[0], b.reset()[0])
    assert not np.array_equal(a.reset(seed=43)[0], oa)


def test_food_episode_info_final_obs_and_render():
    env = GridEnv(preset="none", obs_mode="planes", render_mode="rgb_array")
    env.reset(seed=0)
    env.game.set_state(
        {"player": np.array([[2, 2]]), "food": np.array([[[3, 3]]]), "enemy": np.array([[[8, 8]]])}
    )
    obs, reward, terminated, truncated, info = env.step(0)  # (+1, +1) onto the food
    assert (reward, terminated, truncated) == (25.0, True, False)
    assert info == {"outcome": "food", "episode_return": 25.0, "episode_length": 1, "is_success": True}
    assert obs[0, 3, 3] == 255 and obs[1, 3, 3] == 255  # the last state: player on the food
    img = env.render()
    assert img.shape == (400, 400, 3) and img.dtype == np.uint8
    assert (img[130:155, 130:155] == env.cfg.player_color).all()  # cell (3, 3), 40 px cells


def test_enemy_episode_info():
    env = GridEnv(preset="none", obs_mode="ego")
    env.reset(seed=0)
    env.game.set_state(
        {"player": np.array([[0, 0]]), "food": np.array([[[5, 5]]]), "enemy": np.array([[[1, 0]]])}
    )
    env.step(8)  # stay: -1
    _, reward, terminated, _, info = env.step(4)  # (+1, 0) onto the enemy
    assert reward == -300.0 and terminated
    assert info["outcome"] == "enemy" and info["episode_return"] == -301.0 and info["episode_length"] == 2
    assert info["is_success"] is False


def test_human_mode_without_display_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr("gridrl.window.sys.platform", "linux")
    with pytest.raises(ConfigError, match="render_mode='human' needs a display"):
        GridEnv(preset="none", render_mode="human")
    assert GridEnv(preset="none").metadata["render_modes"] == ["rgb_array"]


def test_config_and_overrides():
    env = GridEnv(config=EnvConfig(height=6, width=6, obs_mode="rgb"), max_steps=9)
    assert (env.cfg.height, env.cfg.obs_mode, env.cfg.max_steps) == (6, "rgb", 9)
    with pytest.raises(ConfigError, match="env.slip"):
        GridEnv(preset="none", slip=2.0)
    with pytest.raises(ConfigError, match="no_such_key"):
        GridEnv(preset="none", no_such_key=1)
    with pytest.raises(ConfigError, match="no such game preset; choose one of .*default"):
        GridEnv(preset="no_such_preset")
    with pytest.raises(ConfigError, match="render_mode"):
        GridEnv(preset="none", render_mode="ansi")


@pytest.mark.skipif(not (env_conf_dir() / "seed.yaml").is_file(), reason="conf/env presets not present")
def test_presets_load():
    seed = load_env_config("seed")
    assert (seed.height, seed.actions, seed.obs_mode, seed.player_color) == (15, "seed8", "ego", [255, 0, 0])
    assert load_env_config("seed", obs_mode="rgb").obs_mode == "rgb"
    assert load_env_config("sentdex", max_steps=50).max_steps == 50
    for path in sorted(env_conf_dir().glob("*.yaml")):
        env = gym.make(ENV_ID, preset=path.stem)
        assert env.reset(seed=0)[0] in env.observation_space
