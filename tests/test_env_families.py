"""MinAtar, MiniGrid and gym envs in the product: presets, saved configs, the one factory and spec, the
trainer's run dir and resume, evaluation against references and random play, eval videos, watching."""

from __future__ import annotations

import itertools
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import compose_cfg, presets, refused
from gridrl import checkpoint as ckpt
from gridrl.agent.pqn import PQNLearner
from gridrl.agent.replay import ReplayBuffer
from gridrl.cli import main
from gridrl.config import (
    ConfigError,
    EnvConfig,
    GymConfig,
    MinAtarConfig,
    MiniGridConfig,
    load_env_config,
    to_config,
    typed_node,
)
from gridrl.envs import LoopEnv, colorize, make_game, obs_spec, truncation_gap
from gridrl.evaluation import EpisodeEvaluator, Evaluator, make_evaluator, random_policy
from gridrl.game.grid import ACTION_TABLES, GridGame

SCHEMA_OF_FOLDER = {"minatar": MinAtarConfig, "minigrid": MiniGridConfig}


def run_cli(*args: str) -> None:
    assert main(list(args)) == 0


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(run_dir / "tb"), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


# ------------------------------------------------------------------------------------------ configs
def test_every_env_preset_composes_into_its_familys_schema() -> None:
    names = presets("env")
    assert {"minatar/breakout", "minatar/space_invaders", "minigrid/doorkey-8x8", "gym"} <= set(names)
    for name in names:
        cfg = to_config(compose_cfg([f"env={name}"]))
        folder = name.split("/")[0]
        assert isinstance(cfg.env, SCHEMA_OF_FOLDER.get(folder, GymConfig if name == "gym" else EnvConfig))
        assert "/" not in cfg.name and cfg.name.startswith(name.replace("/", "-"))
    cfg = to_config(compose_cfg(["env=minatar/breakout"]))
    assert cfg.name == "minatar-breakout-pqn" and cfg.env.game == "breakout" and cfg.env.family == "minatar"


def test_family_experiments_pick_env_model_and_learner() -> None:
    minatar = [n for n in presets("experiment") if n.startswith("minatar_")]
    minigrid = [n for n in presets("experiment") if n.startswith("minigrid_")]
    assert len(minatar) == 5 and {"minigrid_empty-8x8", "minigrid_doorkey-8x8"} <= set(minigrid)
    for name, agent in itertools.product(minatar + minigrid, [None, "dqn_fast", "dqn", "pqn"]):
        # the family's discount and reward units hold whatever learner is picked beside the experiment
        cfg = to_config(compose_cfg([f"experiment={name}", *([f"agent={agent}"] if agent else [])]))
        family = name.split("_")[0]
        assert cfg.env.family == family and cfg.model.name == f"{family}_cnn"
        assert cfg.agent.name == ("pqn" if agent is None else agent.split("_")[0])
        gamma = 0.95 if name == "minigrid_empty-8x8" else 0.99  # Empty: its fixed start (the preset says why)
        assert cfg.agent.gamma == gamma and cfg.agent.reward.scale == 1.0 and cfg.agent.reward.clip == "false"
        assert 0 < cfg.trainer.time_limit_s <= 600
    assert to_config(compose_cfg(["experiment=minatar_seaquest"])).env.game == "seaquest"


@pytest.mark.parametrize("env", ["default", "minatar/breakout", "minigrid/doorkey-8x8", "gym"])
def test_a_saved_config_round_trips(env: str) -> None:
    node = compose_cfg([f"env={env}", "agent=dqn"])
    saved = OmegaConf.create(OmegaConf.to_yaml(node, resolve=True))
    assert to_config(typed_node(saved)) == to_config(node)


