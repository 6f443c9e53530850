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


# ------------------------------------------------------------------------------------------ other_games.py
def test_other_games_args_and_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    import other_games as og

    args = og.parse_args(["--envs", "minatar/breakout,empty-8x8", "--learners", "pqn,sb3"])
    assert args.envs == ["breakout", "empty-8x8"] and args.learners == ["pqn", "sb3"]
    assert (args.seeds, args.budget, args.steps) == ([0, 1, 2], 600.0, 100_000)
    for bad in (["--envs", "pong"], ["--learners", "pqn,a2c"]):
        with pytest.raises(SystemExit):
            og.parse_args(bad)
    assert "unknown env 'pong'; choose from breakout" in capsys.readouterr().err
    og.main(["--dry-run"])  # the full default run
    out = capsys.readouterr().out
    assert "72 runs of 600 s: 12.0 h of training" in out
    assert "train experiment=minatar_seaquest agent=dqn_fast seed=2 trainer.time_limit_s=600" in out
    # MinAtar evaluates every 250k steps: the score at 100k comes from a checkpoint there
    assert "experiment=minatar_breakout seed=0" in out and "trainer.checkpoint_every=100000" in out
    assert "sb3_peer.py --experiment=minigrid_lavagap-s7 --hparams=paper" in out


def _records(scores: dict[tuple[str, str], list[float]]) -> list[dict]:
    return [
        {"env": env, "learner": learner, "seed": seed, "rc": 0, "final": v, "env_steps": 1000,
         "at_steps": None if seed == 2 else v / 2}
        for (env, learner), values in scores.items()
        for seed, v in enumerate(values)
    ]  # fmt: skip


def test_other_games_medians_ranges_and_targets() -> None:
    import other_games as og

    paper = {"breakout": 10.0, "asterix": 16.5, "freeway": 50.5, "seaquest": 20.0, "space_invaders": 45.0}
    scores: dict[tuple[str, str], list[float]] = {}
    for game, ref in paper.items():
        above = game in ("breakout", "asterix", "freeway")  # gridrl's best >= the paper on 3 of 5
        scores[(f"minatar/{game}", "pqn")] = [ref + (2 if above else -2) + d for d in (-1.0, 0.0, 3.0)]
        scores[(f"minatar/{game}", "sb3")] = [
            ref - (5 if game != "seaquest" else -5)
        ] * 3  # SB3 wins seaquest
    for task in ("empty-8x8", "doorkey-8x8", "lavagap-s7"):
        scores[(f"minigrid/{task}", "pqn")] = [0.95, 0.85, 0.96]
    records = _records(scores)
    records.append({"env": "minigrid/empty-8x8", "learner": "pqn", "seed": 3, "rc": 1, "error": "boom"})
    summary = og.summarize(records)
    row = summary[("minatar/breakout", "pqn")]
    assert row["final_median"] == 12.0 and row["final"] == [11.0, 12.0, 15.0]
    assert row["at_steps"] == [5.5, 6.0]  # seed 2 never reached --steps
    assert (
        summary[("minigrid/empty-8x8", "pqn")]["ok"] == 3
        and summary[("minigrid/empty-8x8", "pqn")]["runs"] == 4
    )
    text = og.table(records, 600.0, 100_000)
    assert "| minatar/breakout | pqn | 3/3 | 12.0 [11.0-15.0] | 5.8 [5.5-6.0] (2/3 reached) |" in text
    assert "~10 (paper DQN, 5M frames) | >= |" in text
    assert (
        "| minigrid/empty-8x8 | pqn | 3/4 | 0.95 [0.85-0.96] |" in text and ">= 0.9 (target) | >= |" in text
    )
    status = {t.what.split(":")[1].strip(): t for t in og.targets(summary, 600.0)}
    assert status["gridrl's best >= the paper's DQN on 3 of 5 games"].status == "met"
    beat = status["gridrl's best beats SB3 DQN on every game at the same wall time"]
    assert beat.status == "missed" and "seaquest" in beat.detail
    assert status["gridrl's best reaches a mean return >= 0.9 within 10 minutes"].status == "met"
    # a MiniGrid task below 0.9 misses; games not run leave a target open unless the others decide it
    scores[("minigrid/lavagap-s7", "pqn")] = [0.5, 0.95, 0.6]
    few = {k: v for k, v in scores.items() if "breakout" in k[0] or "lavagap" in k[0]}
    res = og.targets(og.summarize(_records(few)), 120.0)
    assert [t.status for t in res] == ["incomplete", "incomplete", "missed"]
    assert "below on lavagap-s7; 2 not run (budget 120 s" in res[2].detail


