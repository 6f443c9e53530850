"""The gymnasium adapter: API check, episodes, seeding, info, rendering, presets."""

from __future__ import annotations

import importlib.util
import sys
import types
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import gridrl.game.gym_env  # noqa: F401  (registers gridrl/Grid-v0)
from gridrl import ENV_ID
from gridrl.config import ConfigError, EnvConfig, load_env_config
from gridrl.game.grid import GridGame
from gridrl.game.gym_env import GridEnv

PRESETS = ("default", "seed", "sentdex", "crowded")  # the README's env group


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


def test_presets_load():
    seed = GridEnv(preset="seed").cfg
    assert (seed.height, seed.actions, seed.obs_mode, seed.player_color) == (
        15,
        "seed8",
        "fovea",
        [255, 0, 0],
    )
    assert GridEnv(preset="seed", obs_mode="rgb").cfg.obs_mode == "rgb"
    assert GridEnv(preset="sentdex", max_steps=50).cfg.max_steps == 50
    for preset in PRESETS:
        env = gym.make(ENV_ID, preset=preset)
        assert env.unwrapped.cfg == load_env_config(preset)  # the one loader, the same game
        assert env.reset(seed=0)[0] in env.observation_space


def test_preset_none_and_config_mean_the_schema_and_the_config():
    assert GridEnv(preset=None).cfg == GridEnv(preset="none").cfg == EnvConfig()
    cfg = EnvConfig(height=5, width=8)
    assert GridEnv(preset="seed", config=cfg).cfg == cfg  # config wins over the preset
    assert GridEnv(config=cfg, max_steps=7).cfg == EnvConfig(height=5, width=8, max_steps=7)


def test_registered_id_points_at_this_class():
    spec = gym.spec(ENV_ID)
    assert spec.entry_point == "gridrl.game.gym_env:GridEnv"
    assert type(gym.make(ENV_ID).unwrapped) is GridEnv
    gridrl._register_gym_env()  # idempotent
    assert gym.spec(ENV_ID) is spec


def _episode_with_record_video(folder: Path, steps: int = 5) -> int:
    """One episode of ``steps`` steps under gymnasium's RecordVideo; returns the episode's length."""
    env = gym.make(ENV_ID, preset="none", render_mode="rgb_array", max_steps=steps, n_enemies=0)
    env = gym.wrappers.RecordVideo(env, str(folder), episode_trigger=lambda _: True, name_prefix="grid")
    env.reset(seed=0)
    env.action_space.seed(0)
    t, done = 0, False
    while not done:
        _, _, terminated, truncated, _ = env.step(8)  # stay: the episode runs to its timeout
        done, t = terminated or truncated, t + 1
    env.close()
    return t


def test_record_video_collects_the_rendered_frames(tmp_path, monkeypatch):
    """What RecordVideo hands to moviepy (stubbed): one 400x400 RGB frame per reset and step, 10 fps."""
    clips: list[tuple[list[np.ndarray], float, str]] = []

    class Clip:
        def __init__(self, frames: list[np.ndarray], fps: float) -> None:
            self.frames, self.fps = frames, fps

        def write_videofile(self, path: str, logger: object = None) -> None:
            clips.append((self.frames, self.fps, path))

    stub = types.ModuleType("moviepy.video.io.ImageSequenceClip")
    stub.ImageSequenceClip = Clip  # type: ignore[attr-defined]
    for name in ("moviepy", "moviepy.video", "moviepy.video.io"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))
    monkeypatch.setitem(sys.modules, stub.__name__, stub)
    length = _episode_with_record_video(tmp_path / "videos")
    assert length == 5 and len(clips) == 1
    frames, fps, path = clips[0]
    assert fps == 10 and path == str(tmp_path / "videos" / "grid-episode-0.mp4")
    assert len(frames) == length + 1  # the reset's frame and one per step
    assert all(f.shape == (400, 400, 3) and f.dtype == np.uint8 for f in frames)


def test_record_video_writes_an_mp4_or_names_moviepy(tmp_path):
    """With moviepy installed RecordVideo writes a readable mp4; without it, its error names moviepy
    (RecordVideo needs it: ``pip install moviepy``)."""
    folder = tmp_path / "videos"
    if importlib.util.find_spec("moviepy") is None:
        with pytest.raises(gym.error.DependencyNotInstalled, match="(?i)moviepy"):
            _episode_with_record_video(folder)
        return
    length = _episode_with_record_video(folder)
    (video,) = folder.glob("*.mp4")
    import imageio.v2 as imageio

    with imageio.get_reader(str(video)) as reader:
        frames = [frame.shape for frame in reader]
    assert abs(len(frames) - (length + 1)) <= 1 and frames[0] == (400, 400, 3)
