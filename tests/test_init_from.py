"""``init_from``: a new run that starts from a trained network's weights (and nothing else)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

import gridrl
from conftest import GRIDRL, TINY_GAME, compose_cfg
from gridrl.config import to_config
from gridrl.trainer import Trainer
from test_sweeps import hparams_data

TINY = [
    *TINY_GAME,
    "trainer.eval_episodes=20",
    "trainer.eval_every=0",
    "trainer.checkpoint_every=0",
    "agent.n_envs=16",
]
LEARNERS = {
    "pqn": ["agent=pqn"],
    "dqn": ["agent=dqn", "agent.buffer_size=2048", "agent.learning_starts=256", "agent.batch_size=32"],
}


def make_trainer(run_dir: Path, *overrides: str) -> Trainer:
    node = compose_cfg([*TINY, *overrides])
    return Trainer(to_config(node), run_dir, OmegaConf.to_yaml(node))


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny trained pqn run (default game rules on 5x5, one static enemy)."""
    run = tmp_path_factory.mktemp("source")
    make_trainer(run, "trainer.total_steps=4096", "agent.epsilon.decay_steps=2048").run()
    return run


@pytest.mark.parametrize("learner", list(LEARNERS))
def test_a_new_run_starts_from_the_weights_in_another_game(
    tmp_path: Path, source: Path, learner: str
) -> None:
    # more enemies that move, another learner and budget: the same view size and actions
    game = ["env.n_enemies=3", "env.enemy_motion=random", "trainer.total_steps=8192", *LEARNERS[learner]]
    trainer = make_trainer(tmp_path / "warm", *game, f"init_from={source}")
    trainer._warm_start()
    trained = gridrl.load(source)
    # the first greedy actions in the new game are the source agent's
    assert (trainer.learner.greedy(trainer.obs) == trained.act(trainer.obs)).all()
    weights = trainer.learner.online.state_dict()
    assert all(torch.equal(weights[k].cpu(), v.cpu()) for k, v in trained.net.state_dict().items())
    if learner == "dqn":  # the target network is the same weights
        target = trainer.learner.target.state_dict()  # type: ignore[attr-defined]
        assert all(torch.equal(target[k], weights[k]) for k in weights)
    # nothing else comes along: no optimizer moments, no counters
    assert trainer.learner.optimizer.state_dict()["state"] == {}
    assert trainer.learner.updates == 0 and trainer.env_step == 0
    # and without init_from the same run starts elsewhere (the check above can fail)
    cold = make_trainer(tmp_path / "cold", *game).learner.online.state_dict()
    assert any(not torch.equal(cold[k], weights[k]) for k in weights)


def test_a_run_from_weights_records_them_and_trains_on(tmp_path: Path, source: Path) -> None:
    run = tmp_path / "run"
    proc = subprocess.run(
        [GRIDRL, "train", *TINY, "env.n_enemies=3", "env.height=7", "env.width=8",  # fovea: any grid size
         "trainer.total_steps=1024", f"init_from={source}",
         f"hydra.run.dir={run}"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"init_from: online network weights of {source}/final/q_network.pt" in proc.stderr
    assert OmegaConf.load(run / "final" / "config.yaml").init_from == str(source)
    hp = hparams_data(run)["session_start_info"].hparams  # type: ignore[attr-defined]
    assert hp["init_from"].string_value == str(source)
    after = torch.load(run / "final" / "q_network.pt", weights_only=True)
    before = gridrl.load(source).net.state_dict()
    assert any(not torch.equal(after[k], before[k]) for k in before)  # it trained from there


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([GRIDRL, "train", *args], capture_output=True, text=True, timeout=120, cwd=tmp_path)


@pytest.mark.parametrize(
    ("change", "needles"),
    [
        ("env.obs_mode=ego", ("init_from=", "6x11x11 observations", "3x9x9", "obs_mode fovea -> ego")),
        ("env.actions=seed8", ("init_from=", "9 actions", "and 8", "actions sentdex9 -> seed8")),
        ("model=mlp", ("init_from=", "does not fit this run's model (mlp)", "fovea_cnn")),
    ],
)
def test_weights_that_do_not_fit_are_refused_in_one_line(
    tmp_path: Path, source: Path, change: str, needles: tuple[str, ...]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    proc = cli(out, *TINY, f"init_from={source}", change)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert all(n in lines[0] for n in needles), lines[0]
    assert list(out.iterdir()) == []  # nothing written


def test_resume_from_a_weights_file_points_to_init_from(tmp_path: Path, source: Path) -> None:
    for target in (source / "final" / "q_network.pt", source / "checkpoints" / "best.pt"):
        before = {p: p.stat().st_mtime_ns for p in source.rglob("*") if p.is_file()}
        proc = cli(tmp_path, f"resume={target}", "trainer.total_steps=8192")
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1, proc.stderr
        assert f"init_from={target}" in lines[0] and "not a resume checkpoint" in lines[0]
        assert before == {p: p.stat().st_mtime_ns for p in source.rglob("*") if p.is_file()}


def test_init_from_a_missing_path_is_one_line(tmp_path: Path) -> None:
    proc = cli(tmp_path, *TINY, f"init_from={tmp_path / 'nope'}")
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and "no such run dir or file" in lines[0], proc.stderr
    assert list(tmp_path.iterdir()) == []