@pytest.mark.slow
@pytest.mark.parametrize("env", ["breakout", "empty-8x8"])
def test_other_games_quick_runs_gridrl_and_sb3(env: str, tmp_path: Path) -> None:
    """The real plumbing on one game of each family: gridrl's CLI (pqn) and the SB3 peer, 2 s each."""
    pytest.importorskip("stable_baselines3")
    import json

    import other_games as og

    out = tmp_path / "report.md"
    og.main(
        [
            "--quick",
            "--budget",
            "2",
            "--threads",
            "1",
            "--envs",
            env,
            "--learners",
            "pqn,sb3",
            "--out",
            str(out),
        ]
    )
    text = out.read_text()
    label = og.ENVS[env].label
    ref = "~10 (paper DQN, 5M frames)" if env == "breakout" else ">= 0.9 (target)"
    for learner in ("pqn", "sb3"):
        row = next(line for line in text.splitlines() if line.startswith(f"| {label} | {learner} | 1/1 |"))
        cells = [c.strip() for c in row.strip("|").split("|")]
        float(cells[3]), float(cells[4])  # numeric medians: at the end of the budget and at --steps
        assert cells[6] == ref
    assert "## Targets (issue 16)" in text and "Machine: " in text and "torch threads per run" in text
    runs = json.loads(out.with_suffix(".json").read_text())["runs"]
    assert [(r["learner"], r["rc"], r["at_steps_step"]) for r in runs] == [("pqn", 0, 1024), ("sb3", 0, 1024)]


def test_sb3_peer_plays_other_families_with_gridrls_observations_and_network() -> None:
    """GameEnv: gridrl's adapter with one copy (auto-reset kept for SB3's reset()); MiniGrid's (20, 7, 7)
    stays channels-first in SB3; the paper's settings use centred RMSprop."""
    import sb3_peer

    env = sb3_peer.make_env("minatar/breakout")
    obs, _ = env.reset(seed=3)
    assert obs.shape == (4, 10, 10) and obs.dtype == np.uint8 and env.action_space.n == 6
    again, _ = env.reset(seed=3)
    assert (again == obs).all()
    for _ in range(10_000):
        last, _, term, trunc, info = env.step(0)
        if term or trunc:
            break
    assert (term or trunc) and info["episode_length"] >= 1
    first, _ = env.reset()  # the adapter's auto-reset, not a second reset
    assert first.shape == last.shape
    pytest.importorskip("stable_baselines3")
    setup = sb3_peer.peer_setup(experiment="minigrid_empty-8x8")
    assert setup.eval_episodes == 64 and setup.model.name == "minigrid_cnn"
    model = sb3_peer.make_sb3_dqn(setup.env, setup.model, seed=0, hparams="paper")
    assert model.observation_space.shape == (20, 7, 7)
    assert type(model.policy.optimizer).__name__ == "RMSprop" and model.policy.optimizer.defaults["centered"]
    params = sum(p.numel() for p in model.q_net.parameters())
    assert params == sb3_peer.gridrl_parameter_count(setup.env, setup.model)
    assert (model.batch_size, model.target_update_interval, model.exploration_final_eps) == (32, 1000, 0.1)
