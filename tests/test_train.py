"""The Trainer end to end: learning on a tiny game, determinism, TensorBoard tags, NaN guard."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import TINY_GAME, compose_cfg
from gridrl import tblog
from gridrl.config import to_config
from gridrl.trainer import Trainer, TrainingDiverged

TINY = [
    *TINY_GAME,
    "trainer.eval_episodes=200",
    "trainer.checkpoint_every=0",
]


def make_trainer(run_dir: Path, *overrides: str) -> Trainer:
    node = compose_cfg([*TINY, *overrides])
    return Trainer(to_config(node), run_dir, OmegaConf.to_yaml(node))


def random_return(trainer: Trainer) -> float:
    rng = np.random.default_rng(0)
    n = trainer.game.n_actions
    return trainer.evaluator.run(lambda o: rng.integers(0, n, len(o))).summary()["mean_return"]


def scalars(run_dir: Path) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(run_dir / "tb"), size_guidance={"scalars": 0, "images": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


@pytest.mark.slow
@pytest.mark.parametrize(
    "overrides",
    [
        # (PQN with the default ego CNN: tests/test_learning.py, against truly random play)
        # replay DQN with double + 3-step returns
        (
            "agent=dqn",
            "agent.n_envs=8",
            "agent.learning_starts=1000",
            "agent.buffer_size=20000",
            "agent.epsilon.decay_steps=15000",
            "agent.target_update=250",
            "agent.replay_ratio=0.25",
            "trainer.total_steps=30000",
        ),
        # the batched replay DQN preset: minibatches of 512, one gradient step per 256 env steps
        (
            "agent=dqn_fast",
            "agent.n_envs=32",
            "agent.lr=1e-3",
            "agent.learning_starts=2000",
            "agent.buffer_size=20000",
            "agent.epsilon.decay_steps=50000",
            "agent.target_update=25",
            "trainer.total_steps=120000",
        ),
        # PQN under bfloat16 autocast
        (
            "agent.n_envs=32",
            "agent.minibatches=2",
            "agent.lr=1e-3",
            "agent.epsilon.decay_steps=50000",
            "trainer.total_steps=120000",
            "trainer.precision=bf16",
        ),
    ],
    ids=["dqn", "dqn_fast", "pqn-bf16"],
)
def test_agent_learns_a_tiny_game(tmp_path: Path, overrides: tuple[str, ...]) -> None:
    trainer = make_trainer(tmp_path, *overrides, "trainer.eval_every=0")
    baseline = random_return(trainer)
    result = trainer.run()
    oracle = result["oracle_mean_return"]
    # the loop-stopped random baseline is around -45 on this game (truly random play: -106, see
    # tests/test_learning.py) and the oracle +23.5: demand most of that gap
    assert baseline < -30
    assert result["mean_return"] > baseline + 0.6 * (oracle - baseline), (result, baseline)
    assert (tmp_path / "final" / "q_network.pt").exists()


@pytest.mark.parametrize("agent", ["pqn", "dqn"])
def test_bf16_runs_the_network_in_bfloat16_and_hands_out_float32(tmp_path: Path, agent: str) -> None:
    trainer = make_trainer(
        tmp_path,
        f"agent={agent}",
        "trainer.precision=bf16",
        "agent.n_envs=4",
        *(["agent.learning_starts=256", "agent.buffer_size=2048"] if agent == "dqn" else []),
        "trainer.total_steps=1024",
        "trainer.eval_episodes=20",
    )
    result = trainer.run()  # gradient steps under autocast: finite losses (the Trainer checks)
    assert trainer.learner.updates > 0 and math.isfinite(result["mean_return"])
    learner = trainer.learner
    seen: list[tuple[torch.dtype, torch.dtype]] = []
    learner.online.head.register_forward_hook(lambda mod, inp, out: seen.append((inp[0].dtype, out.dtype)))
    q = learner.q_values(trainer.obs)
    assert seen == [(torch.float32, torch.float32)] and q.dtype == torch.float32  # the Q head runs in fp32
    with torch.no_grad():  # the body in bfloat16: the same weights in float32 give slightly other Q-values
        q32 = learner.online(torch.as_tensor(trainer.obs))
    assert not torch.equal(q, q32)
    torch.testing.assert_close(q, q32, atol=0.02 * float(q32.abs().max()), rtol=0.0)
    # acting moves the batch to the device once; observe stores that same tensor
    learner.act(trainer.obs, 0.0)
    assert learner._acted is not None and learner.obs_tensor(trainer.obs) is learner._acted[1]
    assert learner.obs_tensor(trainer.obs.copy()) is not learner._acted[1]


def test_same_seed_same_numbers(tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        trainer = make_trainer(
            tmp_path / name, "agent.n_envs=16", "trainer.total_steps=2048", "trainer.log_every=256"
        )
        trainer.run()
        runs.append(trainer)
    a, b = (scalars(tmp_path / n) for n in ("a", "b"))
    assert a[tblog.TD_LOSS] == b[tblog.TD_LOSS] and len(a[tblog.TD_LOSS]) >= 4
    assert a[tblog.EVAL_MEAN_RETURN] == b[tblog.EVAL_MEAN_RETURN]
    wa = torch.load(tmp_path / "a" / "final" / "q_network.pt", weights_only=True)
    wb = torch.load(tmp_path / "b" / "final" / "q_network.pt", weights_only=True)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    # another seed gives other numbers
    c = make_trainer(
        tmp_path / "c", "agent.n_envs=16", "trainer.total_steps=2048", "trainer.log_every=256", "seed=1"
    )
    c.run()
    assert scalars(tmp_path / "c")[tblog.TD_LOSS] != a[tblog.TD_LOSS]


def test_tensorboard_tags_and_images(tmp_path: Path) -> None:
    make_trainer(tmp_path, "agent.n_envs=16", "trainer.total_steps=4096", "trainer.log_every=512").run()
    tags = scalars(tmp_path)
    for tag in tblog.SCALAR_TAGS:
        assert tag in tags, tag
        assert all(math.isfinite(v) for _, v in tags[tag])
    steps = [s for s, _ in tags[tblog.SPS]]
    assert steps == sorted(steps) and steps[-1] == 4096  # plotted against env steps
    acc = EventAccumulator(str(tmp_path / "tb"), size_guidance={"images": 0})
    acc.Reload()
    assert tblog.GAME_FRAMES in acc.Tags()["images"]
    assert (tmp_path / "final" / "config.yaml").read_text().strip()


def test_nan_loss_stops_training_and_keeps_the_last_checkpoint(tmp_path: Path) -> None:
    trainer = make_trainer(
        tmp_path,
        "agent.n_envs=16",
        "trainer.total_steps=8192",
        "trainer.checkpoint_every=1024",
        "trainer.eval_every=0",
    )
    original = trainer.learner.update
    calls = {"n": 0}

    def poisoned(step: int):
        out = original(step)
        if out is not None:
            calls["n"] += 1
            if calls["n"] == 5:
                return {"td_loss": float("nan"), "q_values": 0.0}
        return out

    trainer.learner.update = poisoned  # type: ignore[method-assign]
    with pytest.raises(TrainingDiverged, match="loss became nan"):
        trainer.run()
    ckpts = sorted((tmp_path / "checkpoints").glob("ckpt_*.pt"))
    assert ckpts and not (tmp_path / "final").exists()


def test_video_at_each_evaluation(tmp_path: Path) -> None:
    import cv2

    make_trainer(
        tmp_path,
        "agent.n_envs=16",
        "trainer.total_steps=2048",
        "trainer.eval_every=1024",
        "trainer.video=true",
        "trainer.video_episodes=1",
        "env.max_steps=10",
    ).run()
    videos = sorted((tmp_path / "videos").glob("step_*.mp4"))
    assert [v.name for v in videos] == ["step_000000001024.mp4", "step_000000002048.mp4"]
    cap = cv2.VideoCapture(str(videos[-1]))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) >= 2
    assert (tmp_path / "videos" / "step_000000002048.gif").stat().st_size > 0
