"""`gridrl play`: the headless message through the CLI, the game and policy it would open a window with."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from conftest import refused
from gridrl.checkpoint import atomic_torch_save
from gridrl.cli import main
from gridrl.config import EnvConfig, compose, env_preset, to_config
from gridrl.game.grid import obs_shape
from gridrl.play import PlayResult, PlaySession
from gridrl.policy import load
from gridrl.window import NO_DISPLAY_MESSAGE


def play_command(args: list[str]) -> int:
    return main(["play", *args])


GRIDRL = Path(sys.executable).with_name("gridrl")


@pytest.fixture(scope="module")
def net_run(tmp_path_factory) -> Path:
    """A run dir holding only final/q_network.pt (a bare state_dict) and final/config.yaml."""
    from gridrl.agent.networks import build_q_network
    from gridrl.game.grid import n_actions

    node = compose(["name=watch", "env.n_enemies=2"])
    cfg = to_config(node)
    torch.manual_seed(0)
    net = build_q_network(cfg.model, obs_shape(cfg.env), n_actions(cfg.env))
    run = tmp_path_factory.mktemp("watch_run")
    atomic_torch_save(net.state_dict(), run / "final" / "q_network.pt")
    (run / "final" / "config.yaml").write_text(OmegaConf.to_yaml(node))
    return run


def headless_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}


def test_play_headless_says_so_in_one_line():
    proc = subprocess.run(
        [str(GRIDRL), "play"], env=headless_env(), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"gridrl: error: {NO_DISPLAY_MESSAGE}"]
    assert proc.stdout == ""


def test_play_headless_before_loading_anything(monkeypatch, capsys):
    for var in ("DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(SystemExit) as exc:
        main(["play", "checkpoint=/no/such/run", "env=seed"])
    assert exc.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"gridrl: error: {NO_DISPLAY_MESSAGE}"]


@pytest.fixture
def fake_window(monkeypatch):
    """A display, and play() replaced by a recorder of what it was asked to show."""
    calls: list[dict] = []

    def fake_play(env_cfg, policy=None, seed=0, size=400, fps=5.0):
        calls.append({"env": env_cfg, "policy": policy, "seed": seed, "size": size, "fps": fps})
        return PlayResult(returns=[24.0, -300.0], outcomes=["food", "enemy"])

    monkeypatch.setattr("gridrl.window.has_display", lambda: True)
    monkeypatch.setattr("gridrl.play.play", fake_play)
    return calls


def test_play_keyboard_game(fake_window, capsys):
    assert play_command([]) == 0
    assert fake_window[-1]["env"] == EnvConfig() and fake_window[-1]["policy"] is None
    assert "2 episode(s), mean return -138.00; food 1, enemy 1" in capsys.readouterr().out
    assert play_command(["env=seed", "env.n_enemies=3", "seed=4", "size=300", "fps=2"]) == 0
    call = fake_window[-1]
    preset = env_preset("seed")  # conf/env/seed.yaml
    env = call["env"]
    assert (env.height, env.obs_mode, env.actions) == (15, preset["obs_mode"], "seed8")
    assert call["env"].n_enemies == 3 and (call["seed"], call["size"], call["fps"]) == (4, 300, 2.0)


def test_play_watches_a_checkpoint(fake_window, net_run, capsys):
    assert play_command([f"checkpoint={net_run}", "env.enemy_motion=chase"]) == 0
    call = fake_window[-1]
    assert call["env"].n_enemies == 2 and call["env"].enemy_motion == "chase"  # the run's game + override
    obs = np.zeros((1, *obs_shape(call["env"])), dtype=np.uint8)
    assert call["policy"](obs).shape == (1,)
    assert "env.fovea=5 changes what the network sees" in refused(capsys, "play", str(net_run), "env.fovea=5")


def test_watch_path_without_a_window(net_run):
    """What the window shows when watching, driven without one: the network's greedy actions."""
    loaded = load(net_run)
    policy = loaded.act
    session = PlaySession(loaded.config.env, seed=1, size=120, record_frames=True, policy=policy)
    for _ in range(30):
        obs = session.obs.copy()
        if session.advance() == "step":
            assert session.result.steps[-1].action == int(policy(obs)[0])
    assert len(session.result.frames) == 31 and session.result.frames[0].shape[1] == 120


def test_play_bad_keys(fake_window, capsys):
    line = refused(capsys, "play", "checkpt=x")
    assert "checkpt is not a key of PlayCommandConfig; did you mean checkpoint" in line
    assert "env.max_steps" in refused(capsys, "play", "env.max_steps=0")
    assert fake_window == []
