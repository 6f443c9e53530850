"""`gridrl plot`: runs found, grouped by config minus the seed, curves checked from the data, files."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from conftest import refused
from gridrl import tblog
from gridrl.cli import main
from gridrl.config import ConfigError
from gridrl.plot import curves, plot_runs
from gridrl.rundir import find_runs
from gridrl.runs import group_runs, load_runs


def plot_command(args: list[str]) -> int:
    return main(["plot", *args])


STEPS = [1000, 2000, 3000, 4000]


def value(lr: float, seed: int, step: int) -> float:
    """The synthetic eval/mean_return of a run: a per-lr slope, a per-seed offset."""
    return (1.0 if lr == 1e-3 else 0.5) * step / 100 + 2 * seed


def write_run(run_dir: Path, lr: float, seed: int, steps=STEPS, hydra_dir: bool = False) -> Path:
    """A run dir as gridrl train leaves it: a config, and TensorBoard events by the Trainer's logger."""
    config = {
        "env": {"height": 10, "width": 10, "obs_mode": "ego"},
        "model": {"name": "ego_cnn", "layers": [{"type": "flatten"}]},
        "agent": {"name": "pqn", "lr": lr},
        "trainer": {"total_steps": STEPS[-1], "threads": seed},
        "seed": seed,
        "device": "cpu",
        "resume": None,
        "name": "${hydra:runtime.choices.env}",
    }
    cfg_path = run_dir / (".hydra/config.yaml" if hydra_dir else "final/config.yaml")
    cfg_path.parent.mkdir(parents=True)
    cfg_path.write_text(yaml.safe_dump(config))
    tb = tblog.TBLogger(run_dir / "tb")
    for s in steps:
        tb.scalars(
            {tblog.EVAL_MEAN_RETURN: value(lr, seed, s), tblog.EVAL_ORACLE_RATIO: s / 5000, tblog.SPS: 1e4}, s
        )
    tb.close()
    return run_dir


@pytest.fixture
def sweep(tmp_path) -> Path:
    """A sweep dir as Hydra's multirun leaves it: 2 learning rates x 2 seeds, one numbered dir each."""
    root = tmp_path / "multirun" / "2026-01-01" / "12-00-00"
    for i, (lr, seed) in enumerate([(1e-3, 0), (1e-3, 1), (3e-4, 0), (3e-4, 1)]):
        write_run(root / str(i), lr, seed, hydra_dir=i == 3)
    return tmp_path / "multirun"


def test_two_settings_two_seeds_give_two_curves(sweep, tmp_path):
    res = plot_runs([sweep], tmp_path / "out" / "curves.png")
    assert len(res.runs) == 4
    assert sorted(res.curves) == ["agent.lr=0.0003", "agent.lr=0.001"]
    for lr, label in ((1e-3, "agent.lr=0.001"), (3e-4, "agent.lr=0.0003")):
        c = res.curves[label]
        runs = np.array([[value(lr, seed, s) for s in STEPS] for seed in (0, 1)])
        assert c.runs == 2 and c.steps.tolist() == STEPS and c.count.tolist() == [2] * 4
        np.testing.assert_allclose(c.mean, runs.mean(0), rtol=1e-6)
        np.testing.assert_allclose(c.std, runs.std(0), rtol=1e-6)  # seed offsets 0 and 2: std 1
        np.testing.assert_allclose(c.high - c.low, 2 * runs.std(0), rtol=1e-6)
    img = cv2.imread(str(res.png))
    assert img is not None and img.shape[0] > 300 and img.shape[1] > 600
    md = res.md.read_text().strip().splitlines()
    assert res.md == tmp_path / "out" / "curves.md" and len(md) == 2 + 2
    assert "| agent.lr=0.001 | 2 | 4,000 | 41.00 ± 1.00 | 80.0% ± 0.0% |" in md
    rows = list(csv.DictReader(res.csv.open()))
    assert [r["group"] for r in rows] == ["agent.lr=0.001", "agent.lr=0.0003"]
    assert float(rows[1]["eval/mean_return mean"]) == pytest.approx(value(3e-4, 0, 4000) + 1)
    assert float(rows[1]["eval/oracle_ratio std"]) == 0.0 and rows[1]["steps"] == "4000"


def test_minmax_band_and_group_by(sweep):
    runs = load_runs([sweep])
    c = curves(group_runs(runs), tblog.EVAL_MEAN_RETURN, spread="minmax")["agent.lr=0.001"]
    np.testing.assert_allclose(c.low, [value(1e-3, 0, s) for s in STEPS], rtol=1e-6)
    np.testing.assert_allclose(c.high, [value(1e-3, 1, s) for s in STEPS], rtol=1e-6)
    by_seed = group_runs(runs, ["seed"])
    assert sorted(by_seed) == ["seed=0", "seed=1"] and all(len(v) == 2 for v in by_seed.values())
    assert len(group_runs(runs, ["agent.name"])) == 1
    with pytest.raises(ConfigError, match="group_by=agent.gamma is in no run's config"):
        group_runs(runs, ["agent.gamma"])