def test_a_config_saved_before_families_is_the_grid_game() -> None:
    node = OmegaConf.create(OmegaConf.to_yaml(compose_cfg([]), resolve=True))
    del node.env["family"]
    assert to_config(typed_node(node)).env == EnvConfig()


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        (["env=minatar/breakout", "env.height=5"], "env.height is not a key of MinAtarConfig"),
        (["env=minatar/breakout", "env.game=pong"], "env.game='pong' is not allowed; choose one of asterix"),
        (["env=minatar/breakout", "env.family=grid"], "env.family='grid' does not match this env's schema"),
        (
            ["env=minigrid/doorkey-8x8", "env.actions=some"],
            "env.actions='some' is not allowed; choose one of all, nav, keys",
        ),
        (["env=gym", "env.id=NoSuchGame-v0"], "env.id='NoSuchGame-v0' is not a registered gymnasium id"),
    ],
)
def test_bad_env_values_are_one_line_naming_the_key(overrides: list[str], needle: str) -> None:
    from gridrl.cli.train import validate

    with pytest.raises(ConfigError) as exc:
        validate(compose_cfg(overrides))
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_load_env_config_follows_the_family() -> None:
    breakout = load_env_config("minatar/breakout")
    assert isinstance(breakout, MinAtarConfig) and breakout.game == "breakout"
    assert load_env_config(None, breakout, ["sticky_action_prob=0"]).sticky_action_prob == 0.0
    assert isinstance(load_env_config("default"), EnvConfig)
    with pytest.raises(ConfigError, match="env.height is not a key of MinAtarConfig"):
        load_env_config(None, breakout, {"height": 3})


# -------------------------------------------------------------------------------- factory and spec
@pytest.mark.parametrize(
    "cfg",
    [
        EnvConfig(obs_mode="planes", actions="seed8"),
        MinAtarConfig(game="seaquest"),
        MinAtarConfig(game="breakout", minimal_actions=True),
        MiniGridConfig(task="fourrooms", actions="nav"),
        GymConfig(id="MiniGrid-Empty-5x5-v0"),
    ],
    ids=lambda c: type(c).__name__,
)
def test_obs_spec_is_what_the_game_gives(cfg) -> None:
    game = make_game(cfg, 3)
    obs, _ = game.reset(seed=0)
    shape, n_actions = obs_spec(cfg)
    assert obs.shape == (3, *shape) and obs.dtype == np.uint8 and game.n_actions == n_actions
    assert isinstance(game, GridGame if isinstance(cfg, EnvConfig) else LoopEnv)


def test_truncation_gap() -> None:
    assert truncation_gap(EnvConfig(max_steps=50)) == 50
    assert truncation_gap(MinAtarConfig(max_steps=0)) > 10**9  # never truncates
    assert truncation_gap(MiniGridConfig(task="doorkey-8x8")) == 640  # MiniGrid's 10 * size^2
    assert truncation_gap(GymConfig(id="MiniGrid-Empty-5x5-v0")) == 1  # no registered limit: unknown


def test_loop_env_steps_only_the_active_copies_and_keeps_final_frames() -> None:
    env = make_game(MinAtarConfig(game="breakout"), 4)
    env.final_frames = True
    obs, _ = env.reset(seed=3)
    active = np.array([True, False, True, False])
    for _ in range(200):
        before = obs.copy()
        t_before = env.t.copy()
        obs, reward, term, trunc, info = env.step(np.full(4, 2), active)
        assert np.array_equal(obs[~active], before[~active]) and not (term | trunc)[~active].any()
        assert np.array_equal(env.t[~active], t_before[~active]) and (reward[~active] == 0).all()
        done = term | trunc
        if done.any():  # the picture of the last state, not of the new episode
            i = int(np.flatnonzero(done)[0])
            assert np.array_equal(
                info["final_frames"][i], colorize(info["final_obs"][i : i + 1], env._colors)[0]
            )
            return
    raise AssertionError("no episode ended in 200 steps")


# ------------------------------------------------------------------------------------- evaluation
def toward_food(cfg: EnvConfig):
    """The optimal policy of a game without enemies, read off the `ego` view: the move that steps toward
    the food on both axes (diagonals allowed)."""
    moves = {tuple(m): a for a, m in enumerate(ACTION_TABLES[cfg.actions].tolist())}
    cy, cx = cfg.height - 1, cfg.width - 1

    def policy(obs: np.ndarray) -> np.ndarray:
        _, fy, fx = np.nonzero(obs[:, 0] > 0)
        return np.array(
            [moves[(int(np.sign(x - cx)), int(np.sign(y - cy)))] for y, x in zip(fy, fx, strict=True)]
        )

    return policy


