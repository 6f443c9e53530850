"""Fast smoke tests of the benchmark scripts: imports, argument parsing, commands, table logic.

No benchmark runs here (they take minutes); see benchmarks/README.md.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCH))

import time_to_solve as tts  # noqa: E402


def test_time_to_solve_args_and_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    args = tts.parse_args(["--configs", "default,dqn,sb3", "--seeds", "0,1", "--budget", "20"])
    assert args.configs == ["default", "dqn", "sb3"] and args.seeds == [0, 1]
    assert args.thresholds == [0.9, 0.95]
    with pytest.raises(SystemExit):
        tts.parse_args(["--configs", "nope"])
    tts.main(
        ["--configs", "default,sb3_clip", "--seeds", "3", "--budget", "7", "--dry-run", "--calibrate-s", "0"]
    )
    out = capsys.readouterr().out
    assert "train seed=3 trainer.time_limit_s=7" in out and "trainer.checkpoint_every=0" in out
    assert "sb3_peer.py" in out and "--reward=clip" in out


def test_time_to_solve_table_counts_unreached_seeds() -> None:
    args = tts.parse_args(["--configs", "default", "--budget", "60"])
    recs = []
    for seed, (t90, t95) in enumerate([(30.0, 45.0), (40.0, math.inf), (20.0, math.inf)]):
        recs.append(
            {
                "config": "default",
                "seed": seed,
                "rc": 0,
                "t0.9": t90,
                "t0.95": t95,
                "steps0.9": 1000 * t90,
                "steps0.95": math.inf,
                "final": 0.96,
                "sps": 1e4,
                "eval_share": 0.02,
                "env_steps": 600_000,
                "stopped_by_time": True,
            }  # fmt: skip
        )
    text = tts.table(recs, ["default"], args)
    assert "30 [20-40]" in text  # t90 median [min-max]
    assert ">60 [45->60] (1/3 reached)" in text  # t95: two seeds never reached it


def test_sb3_peer_matches_gridrl() -> None:
    import sb3_peer

    agent = sb3_peer.load_dqn_config()
    kw = sb3_peer.sb3_dqn_kwargs(agent, 10_000_000)
    assert kw["batch_size"] == agent.batch_size and kw["train_freq"] == round(1 / agent.replay_ratio)
    assert kw["exploration_fraction"] * 10_000_000 == pytest.approx(agent.epsilon.decay_steps)
    env = sb3_peer.make_env("default", reward="clip")
    env.reset(seed=0)
    _, r, *_ = env.step(0)
    assert -1.0 <= r <= 1.0
    pytest.importorskip("stable_baselines3")
    from gridrl.config import load_env_config

    model = sb3_peer.make_sb3_dqn(
        "default", "ego_cnn", seed=0, overrides={"buffer_size": 1000, "learning_starts": 10}
    )
    params = sum(p.numel() for p in model.q_net.parameters())
    assert params == sb3_peer.gridrl_parameter_count(load_env_config("default"), "ego_cnn")
    obs = np.zeros((4, *model.observation_space.shape), dtype=np.uint8)
    assert sb3_peer.greedy_policy(model)(obs).shape == (4,)


@pytest.mark.parametrize("preset", ["dqn", "dqn_fast"])
def test_sb3_peer_reads_agent_presets_as_hydra_composes_them(preset: str) -> None:
    """The peer's light loader follows a preset's same-group defaults (dqn_fast builds on dqn)."""
    import sb3_peer
    from conftest import compose_cfg
    from gridrl.config import to_config

    assert sb3_peer.load_dqn_config(preset) == to_config(compose_cfg([f"agent={preset}"])).agent


@pytest.mark.parametrize(("preset", "n_envs"), [("dqn", 1), ("dqn", 16), ("dqn_fast", 1), ("dqn_fast", 128)])
def test_sb3_peer_keeps_the_replay_ratio_for_any_number_of_games(preset: str, n_envs: int) -> None:
    import sb3_peer

    agent = sb3_peer.load_dqn_config(preset)
    kw = sb3_peer.sb3_dqn_kwargs(agent, 10_000_000, n_envs)
    # SB3: gradient_steps updates every train_freq VecEnv steps of n_envs env steps
    assert kw["gradient_steps"] / (kw["train_freq"] * n_envs) == pytest.approx(agent.replay_ratio)
    assert kw["target_update_interval"] * agent.replay_ratio == pytest.approx(agent.target_update)
    if agent.lr_anneal:  # SB3 passes the fraction of the planned steps left; gridrl anneals over its budget
        from gridrl.agent.common import lr_at
        from gridrl.config import TrainerConfig

        total = TrainerConfig().total_steps
        for step in (0, 1_000_000, total, 2 * total):
            left = 1 - step / 10_000_000
            assert kw["learning_rate"](left) == pytest.approx(lr_at(step, total, agent))
    else:
        assert kw["learning_rate"] == agent.lr


def test_throughput_imports() -> None:
    pytest.importorskip("stable_baselines3")
    import throughput

    assert throughput.SB3_MATCH["batch_size"] == 64 and "agent=dqn" in throughput.DQN_MATCH
