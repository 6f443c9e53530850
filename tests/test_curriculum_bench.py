"""Smoke test of benchmarks/curriculum.py: the commands it runs (no training here) and its table."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from gridrl.config import compose_config

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import curriculum  # noqa: E402


def test_stages_start_from_the_previous_stage_and_scratch_gets_the_whole_budget(
    capsys: pytest.CaptureFixture[str],
) -> None:
    curriculum.main(["--seeds", "4", "--stage-steps", "30000", "--dry-run"])
    commands = [shlex.split(line) for line in capsys.readouterr().out.splitlines() if " train " in line]
    assert len(commands) == 4  # three stages, then scratch
    runs = [next(a.split("=", 1)[1] for a in c if a.startswith("hydra.run.dir=")) for c in commands]
    for i, cmd in enumerate(commands):
        overrides = [a for a in cmd[cmd.index("train") + 1 :] if not a.startswith(("hydra.", "init_from="))]
        cfg = compose_config(overrides)  # each is a valid gridrl train command line
        assert cfg.seed == 4
        warm = [a for a in cmd if a.startswith("init_from=")]
        assert warm == ([f"init_from={runs[i - 1]}"] if i in (1, 2) else [])
        assert cfg.trainer.total_steps == (90_000 if i == 3 else 30_000)
        if i >= 2:  # the final game: moving enemies
            assert cfg.env.n_enemies == 3 and cfg.env.enemy_motion == "random"


def test_the_table_puts_the_final_stage_beside_scratch() -> None:
    args = curriculum.argparse.Namespace(seeds="0,1", stage_steps=100, warm_epsilon=0.3, threads=1)
    machine = {"lscpu": "cpu", "nproc": 2, "torch": "t", "threads": 1, "commit": "c", "load_before": (0.5,),
               "wall_s": 60.0}  # fmt: skip
    metrics = {"env_step": 100, "food_rate": 0.5, "enemy_rate": 0.1, "wall_s": 5.0}
    records = [
        {"run": run, "seed": seed, "mean_return": ret, "oracle_ratio": ret / 10, **metrics}
        for run, rets in (("curriculum 3", (4.0, 8.0)), ("scratch", (1.0, 3.0)))
        for seed, ret in enumerate(rets)
    ]
    text = curriculum.report(records, args, machine)
    assert "| **curriculum 3** | 3 moving enemies | 100 | 2 | **6.00 [4.00-8.00]** | 60.0 [40.0-80.0]" in text
    assert "| **scratch** | 3 moving enemies | 100 | 2 | **2.00 [1.00-3.00]** | 20.0 [10.0-30.0]" in text