def test_one_setting_is_one_curve_and_runs_of_unequal_length(tmp_path):
    write_run(tmp_path / "a", 1e-3, 0)
    write_run(tmp_path / "b", 1e-3, 1, steps=STEPS[:2])  # a run stopped early (time limit, crash)
    groups = group_runs(load_runs([tmp_path / "a", tmp_path / "b"]))
    assert list(groups) == ["pqn, ego_cnn, 10x10 ego"]
    c = curves(groups)["pqn, ego_cnn, 10x10 ego"]
    assert c.count.tolist() == [2, 2, 1, 1]
    assert c.mean[-1] == pytest.approx(value(1e-3, 0, 4000)) and c.std[-1] == 0.0


def test_find_runs(sweep, tmp_path):
    runs = find_runs([sweep, sweep / "2026-01-01" / "12-00-00" / "0"])
    assert len(runs) == 4 and runs == sorted(runs)
    with pytest.raises(FileNotFoundError, match="no such directory"):
        find_runs([tmp_path / "missing"])


def test_plot_cli(sweep, tmp_path, capsys):
    out = tmp_path / "c.png"
    args = [str(sweep), f"out={out}", "tag=eval/oracle_ratio", "spread=minmax", "title='Sweep: lr, 1e-3'"]
    assert main(["plot", *args]) == 0
    text = capsys.readouterr().out
    assert "4 run(s) in 2 group(s)" in text and out.is_file() and out.with_suffix(".csv").is_file()
    assert "outt is not a key of PlotCommandConfig; did you mean out" in refused(
        capsys, "plot", str(sweep), "outt=x.png"
    )
    assert "tag=eval/nope: no run logged it" in refused(
        capsys, "plot", str(sweep), f"out={out}", "tag=eval/nope"
    )
    final = tmp_path / "multirun" / "2026-01-01" / "12-00-00" / "0" / "final"
    final.mkdir(parents=True, exist_ok=True)
    assert "no runs" in refused(capsys, "plot", str(final))
    assert "at least one run" in refused(capsys, "plot", f"out={out}")
    assert "no such directory" in refused(capsys, "plot", str(tmp_path / "missing"), f"out={out}")


def test_plot_group_by_plain_list(sweep, tmp_path, capsys):
    assert plot_command([str(sweep), f"out={tmp_path / 'g.png'}", "group_by=agent.lr,seed"]) == 0
    assert "4 run(s) in 4 group(s)" in capsys.readouterr().out


def test_resumed_run_keeps_the_values_written_last(tmp_path):
    """A resumed run reopens tb/ with purge_step at its checkpoint and rewrites the later steps."""
    write_run(tmp_path / "r", 1e-3, 0)
    tb = tblog.TBLogger(tmp_path / "r" / "tb", purge_step=3000)
    for s in (3000, 4000, 5000):
        tb.scalars({tblog.EVAL_MEAN_RETURN: -s}, s)
    tb.close()
    (run,) = load_runs([tmp_path / "r"], [tblog.EVAL_MEAN_RETURN])
    steps, values = run.scalars[tblog.EVAL_MEAN_RETURN]
    assert steps.tolist() == [1000, 2000, 3000, 4000, 5000]
    assert values.tolist() == [value(1e-3, 0, 1000), value(1e-3, 0, 2000), -3000, -4000, -5000]


def test_dirs_named_like_key_value(tmp_path, capsys):
    """Hydra sweeps may name job dirs after their overrides (agent.lr=0.001,seed=0)."""
    write_run(tmp_path / "agent.lr=0.001,seed=0", 1e-3, 0)
    assert plot_command([str(tmp_path / "agent.lr=0.001,seed=0"), f"out={tmp_path / 'c.png'}"]) == 0
    assert "1 run(s) in 1 group(s)" in capsys.readouterr().out