def test_normalized_score_is_one_for_the_oracle_and_zero_for_random_play() -> None:
    cfg = EnvConfig(n_enemies=0, obs_mode="ego")
    ev = Evaluator(cfg, 300, 11)
    best = ev.run(toward_food(cfg)).summary()
    assert best["oracle_ratio"] == pytest.approx(1.0) and best["normalized_score"] == pytest.approx(1.0)
    n = GridGame(cfg, 1).n_actions
    same = ev.run(random_policy(n, 11), loop_stop=False).summary()  # the baseline's own actions
    assert same["normalized_score"] == 0.0 and same["random_mean_return"] == same["mean_return"]
    other = ev.run(random_policy(n, 99), loop_stop=False).summary()  # other random actions: about 0
    assert abs(other["normalized_score"]) < 0.05
    assert same["random_mean_return"] < -100  # random play mostly times out: far below the oracle


def test_episode_evaluator_reference_random_and_normalized_score() -> None:
    ev = make_evaluator(MinAtarConfig(game="breakout"), 16, 123)
    assert isinstance(ev, EpisodeEvaluator)
    rand = ev.run(random_policy(6, 123)).summary()
    assert rand["reference_mean_return"] == 10.0 and rand["normalized_score"] == 0.0  # the cached baseline
    assert rand["ref_ratio"] == pytest.approx(rand["mean_return"] / 10.0)
    again = ev.run(random_policy(6, 123)).summary()
    assert again == rand  # copy i seeded 123 + i: the same episodes every time
    grid = make_evaluator(MiniGridConfig(task="empty-8x8", actions="nav", max_steps=30), 8, 5)
    s = grid.run(lambda o: np.full(len(o), 2)).summary()  # always forward: reaches no goal
    assert s["mean_length"] == 30 and s["timeout_rate"] == 1.0 and s["ref_ratio"] == 0.0
    assert s["reference_mean_return"] == pytest.approx(1 - 0.9 * 11 / 30)  # 5 forward, turn right, 5 forward
    doorkey = make_evaluator(MiniGridConfig(task="doorkey-8x8", max_steps=10), 4, 5).run(
        lambda o: np.zeros(len(o))
    )
    assert "ref_ratio" not in doorkey.summary() and "normalized_score" not in doorkey.summary()


# ----------------------------------------------------------------------------------- the learners
def test_cut_episodes_bootstrap_from_the_saved_observation() -> None:
    """A resumed external env restarts: the last stored step becomes a timeout bootstrapping from the
    observation saved in the checkpoint, not from the restarted episode's first frame."""
    buf = ReplayBuffer(capacity=64, n_envs=2, obs_shape=(1, 2, 2), n_step=1, gamma=0.5, max_episode_steps=10)
    frames = [np.full((2, 1, 2, 2), v, dtype=np.uint8) for v in range(4)]
    for v in range(3):
        done = np.array([False, v == 2])  # game 1 terminates at its last stored step
        buf.add(frames[v], np.zeros(2, dtype=np.int64), np.ones(2), done, np.zeros(2, dtype=bool), frames[v])
    saved = np.full((2, 1, 2, 2), 77, dtype=np.uint8)
    buf.truncate_last(saved)
    buf.add(
        frames[3],
        np.zeros(2, dtype=np.int64),
        np.ones(2),
        np.zeros(2, dtype=bool),
        np.zeros(2, dtype=bool),
        frames[3],
    )
    b = buf._gather(torch.tensor([2 * 2 + 0, 2 * 2 + 1]), torch.ones(2))  # slot 2, games 0 and 1
    assert (b["next_obs"][0] == 77).all() and b["discount"][0] == 0.5  # cut: bootstraps from the saved frame
    assert b["discount"][1] == 0.0  # terminated there anyway: no bootstrap, nothing changed


