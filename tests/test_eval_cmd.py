"""`gridrl eval`: stats against a hand-checked policy, a real tiny run through the CLI, videos, refusals."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image

from conftest import refused
from gridrl.checkpoint import CheckpointError
from gridrl.cli import main
from gridrl.config import EnvConfig, compose, to_config
from gridrl.evaluation import Evaluator
from gridrl.game.grid import ACTION_TABLES, GridGame
from gridrl.game.oracle import ENEMY_COST, greedy_actions
from gridrl.policy import load
from gridrl.reports import run_eval

REPORT_KEYS = {"stats", "eval", "env", "config", "video"}
STAT_KEYS = {
    "episodes",
    "mean_return",
    "std_return",
    "min_return",
    "max_return",
    "mean_length",
    "food_rate",
    "enemy_rate",
    "timeout_rate",
    "loop_stop_rate",
    "oracle_mean_return",
    "oracle_ratio",
    "oracle_ratio_low",
    "oracle_ratio_high",
    "random_mean_return",
    "normalized_score",
    "normalized_score_low",
    "normalized_score_high",
}


# ------------------------------------------------------------------------------------------ helpers
def ego_greedy(cfg: EnvConfig):
    """The oracle's scripted policy (oracle.greedy_actions, static enemies) read off `ego` observations:
    for each action, the Chebyshev distance from the (clamped) cell it reaches to the nearest food, plus
    ENEMY_COST on an enemy; the cheapest action wins, ties to the lowest index."""
    H, W = cfg.height, cfg.width
    moves = ACTION_TABLES[cfg.actions]
    cy, cx = H - 1, W - 1  # the player's cell in the ego view

    def policy(obs: np.ndarray) -> np.ndarray:
        n = len(obs)
        food, enemy, inside = obs[:, 0] > 0, obs[:, 1] > 0, obs[:, 2] > 0
        fy, fx = np.nonzero(food.any(0))  # every cell with food in some game
        cost = np.zeros((n, len(moves)))
        for a, (dx, dy) in enumerate(moves):
            mx = np.where(inside[:, cy, cx + dx], dx, 0)  # a move off the grid is clamped per axis
            my = np.where(inside[:, cy + dy, cx], dy, 0)
            d = np.full(n, np.inf)
            for y, x in zip(fy, fx, strict=True):  # distance to every food cell (few cells in total)
                has = food[:, y, x]
                dist = np.maximum(np.abs(y - cy - my), np.abs(x - cx - mx))
                d = np.where(has, np.minimum(d, dist), d)
            on_enemy = enemy[np.arange(n), cy + my, cx + mx]
            cost[:, a] = np.where(np.isfinite(d), d, 0.0) + np.where(on_enemy, ENEMY_COST, 0.0)
        return cost.argmin(1)

    return policy


def compose_config(overrides: list[str]):
    return compose(["name=tiny", *overrides])


def run_cli(*args: str) -> None:
    """``gridrl <args>`` in this process; a user mistake raises SystemExit(2)."""
    assert main(list(args)) == 0


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    """A real run dir of the Trainer: 2 PQN rollouts of 32 games, evaluated at the end on 40 layouts."""
    from gridrl.trainer import Trainer

    node = compose_config(
        [
            "trainer=debug",
            "trainer.total_steps=1024",
            "trainer.eval_every=0",
            "trainer.eval_episodes=40",
            "trainer.checkpoint_every=512",
            "agent.n_envs=32",
            "trainer.threads=1",
        ]
    )
    run_dir = tmp_path_factory.mktemp("tiny_run")
    Trainer(to_config(node), run_dir, OmegaConf.to_yaml(node)).run()
    return run_dir


# ----------------------------------------------------------------------------------- hand-checked
def test_ego_greedy_is_the_oracles_policy():
    cfg = EnvConfig(n_enemies=2, n_food=2, obs_mode="ego")
    game = GridGame(cfg, 500)
    obs, _ = game.reset(3)
    policy = ego_greedy(cfg)
    for _ in range(5):
        assert np.array_equal(policy(obs), greedy_actions(game, avoid_adjacent=False))
        obs = game.step(greedy_actions(game, avoid_adjacent=False))[0]


def test_eval_stats_without_enemies_match_the_hand_formula(tmp_path):
    """No enemy: walking straight at the food is optimal, return = 25 - (Chebyshev distance - 1)."""
    cfg = EnvConfig(n_enemies=0, obs_mode="ego")
    report = run_eval(cfg, ego_greedy(cfg), tmp_path, episodes=300, seed=11)
    layouts = Evaluator(cfg, 300, 11).layouts
    d = np.abs(layouts["player"] - layouts["food"][:, 0]).max(1)
    hand = cfg.food_reward + (d - 1) * cfg.move_reward
    s = report["stats"]
    assert s["episodes"] == 300
    assert s["mean_return"] == pytest.approx(hand.mean())
    assert s["min_return"] == hand.min() and s["max_return"] == hand.max()
    assert s["mean_length"] == pytest.approx(d.mean())
    assert s["oracle_ratio"] == pytest.approx(1.0)
    assert (s["food_rate"], s["enemy_rate"], s["timeout_rate"]) == (1.0, 0.0, 0.0)
    assert json.loads((tmp_path / "eval.json").read_text()) == report


def test_eval_stats_are_the_evaluators_and_near_the_oracle(tmp_path):
    cfg = EnvConfig(obs_mode="ego")  # the default game (one static enemy) in the view ego_greedy reads
    policy = ego_greedy(cfg)
    report = run_eval(cfg, policy, tmp_path, episodes=500, seed=12345, record={"checkpoint": "scripted"})
    direct = Evaluator(cfg, 500, 12345).run(policy).summary()
    assert report["stats"] == direct
    assert report["stats"]["enemy_rate"] == 0.0
    assert report["stats"]["oracle_ratio"] > 0.98
    assert set(report) == REPORT_KEYS and set(report["stats"]) == STAT_KEYS
    assert report["eval"]["checkpoint"] == "scripted" and report["env"]["n_enemies"] == 1


def test_eval_video_readable_with_the_right_frames(tmp_path):
    cfg = EnvConfig(n_enemies=2, obs_mode="ego")
    policy = ego_greedy(cfg)
    report = run_eval(cfg, policy, tmp_path, episodes=20, seed=5, video_episodes=3, video_size=200, fps=10.0)
    # each episode: its start frame, one per step but the last, and the last state held 0.5 s
    game = GridGame(cfg, 3)
    obs, _ = game.reset(5)
    lengths = np.zeros(3, dtype=int)
    while (lengths == 0).any():
        obs, _, term, trunc, info = game.step(policy(obs))
        lengths = np.where((lengths == 0) & (term | trunc), info["episode_length"], lengths)
    expected = int(lengths.sum()) + 3 * 5
    video = report["video"]
    assert video["frames"] == expected and video["width"] == 200
    cap = cv2.VideoCapture(str(tmp_path / "eval.mp4"))
    assert cap.isOpened()
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == expected
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == expected
    assert all(f.shape == (video["height"], 200, 3) for f in frames)
    with Image.open(tmp_path / "eval.gif") as gif:
        assert gif.size == (200, video["height"])
        assert 3 <= gif.n_frames <= expected  # Pillow merges identical consecutive frames (the holds)


def test_eval_cli_on_a_trained_run(tiny_run, capsys):
    run_cli("eval", f"checkpoint={tiny_run}")
    out = capsys.readouterr().out
    assert "mean return" in out and "% of oracle" in out and "wrote" in out
    report = json.loads((tiny_run / "eval" / "eval.json").read_text())
    assert set(report) == REPORT_KEYS and set(report["stats"]) == STAT_KEYS
    # defaults: the run's own layouts and episodes, so the training's final evaluation is reproduced
    final = json.loads((tiny_run / "final" / "metrics.json").read_text())
    assert report["stats"]["episodes"] == 40 and report["eval"]["seed"] == 12345
    assert report["stats"]["mean_return"] == pytest.approx(final["mean_return"])
    assert report["eval"]["weights"] == str(tiny_run / "final" / "q_network.pt")
    assert report["eval"]["env_step"] == 1024
    assert report["config"]["agent"]["name"] == "pqn" and report["config"]["trainer"]["total_steps"] == 1024


def test_eval_cli_takes_the_runs_eval_epsilon(tmp_path, capsys):
    """A run evaluated with trainer.eval_epsilon: gridrl eval defaults to it (reproducing the training's
    final score); epsilon=0 plays greedily instead."""
    from gridrl.trainer import Trainer

    node = compose_config(
        [
            "trainer=debug",
            "trainer.total_steps=512",
            "trainer.eval_every=0",
            "trainer.eval_episodes=40",
            "trainer.eval_epsilon=0.5",
            "agent.n_envs=32",
            "trainer.threads=1",
        ]
    )
    run_dir = tmp_path / "run"
    Trainer(to_config(node), run_dir, OmegaConf.to_yaml(node)).run()
    final = json.loads((run_dir / "final" / "metrics.json").read_text())
    run_cli("eval", f"checkpoint={run_dir}", f"out={tmp_path / 'default'}")
    report = json.loads((tmp_path / "default" / "eval.json").read_text())
    assert report["eval"]["epsilon"] == 0.5
    assert report["stats"]["mean_return"] == pytest.approx(final["mean_return"])
    run_cli("eval", f"checkpoint={run_dir}", "epsilon=0", f"out={tmp_path / 'greedy'}")
    greedy = json.loads((tmp_path / "greedy" / "eval.json").read_text())
    assert greedy["eval"]["epsilon"] == 0.0
    assert greedy["stats"]["mean_return"] != pytest.approx(final["mean_return"])


def test_eval_cli_overrides_and_video(tiny_run, tmp_path):
    out = tmp_path / "gen"
    args = [
        f"checkpoint={tiny_run}",
        "episodes=25",
        "seed=3",
        "epsilon=0.05",
        "env.n_enemies=3",
        "env.enemy_motion=random",
        "video=true",
        "video_episodes=1",
        "video_size=96",
        f"out={out}",
    ]
    run_cli("eval", *args)
    report = json.loads((out / "eval.json").read_text())
    assert report["stats"]["episodes"] == 25
    assert (report["env"]["n_enemies"], report["env"]["enemy_motion"]) == (3, "random")
    assert report["config"]["env"]["n_enemies"] == 3
    assert report["eval"]["env_changes"] == ["env.n_enemies=3", "env.enemy_motion=random"]
    assert report["eval"]["epsilon"] == 0.05 and report["eval"]["seed"] == 3
    cap = cv2.VideoCapture(str(out / "eval.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == report["video"]["frames"]
    cap.release()


def test_eval_any_checkpoint_file(tiny_run, tmp_path):
    ckpts = sorted((tiny_run / "checkpoints").glob("ckpt_*.pt"))
    for target in (tiny_run / "final" / "q_network.pt", tiny_run / "checkpoints" / "best.pt", ckpts[-1]):
        loaded = load(target, "cpu")
        assert loaded.weights == target and loaded.run_dir == tiny_run
        assert loaded.config.env.obs_mode == "fovea"
    # a run dir without final weights: its newest checkpoint
    bare = tmp_path / "bare"
    shutil.copytree(tiny_run / "checkpoints", bare / "checkpoints")
    loaded = load(bare, "cpu")
    assert loaded.weights == bare / "checkpoints" / ckpts[-1].name and loaded.env_step == 1024
    # the final weights and the last checkpoint's are the same network
    a, b = load(tiny_run, "cpu"), loaded
    obs = GridGame(a.config.env, 64).reset(0)[0]
    assert np.array_equal(a.act(obs), b.act(obs))
    assert a.act(obs[0]) == a.act(obs)[0]  # one observation (C, H, W) -> one action


def test_eval_refusals(tiny_run, tmp_path, capsys):
    line = refused(capsys, "eval", f"checkpoint={tiny_run}", "env.obs_mode=fovea", "env.fovea=7")
    assert "env.fovea=7 changes what the network sees" in line and "6x11x11" in line and "6x7x7" in line
    assert "obs_mode fovea -> rgb" in refused(capsys, "eval", str(tiny_run), "env.obs_mode=rgb")
    line = refused(capsys, "eval", str(tiny_run), "env=seed")
    assert "env=seed changes" in line and "(actions sentdex9 -> seed8)" in line
    line = refused(capsys, "eval", "checkpoint=x", "episode=3")
    assert "episode is not a key of EvalCommandConfig; did you mean episodes" in line
    assert "env.enemies is not a key of EnvConfig; did you mean env.n_enemies" in refused(
        capsys, "eval", str(tiny_run), "env.enemies=3"
    )
    assert "episodes" in refused(capsys, "eval", "checkpoint=x", "episodes=many")
    assert "epsilon=2" in refused(capsys, "eval", "checkpoint=x", "epsilon=2")
    assert "checkpoint=<run dir or .pt file> is required" in refused(capsys, "eval", "episodes=3")
    assert "no such run dir or file" in refused(capsys, "eval", f"checkpoint={tmp_path / 'nothing'}")
    assert "holds neither" in refused(capsys, "eval", str(tmp_path))
    assert "env=nope: no such game preset" in refused(capsys, "eval", str(tiny_run), "env=nope")
    assert not (tiny_run / "eval" / "nothing").exists()
    evil = tmp_path / "evil.pt"
    torch.save({"format": 1, "payload": Path("x")}, evil)  # a pickled object: never unpickled
    with pytest.raises(CheckpointError, match="refused"):
        load(evil)


def test_eval_positional_run_dir_and_multirun(tiny_run, capsys, tmp_path, monkeypatch):
    """`gridrl eval <run dir>` and `-m checkpoint=a,b` (two checkpoints of one run, one eval dir each);
    the multirun leaves only Hydra's record under outputs/multirun-eval/ in the working directory."""
    monkeypatch.chdir(tmp_path)
    run_cli("eval", str(tiny_run), "episodes=7")
    assert json.loads((tiny_run / "eval" / "eval.json").read_text())["stats"]["episodes"] == 7
    a, b = sorted((tiny_run / "checkpoints").glob("ckpt_*.pt"))[-2:]
    run_cli("eval", "-m", f"checkpoint={a},{b}", "episodes=5")
    for ckpt in (a, b):
        report = json.loads((tiny_run / "eval" / ckpt.stem / "eval.json").read_text())
        assert report["eval"]["weights"] == str(ckpt) and report["stats"]["episodes"] == 5
    assert capsys.readouterr().out.count("gridrl eval:") == 3
    assert [p.name for p in tmp_path.iterdir()] == ["outputs"]
    (record,) = (tmp_path / "outputs" / "multirun-eval").glob("*/*/multirun.yaml")
    assert [p.name for p in record.parent.iterdir()] == ["multirun.yaml"]


def test_plot_of_the_real_run(tiny_run, tmp_path):
    from gridrl.plot import plot_runs

    res = plot_runs([tiny_run], tmp_path / "c.png")
    assert len(res.curves) == 1 and res.png.is_file()
    (curve,) = res.curves.values()
    assert curve.runs == 1 and curve.steps[-1] == 1024


def test_a_fovea_agent_plays_another_grid_size(tiny_run, capsys):
    """The fovea view is 6x11x11 on every grid: a 10x10 agent is evaluated on 12x17 as it is."""
    capsys.readouterr()
    assert main(["eval", str(tiny_run), "env.height=12", "env.width=17", "episodes=20"]) == 0
    out = capsys.readouterr().out
    assert "12x17" in out