def test_equal_networks_group_together_across_schema_versions(tmp_path):
    """Unused layer fields (a relu's stride) and stride 0 (= the usual default) do not split a group."""
    old = [{"type": "conv", "channels": 16, "kernel": 3, "stride": 1, "padding": 0, "features": 0},
           {"type": "relu", "channels": 0, "kernel": 3, "stride": 1, "features": 0}]  # fmt: skip
    new = [{"type": "conv", "channels": 16, "kernel": 3, "stride": 0, "padding": 0, "features": 0},
           {"type": "relu", "channels": 0, "kernel": 3, "stride": 0, "features": 0}]  # fmt: skip
    wider = [{"type": "conv", "channels": 32, "kernel": 3, "stride": 1, "padding": 0}, {"type": "relu"}]
    for name, layers, seed in (("a", old, 0), ("b", new, 1), ("c", wider, 0)):
        write_run(tmp_path / name, 1e-3, seed)
        path = tmp_path / name / "final" / "config.yaml"
        config = yaml.safe_load(path.read_text())
        config["model"]["layers"] = layers
        path.write_text(yaml.safe_dump(config))
    groups = group_runs(load_runs([tmp_path]))
    assert sorted(len(v) for v in groups.values()) == [1, 2]
    assert all(label.startswith("model.layers=") for label in groups)


def test_keys_a_preset_implies_are_labelled_by_the_run_name(tmp_path):
    """agent=pqn,dqn x agent.lr=a,b: the dozen agent keys the preset sets collapse into the run's name
    (default: <env preset>-<agent preset>); the lr, which varies within a preset, stays in the label."""
    for i, (agent, lr, batch) in enumerate([("pqn", 1e-3, 512), ("pqn", 3e-4, 512), ("dqn", 1e-3, 64)]):
        write_run(tmp_path / str(i), lr, 0)
        path = tmp_path / str(i) / "final" / "config.yaml"
        config = yaml.safe_load(path.read_text())
        config["agent"].update(name=agent, batch_size=batch)
        config["name"] = f"default-{agent}"
        path.write_text(yaml.safe_dump(config))
    labels = sorted(group_runs(load_runs([tmp_path])))
    assert labels == [
        "default-dqn, agent.lr=0.001",
        "default-pqn, agent.lr=0.0003",
        "default-pqn, agent.lr=0.001",
    ]
    # one name for all: the differing keys label the groups, as before
    path = tmp_path / "2" / "final" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["name"] = "default-pqn"
    path.write_text(yaml.safe_dump(config))
    assert "agent.batch_size=64, agent.lr=0.001, agent.name=dqn" in group_runs(load_runs([tmp_path]))


def test_oracle_level_from_return_and_ratio(sweep):
    from gridrl.plot import oracle_levels

    groups = group_runs(load_runs([sweep]))
    # last eval at 4000: ratio 0.8; returns 40 + 2 * seed (lr 1e-3) and 20 + 2 * seed (3e-4); median of 2 seeds
    assert oracle_levels(groups) == {"oracle (agent.lr=0.001)": 51.25, "oracle (agent.lr=0.0003)": 26.25}
    assert oracle_levels({"one": groups["agent.lr=0.001"]}) == {"oracle": 51.25}


def test_plot_compare_prints_intervals_and_writes_the_figures(tmp_path, capsys):
    """3 seeds x 2 configs, the larger lr better in every seed: IQM and mean with CIs, P(X > Y) = 1 for
    the better config, the profile / POI / interval figures, time to a threshold."""
    root = tmp_path / "sweep"
    for i, (lr, seed) in enumerate([(lr, s) for lr in (1e-3, 3e-4) for s in (0, 1, 2)]):
        write_run(root / str(i), lr, seed)
    out = tmp_path / "c.png"
    args = [str(root), f"out={out}", "compare=true", "score=eval/mean_return", "threshold=30"]
    assert plot_command(args) == 0
    text = capsys.readouterr().out
    finals = {lr: np.array([value(lr, s, STEPS[-1]) for s in (0, 1, 2)]) for lr in (1e-3, 3e-4)}
    assert f"IQM {finals[1e-3].mean():.2f}" in text.replace("  ", " ") or f"{finals[1e-3].mean():.2f}" in text
    assert "P(X > Y)" in text or "P(" in text
    for name in ("c_poi.png", "c_profile.png", "c_intervals.png"):
        img = cv2.imread(str(tmp_path / name))
        assert img is not None and img.shape[0] > 100, name
    md = out.with_suffix(".md").read_text()
    assert "IQM" in md and "agent.lr=0.001" in md
    from gridrl.compare import compare_runs
    from gridrl.runs import group_runs, load_runs

    groups = group_runs(load_runs([root]))
    found = compare_runs(groups, tmp_path / "x", "eval/mean_return", compare=True, threshold=30)
    better, worse = "agent.lr=0.001", "agent.lr=0.0003"
    assert found.poi[(better, worse)].value == 1.0 and found.poi[(worse, better)].value == 0.0
    assert found.aggregates[better].mean.value == pytest.approx(finals[1e-3].mean())
    assert (
        found.aggregates[better].iqm.low
        <= found.aggregates[better].iqm.value
        <= found.aggregates[better].iqm.high
    )
    assert found.times[better].reached == sum(any(value(1e-3, s, t) >= 30 for t in STEPS) for s in (0, 1, 2))