def test_pqn_cut_episodes_marks_the_rollouts_last_step(make_config) -> None:
    cfg = make_config("env=minatar/breakout", "model=minatar_cnn", "agent.n_envs=2", "agent.rollout_steps=4")
    from gridrl.agent.networks import build_q_network

    shape, n = obs_spec(cfg.env)
    learner = PQNLearner(cfg.agent, build_q_network(cfg.model, shape, n), shape, 1000, torch.device("cpu"), 0)
    obs = np.zeros((2, *shape), dtype=np.uint8)
    for _ in range(2):
        learner.observe(
            obs, learner.act(obs, 1.0), np.zeros(2), np.array([False, True]), np.zeros(2, bool), obs, obs
        )
    saved = np.full((2, *shape), 255, dtype=np.uint8)
    learner.cut_episodes(saved)
    assert learner.truncated[1].tolist() == [True, False] and learner.terminated[1].tolist() == [False, True]
    assert learner.final_q[1, 0] == pytest.approx(learner.q_values(saved).max(1).values[0].item())
    assert torch.equal(learner.next_obs, torch.as_tensor(saved))


# ------------------------------------------------------------------------------ runs through the CLI
DEBUG = ["trainer=debug", "trainer.threads=1", "trainer.total_steps=2048", "trainer.eval_every=1024",
         "trainer.checkpoint_every=1024", "trainer.log_every=256", "trainer.eval_episodes=8", "agent.n_envs=32",
         "agent.rollout_steps=8"]  # fmt: skip


def test_minatar_run_dir_resume_and_eval_video(tmp_path: Path, capsys) -> None:
    run = tmp_path / "breakout"
    run_cli("train", "env=minatar/breakout", "model=minatar_cnn", *DEBUG, f"hydra.run.dir={run}")
    assert (run / "final" / "q_network.pt").is_file()
    metrics = json.loads((run / "final" / "metrics.json").read_text())
    assert metrics["env_step"] == 2048 and {"mean_return", "ref_ratio", "normalized_score"} <= set(metrics)
    assert "oracle_ratio" not in metrics and "food_rate" not in metrics
    tags = scalars(run)
    assert {"eval/mean_return", "eval/ref_ratio", "eval/normalized_score", "charts/episodic_return"} <= set(
        tags
    )
    assert "charts/food_rate" not in tags and "eval/oracle_ratio" not in tags
    state = ckpt.safe_load(run / "checkpoints" / "ckpt_000000001024.pt")
    assert set(state["game"]) == {"obs"}  # an external env's state is not saved
    # an interruption after the first checkpoint: the newer files are gone, resume continues from 1024
    shutil.rmtree(run / "final")
    (run / "checkpoints" / "ckpt_000000002048.pt").unlink()
    (run / "checkpoints" / "best.pt").unlink(missing_ok=True)
    run_cli("train", f"resume={run}", "trainer.total_steps=3072")
    log = (run / "train.log").read_text()
    assert "its 32 games restart here with reset(seed=" in log and "resumed from" in log
    metrics = json.loads((run / "final" / "metrics.json").read_text())
    assert metrics["env_step"] == 3072 and metrics["train_episodes"] > state["counters"]["episodes"]
    assert [s for s, _ in scalars(run)["eval/mean_return"]] == [1024, 2048, 3072]
    capsys.readouterr()
    run_cli("eval", str(run), "video=true", "video_episodes=2", "episodes=6")
    out = capsys.readouterr().out
    assert (
        "game minatar/breakout; 6 episodes" in out and "% of reference" in out and "normalized score" in out
    )
    report = json.loads((run / "eval" / "eval.json").read_text())
    assert report["env"]["family"] == "minatar" and report["stats"]["episodes"] == 6
    mp4, gif = Path(report["video"]["mp4"]), Path(report["video"]["gif"])
    cap = cv2.VideoCapture(str(mp4))
    ok, frame = cap.read()
    assert ok and frame.shape[:2] == (report["video"]["height"], report["video"]["width"])
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == report["video"]["frames"]
    assert Image.open(gif).n_frames >= 2
    # a game that changes what the network sees or does is refused in one line
    line = refused(capsys, "eval", str(run), "env=minigrid/empty-8x8")
    assert "changes what the network sees or does" in line and "4x10x10 observations and 6 actions" in line
    line = refused(capsys, "eval", str(run), "env.minimal_actions=true")
    assert "(minimal_actions False -> True)" in line and "gives 4x10x10 observations and 3 actions" in line


def test_minigrid_doorkey_run_dir(tmp_path: Path) -> None:
    run = tmp_path / "doorkey"
    run_cli("train", "env=minigrid/doorkey-8x8", "env.max_steps=40", "model=minigrid_cnn", *DEBUG,
            f"hydra.run.dir={run}")  # fmt: skip
    metrics = json.loads((run / "final" / "metrics.json").read_text())
    assert metrics["env_step"] == 2048 and metrics["mean_length"] <= 40
    assert "ref_ratio" not in metrics  # DoorKey has doors and keys: no planner, no reference
    assert {"eval/mean_return", "charts/episodic_length"} <= set(scalars(run))
    from gridrl.policy import load

    agent = load(run)
    assert agent.env == MiniGridConfig(task="doorkey-8x8", max_steps=40)


def test_watching_an_external_env_without_a_window() -> None:
    from gridrl.envs.watch import WatchSession

    session = WatchSession(MinAtarConfig(game="breakout"), lambda obs: np.array([1]), seed=2, size=100)
    pictures = [session.picture()]
    for _ in range(40):
        session.advance()
        pictures.append(session.picture())
    assert session.result.returns and session.result.outcomes[0] == "terminated"
    assert len({p.shape for p in pictures}) == 1 and pictures[0].shape[1] == 100


def test_play_watches_an_external_run_and_refuses_keyboard_play(monkeypatch, capsys, tmp_path: Path) -> None:
    from gridrl.envs.watch import WatchResult

    calls = []
    monkeypatch.setattr("gridrl.window.has_display", lambda: True)
    monkeypatch.setattr(
        "gridrl.envs.watch.watch",
        lambda env, policy, *a: calls.append(env) or WatchResult([3.0], ["terminated"]),
    )
    run = tmp_path / "run"
    run_cli("train", "env=minatar/asterix", "model=minatar_cnn", *DEBUG, "trainer.total_steps=256",
            f"hydra.run.dir={run}")  # fmt: skip
    capsys.readouterr()
    run_cli("play", str(run), "env.sticky_action_prob=0")
    assert calls[-1] == MinAtarConfig(game="asterix", sticky_action_prob=0.0)
    assert "1 episode(s), mean return 3.00; terminated 1" in capsys.readouterr().out
    assert "keyboard play is for the built-in game" in refused(capsys, "play", "env=minatar/breakout")


# ---------------------------------------------------------------------------------------- learning
@pytest.mark.slow
def test_pqn_learns_minatar_breakout_beyond_random_play(tmp_path: Path) -> None:
    """The experiment's settings, a short budget: the greedy policy must beat random play (both measured
    by the evaluator on the same 64 seeded episodes) by a clear margin."""
    import gridrl

    gridrl.train(["experiment=minatar_breakout", "trainer.total_steps=250000", "trainer.eval_every=0",
                  "trainer.checkpoint_every=0", "trainer.eval_episodes=8", "trainer.threads=1",
                  "trainer.progress=false", "agent.epsilon.decay_steps=100000"], run_dir=tmp_path)  # fmt: skip
    agent = gridrl.load(tmp_path)
    ev = make_evaluator(agent.env, 64, 2024)
    learned = ev.run(agent.act).summary()["mean_return"]
    random_mean = float(ev.random_returns.mean())
    assert random_mean < 1.0  # random play rarely hits a brick twice (measured 0.53)
    assert learned > random_mean + 2.0 and learned > 3 * random_mean  # measured 4.1 (the learner off: 0.0)
