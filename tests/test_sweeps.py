"""Sweeps: Hydra multirun with the joblib and submitit launchers and the Optuna sweeper; the sweep
summary, HParams data, failed jobs and resume (gridrl.sweep, conf/hydra/launcher, conf/hparams_search).

The multirun tests start real ``gridrl train -m`` processes on the ``debug`` trainer (each process
imports torch: several seconds) and are marked slow; the summary and thread logic are tested directly.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from gridrl import sweep
from gridrl.rundir import RunDir

ROOT = Path(__file__).resolve().parents[1]
GRIDRL = Path(sys.executable).with_name("gridrl")
DEBUG_STEPS = 8192  # trainer=debug total_steps


def needs(*modules: str) -> None:
    for m in modules:
        pytest.importorskip(m, reason=f"{m} missing: pip install -e '.[sweeps]'")


def gridrl_train(*args: str, cwd: Path, timeout: float = 300) -> str:
    """Run ``gridrl train <args>``; return stdout + stderr (the test fails with them on a non-zero exit)."""
    if not GRIDRL.exists():
        pytest.skip(f"{GRIDRL} not installed (pip install -e .)")
    env = {**os.environ, "HYDRA_FULL_ERROR": "1"}
    proc = subprocess.run(
        [str(GRIDRL), "train", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-6000:]
    return out


def read_summary(sweep_dir: Path) -> list[dict[str, str]]:
    with open(sweep_dir / sweep.SUMMARY_CSV, newline="") as f:
        return list(csv.DictReader(f))


def hparams_data(run_dir: Path) -> dict[str, object]:
    """The HParams plugin records in a run's event files: {'experiment': ..., 'session_start_info': ...}."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import plugin_data_pb2

    found: dict[str, object] = {}
    for events in sorted((run_dir / "tb").glob("events.out.tfevents.*")):
        acc = EventAccumulator(str(events), size_guidance={"tensors": 0, "scalars": 0})
        acc.Reload()
        try:
            content = acc.PluginTagToContent("hparams")
        except KeyError:  # an event file without HParams data (e.g. before a resume)
            content = {}
        for raw in content.values():
            data = plugin_data_pb2.HParamsPluginData.FromString(raw)
            kind = data.WhichOneof("data")
            found[kind] = getattr(data, kind)
        if "hparams/mean_return" in acc.Tags()["scalars"]:
            found["mean_return_scalar"] = acc.Scalars("hparams/mean_return")[-1].value
    return found


def file_states(run_dir: Path) -> dict[str, tuple[int, str]]:
    """(mtime_ns, sha1) of a run's results: final weights and metrics, checkpoints, event files."""
    out = {}
    for p in (
        sorted(run_dir.glob("final/*")) + sorted(run_dir.glob("checkpoints/*")) + sorted(run_dir.glob("tb/*"))
    ):
        out[p.relative_to(run_dir).as_posix()] = (
            p.stat().st_mtime_ns,
            hashlib.sha1(p.read_bytes()).hexdigest(),
        )
    return out


# ------------------------------------------------------------------------ joblib: 2 jobs in parallel
# trainer=debug spelt out as trainer.* keys: a resumed run may change trainer.* keys (the runner refuses
# a trainer=<preset> group override on resume for now)
TINY_TRAINER = (
    "trainer.total_steps=8192",
    "trainer.eval_every=4096",
    "trainer.eval_episodes=50",
    "trainer.checkpoint_every=4096",
    "trainer.progress=false",
)
JOBLIB_ARGS = ("-m", "hydra/launcher=parallel", "agent.lr=1e-3,3e-4", *TINY_TRAINER)


@pytest.fixture(scope="module")
def joblib_sweep(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    needs("hydra_plugins.hydra_joblib_launcher")
    base = tmp_path_factory.mktemp("joblib")
    sweep_dir = base / "sweep"
    out = gridrl_train(*JOBLIB_ARGS, f"hydra.sweep.dir={sweep_dir}", cwd=base)
    return sweep_dir, out


@pytest.mark.slow
def test_joblib_sweep_runs_summary_and_hparams(joblib_sweep: tuple[Path, str]) -> None:
    import torch

    sweep_dir, out = joblib_sweep
    assert "Joblib.Parallel" in out
    rows = read_summary(sweep_dir)
    assert [r["job"] for r in rows] == ["0", "1"]
    for row, lr in zip(rows, (1e-3, 3e-4), strict=True):
        run = sweep_dir / row["dir"]
        assert row["dir"] == row["job"]  # <sweep dir>/<job number>/
        weights = torch.load(run / "final" / "q_network.pt", weights_only=True)
        assert weights and all(isinstance(v, torch.Tensor) for v in weights.values())
        metrics = json.loads((run / "final" / "metrics.json").read_text())
        assert metrics["env_step"] == DEBUG_STEPS
        assert list((run / "tb").glob("events.out.tfevents.*"))
        assert (run / ".hydra" / "overrides.yaml").is_file()
        # n_jobs=-1 runs one job per core: each job gets one torch thread
        job = json.loads((RunDir(run).job).read_text())
        assert job["threads"] == 1 and job["launcher"] == "JoblibLauncher"
        assert re.search(r"device cpu \((fp32|bf16)[^)]*\), 1 threads", (run / "train.log").read_text())
        # summary row: the job's overrides -> its final evaluation, steps and times
        assert row["status"] == "ok" and row["error"] == ""
        assert float(row["agent.lr"]) == pytest.approx(lr)
        assert float(row["mean_return"]) == pytest.approx(metrics["mean_return"])
        assert float(row["oracle_ratio"]) == pytest.approx(metrics["oracle_ratio"])
        assert int(row["env_steps"]) == DEBUG_STEPS
        assert float(row["train_s"]) > 0 and float(row["wall_s"]) >= float(row["train_s"])
        # HParams dashboard data in the run's own event file
        hp = hparams_data(run)
        assert {"experiment", "session_start_info", "session_end_info"} <= hp.keys()
        hparams = hp["session_start_info"].hparams
        assert hparams["agent.lr"].number_value == pytest.approx(lr)
        assert hparams["agent.name"].string_value == "pqn"
        assert hparams["trainer.total_steps"].number_value == DEBUG_STEPS
        assert "hparams/mean_return" in {m.name.tag for m in hp["experiment"].metric_infos}
        assert hp["mean_return_scalar"] == pytest.approx(metrics["mean_return"], abs=1e-3)
    md = (sweep_dir / sweep.SUMMARY_MD).read_text()
    assert "2 jobs: 2 ok, 0 failed, 0 incomplete." in md and "Every job: `trainer.total_steps=8192`" in md
    assert "| job | status | agent.lr | eval mean return |" in md
    assert "| [0](0) | ok | 0.001 |" in md and "| [1](1) | ok | 0.0003 |" in md
    assert "sweep summary: 2 jobs, 2 ok, 0 failed" in out


@pytest.mark.slow
def test_hparams_dashboard_lists_the_sweep_runs(joblib_sweep: tuple[Path, str]) -> None:
    """TensorBoard's own HParams backend, pointed at the sweep dir, compares the two runs."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import api_pb2, backend_context, list_session_groups

    sweep_dir, _ = joblib_sweep
    mux = plugin_event_multiplexer.EventMultiplexer()
    mux.AddRunsFromDirectory(str(sweep_dir))
    mux.Reload()
    tb = base_plugin.TBContext(
        logdir=str(sweep_dir),
        multiplexer=mux,
        data_provider=data_provider.MultiplexerDataProvider(mux, str(sweep_dir)),
    )
    request = api_pb2.ListSessionGroupsRequest(
        experiment_name="",
        allowed_statuses=[api_pb2.STATUS_UNKNOWN, api_pb2.STATUS_SUCCESS],
        start_index=0,
        slice_size=100,
    )
    groups = list_session_groups.Handler(
        context.RequestContext(), backend_context.Context(tb), "", request
    ).run()
    lrs = {g.name: g.hparams["agent.lr"].number_value for g in groups.session_groups}
    assert lrs == {"0/tb": pytest.approx(1e-3), "1/tb": pytest.approx(3e-4)}
    for g in groups.session_groups:
        assert "hparams/mean_return" in {m.name.tag for m in g.metric_values}


@pytest.mark.slow
def test_rerun_with_auto_resume_skips_finished_and_continues_unfinished(
    joblib_sweep: tuple[Path, str], tmp_path: Path
) -> None:
    sweep_dir = tmp_path / "sweep"
    shutil.copytree(joblib_sweep[0], sweep_dir)
    # job 1 "was killed" after its checkpoint at 4096 env steps: no final results, no last checkpoint
    shutil.rmtree(sweep_dir / "1" / "final")
    (sweep_dir / "1" / "checkpoints" / f"ckpt_{DEBUG_STEPS:012d}.pt").unlink()
    (sweep_dir / sweep.SUMMARY_CSV).unlink()
    before = file_states(sweep_dir / "0")
    out = gridrl_train(*JOBLIB_ARGS, "trainer.auto_resume=true", f"hydra.sweep.dir={sweep_dir}", cwd=tmp_path)
    assert "already finished" in out
    assert "resumed from" in out and "ckpt_000000004096.pt at env step 4096" in out
    assert file_states(sweep_dir / "0") == before  # the finished job's results are untouched
    metrics = json.loads((sweep_dir / "1" / "final" / "metrics.json").read_text())
    assert metrics["env_step"] == DEBUG_STEPS
    rows = read_summary(sweep_dir)
    assert [(r["job"], r["status"], r["attempts"]) for r in rows] == [("0", "ok", "2"), ("1", "ok", "2")]
    assert int(rows[1]["env_steps"]) == DEBUG_STEPS


# ------------------------------------------------------------------- a failing job does not stop the sweep
@pytest.mark.slow
def test_failed_job_is_reported_and_the_others_finish(tmp_path: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    # 200 enemies do not fit on the 10x10 grid: a ConfigError raised inside that job (basic launcher)
    out = gridrl_train(
        "-m", "env.n_enemies=1,200", "trainer=debug", "trainer.total_steps=2048", "trainer.eval_every=0",
        f"hydra.sweep.dir={sweep_dir}", cwd=tmp_path,
    )  # fmt: skip
    assert "job failed" in out
    ok, failed = read_summary(sweep_dir)
    assert (ok["job"], ok["status"], ok["env.n_enemies"]) == ("0", "ok", "1")
    assert (sweep_dir / "0" / "final" / "q_network.pt").is_file()
    assert (failed["job"], failed["status"], failed["env.n_enemies"]) == ("1", "failed", "200")
    assert "do not fit in a 10x10 grid" in failed["error"]
    assert failed["mean_return"] == "" and failed["env_steps"] == ""
    assert "do not fit" in json.loads((sweep_dir / "1" / "failed.json").read_text())["error"]
    md = (sweep_dir / sweep.SUMMARY_MD).read_text()
    assert "2 jobs: 1 ok, 1 failed, 0 incomplete." in md and "| [1](1) | failed | 200 |" in md
    assert json.loads((RunDir(sweep_dir / "0").job).read_text())["threads"] == 0  # jobs in turn: all cores


@pytest.mark.slow
def test_a_sweep_over_learners_takes_a_key_only_they_have_with_force_add(tmp_path: Path) -> None:
    """``-m agent=pqn,dqn ++agent.learning_starts=N``: the dqn job gets it, the pqn job (no such key)
    fails alone, as the CLI's error for the plain form says."""
    sweep_dir = tmp_path / "sweep"
    gridrl_train(
        "-m", "agent=pqn,dqn", "++agent.learning_starts=512", "agent.n_envs=4", "trainer=debug",
        "trainer.total_steps=2048", "trainer.eval_every=0", f"hydra.sweep.dir={sweep_dir}", cwd=tmp_path,
    )  # fmt: skip
    pqn, dqn = read_summary(sweep_dir)
    assert (pqn["agent"], pqn["status"], dqn["agent"], dqn["status"]) == ("pqn", "failed", "dqn", "ok")
    assert OmegaConf.load(sweep_dir / "1" / "final" / "config.yaml").agent.learning_starts == 512


# ----------------------------------------------------------------------------- submitit, local processes
@pytest.mark.slow
def test_submitit_local_sweep(tmp_path: Path) -> None:
    needs("hydra_plugins.hydra_submitit_launcher")
    sweep_dir = tmp_path / "sweep"
    gridrl_train(
        "-m",
        "hydra/launcher=slurm_local",
        "seed=0,1",
        "trainer=debug",
        f"hydra.sweep.dir={sweep_dir}",
        cwd=tmp_path,
    )
    rows = read_summary(sweep_dir)
    assert [(r["job"], r["status"], r["seed"]) for r in rows] == [("0", "ok", "0"), ("1", "ok", "1")]
    for r in rows:
        run = sweep_dir / r["dir"]
        assert (run / "final" / "q_network.pt").is_file() and list((run / "tb").glob("events.out.tfevents.*"))
        job = json.loads((RunDir(run).job).read_text())
        assert job["launcher"] == "LocalLauncher" and job["threads"] == 1
        assert hparams_data(run)["session_start_info"].hparams["seed"].number_value == int(r["seed"])
    assert len(list((sweep_dir / ".submitit").glob("*/*_log.out"))) == 2  # submitit's own job logs


# ----------------------------------------------------------------------------------------- Optuna search
@pytest.mark.slow
def test_optuna_search_maximises_continues_its_study_and_survives_a_failed_trial(tmp_path: Path) -> None:
    needs("hydra_plugins.hydra_optuna_sweeper", "optuna", "sqlalchemy")
    import optuna

    sweep_dir = tmp_path / "sweep"
    tiny = ("trainer=debug", "trainer.total_steps=2048", "trainer.eval_every=0", "trainer.eval_episodes=10")
    out = gridrl_train(
        "hparams_search=pqn_optuna",
        "hydra.sweeper.n_trials=2",
        *tiny,
        f"hydra.sweep.dir={sweep_dir}",
        cwd=tmp_path,
    )
    assert "Directions: ['maximize']" in out
    # the same sweep dir continues the study stored in <sweep dir>/optuna.db; this trial fails (200
    # enemies on a 10x10 grid): Optuna records a failed trial and the sweep ends normally (-m: without
    # it the CLI would refuse the bad value before Hydra starts)
    out = gridrl_train(
        "-m", "hparams_search=pqn_optuna", "hydra.sweeper.n_trials=1", *tiny, "env.n_enemies=200",
        f"hydra.sweep.dir={sweep_dir}", cwd=tmp_path,
    )  # fmt: skip
    assert "Failed experiment" in out
    study = optuna.load_study(study_name="gridrl_pqn", storage=f"sqlite:///{sweep_dir}/optuna.db")
    assert study.direction == optuna.study.StudyDirection.MAXIMIZE
    states = [t.state for t in study.trials]
    assert states == [optuna.trial.TrialState.COMPLETE] * 2 + [optuna.trial.TrialState.FAIL]
    for t in study.trials:
        assert 1e-4 <= t.params["agent.lr"] <= 3e-3 and 0.3 <= t.params["agent.q_lambda"] <= 0.95
    done = [t.value for t in study.trials[:2]]
    rows = read_summary(sweep_dir)
    assert sorted(r["status"] for r in rows) == ["failed", "ok", "ok"]
    ok = [r for r in rows if r["status"] == "ok"]
    assert sorted(float(r["mean_return"]) for r in ok) == pytest.approx(sorted(done))
    (failed,) = (r for r in rows if r["status"] == "failed")
    assert failed["env.n_enemies"] == "200" and "do not fit" in failed["error"]
    for r in rows:  # one dir per parameter set (job numbers restart when a study continues)
        assert r["dir"].startswith("agent.gamma=") and "agent.lr=" in r["dir"]
    for r in ok:
        assert (sweep_dir / r["dir"] / "final" / "q_network.pt").is_file()
    best = OmegaConf.load(sweep_dir / "optimization_results.yaml")
    assert best.best_value == pytest.approx(max(done))


# --------------------------------------------------------------------------- presets compose (fast)
def compose(overrides: list[str]):
    from gridrl.config import compose as compose_config

    return compose_config(overrides, resolve=False, keep_hydra=True)


def test_launcher_presets_extend_the_official_plugins() -> None:
    needs("hydra_plugins.hydra_joblib_launcher", "hydra_plugins.hydra_submitit_launcher")
    cfg = compose(["hydra/launcher=parallel"])
    assert cfg.hydra.launcher._target_.endswith("JoblibLauncher") and cfg.hydra.launcher.n_jobs == -1
    cfg = compose(["hydra/launcher=slurm_local"])
    assert cfg.hydra.launcher._target_.endswith("LocalLauncher") and cfg.hydra.launcher.cpus_per_task == 1
    assert cfg.hydra.callbacks.sweep_summary._target_ == "gridrl.sweep.SweepSummary"


def test_slurm_preset_makes_an_sbatch_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    needs("hydra_plugins.hydra_submitit_launcher", "submitit")
    import submitit
    from hydra_plugins.hydra_submitit_launcher.config import BaseQueueConf

    cfg = compose(
        [
            "hydra/launcher=slurm",
            "hydra.launcher.partition=gpu",
            "hydra.launcher.timeout_min=90",
            "hydra.launcher.gpus_per_node=1",
            f"hydra.sweep.dir={tmp_path}",
        ]
    )
    params = OmegaConf.to_container(cfg.hydra.launcher, resolve=False)
    assert params.pop("_target_").endswith("SlurmLauncher")
    # what SlurmLauncher.launch does with these keys, up to the sbatch script (a fake srun: no cluster here)
    (tmp_path / "srun").write_text("#!/bin/sh\nexit 1\n")
    (tmp_path / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    params["name"] = "train"
    executor = submitit.AutoExecutor(
        cluster="slurm",
        folder=str(tmp_path / ".submitit" / "%j"),
        slurm_max_num_timeout=params.pop("max_num_timeout"),
    )
    params.pop("submitit_folder")
    base = set(OmegaConf.structured(BaseQueueConf).keys())
    executor.update_parameters(**{k if k in base else f"slurm_{k}": v for k, v in params.items()})
    script = executor._executor._make_submission_file_text("python -m submitit.core._submit x", "uid")
    for line in ("--partition=gpu", "--time=90", "--gpus-per-node=1", "--cpus-per-task=4", "--mem=8GB"):
        assert f"#SBATCH {line}\n" in script


def test_optuna_preset_maximises_with_sqlite_storage_in_the_sweep_dir(tmp_path: Path) -> None:
    needs("hydra_plugins.hydra_optuna_sweeper")
    cfg = compose(["hparams_search=pqn_optuna", f"hydra.sweep.dir={tmp_path}"])
    sw = cfg.hydra.sweeper
    assert sw.direction == "maximize"
    assert sw.storage == f"sqlite:///{tmp_path}/optuna.db"
    assert {"agent.lr", "agent.q_lambda"} <= set(sw.params)
    assert cfg.agent.name == "pqn" and cfg.trainer.auto_resume is True
    assert str(cfg.hydra.mode) == "RunMode.MULTIRUN"


# ------------------------------------------------------------------------ threads and summary (fast)
def launcher_cfg(launcher: dict, threads: int = 0):
    return OmegaConf.create({"trainer": {"threads": threads}, "hydra": {"launcher": launcher}})


@pytest.mark.parametrize(("launcher", "threads", "expected"), [
    ({"_target_": "x.JoblibLauncher", "n_jobs": -1}, 0, 1),  # one job per core
    ({"_target_": "x.JoblibLauncher", "n_jobs": 2}, 0, 4),
    ({"_target_": "x.JoblibLauncher", "n_jobs": -2}, 0, 1),  # 7 jobs on 8 cores
    ({"_target_": "x.JoblibLauncher", "n_jobs": 32}, 0, 1),
    ({"_target_": "x.JoblibLauncher", "n_jobs": 2}, 3, 0),  # trainer.threads given: left alone
    ({"_target_": "x.LocalLauncher", "cpus_per_task": None}, 0, 1),
    ({"_target_": "x.LocalLauncher", "cpus_per_task": 2}, 0, 2),
    ({"_target_": "x.SlurmLauncher", "cpus_per_task": 6}, 0, 6),
    ({"_target_": "x.BasicLauncher"}, 0, 0),  # jobs one after another: all cores
])  # fmt: skip
def test_threads_per_job(
    monkeypatch: pytest.MonkeyPatch, launcher: dict, threads: int, expected: int
) -> None:
    monkeypatch.setattr(sweep, "available_cpus", lambda: 8)
    assert sweep.job_threads(launcher_cfg(launcher, threads)) == expected


def test_threads_per_job_on_slurm_without_cpus_per_task(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sweep, "available_cpus", lambda: 64)
    monkeypatch.setenv("SLURM_CPUS_PER_TASK", "3")
    assert sweep.job_threads(launcher_cfg({"_target_": "x.SlurmLauncher", "cpus_per_task": None})) == 3


def test_default_threads_apply_when_trainer_threads_is_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from gridrl import trainer

    monkeypatch.setenv("GRIDRL_THREADS", "0")  # restored (unset) after the test
    before = torch.get_num_threads()
    try:
        sweep.use_default_threads(1)
        assert os.environ["GRIDRL_THREADS"] == "1"
        trainer.configure_torch(0, False, torch.device("cpu"))
        assert torch.get_num_threads() == 1
        trainer.configure_torch(2, False, torch.device("cpu"))  # an explicit trainer.threads wins
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def write_job(
    sweep_dir: Path,
    name: str,
    overrides: list[str],
    attempts: list[dict] | None,
    metrics: dict | None = None,
    failed: str | None = None,
    checkpoints: tuple[int, ...] = (),
) -> Path:
    run = sweep_dir / name
    (run / ".hydra").mkdir(parents=True)
    (run / ".hydra" / "overrides.yaml").write_text(OmegaConf.to_yaml(OmegaConf.create(overrides)))
    if attempts is not None:
        job = {"job": int(name), "overrides": overrides, "attempts": attempts}
        (RunDir(run).job).write_text(json.dumps(job))
    if metrics is not None:
        (run / "final").mkdir()
        (run / "final" / "metrics.json").write_text(json.dumps(metrics))
    if failed is not None:
        (run / "failed.json").write_text(json.dumps({"error": failed}))
    for step in checkpoints:
        (run / "checkpoints").mkdir(exist_ok=True)
        (run / "checkpoints" / f"ckpt_{step:012d}.pt").write_bytes(b"")
    return run


def test_summary_from_job_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    metrics = {
        "mean_return": 12.5,
        "oracle_ratio": 0.5,
        "env_step": 8192,
        "times_s": {"collect": 1.0, "update": 2.0, "eval": 0.5, "checkpoint": 0.1},
    }
    ended = {"started": 100.0, "ended": 110.0, "wall_s": 10.0}
    write_job(tmp_path, "0", ["agent.lr=0.001", "trainer=debug"], [{**ended, "status": "ok"}], metrics)
    write_job(
        tmp_path,
        "1",
        ["agent.lr=0.0003", "trainer=debug"],
        [{**ended, "status": "failed", "error": "ConfigError: bad | value"}],
        failed="ConfigError: bad | value",
    )
    write_job(
        tmp_path, "2", ["agent.lr=0.01", "trainer=debug"], [{"started": 101.0}], checkpoints=(4096, 8192)
    )
    # no job.json (e.g. a sweep run without the callback): status from the files
    write_job(tmp_path, "3", ["agent.lr=0.1", "trainer=debug"], None, {**metrics, "mean_return": 20.0})
    (tmp_path / ".submitit" / "123").mkdir(parents=True)
    (tmp_path / ".submitit" / "123" / "job.json").write_text("{}")

    assert sweep.main([str(tmp_path)]) == 0
    rows = read_summary(tmp_path)
    assert list(rows[0]) == [
        "job",
        "dir",
        "status",
        "overrides",
        "agent.lr",
        "mean_return",
        "oracle_ratio",
        "env_steps",
        "train_s",
        "wall_s",
        "attempts",
        "error",
    ]
    assert [(r["job"], r["status"], r["agent.lr"], r["env_steps"]) for r in rows] == [
        ("0", "ok", "0.001", "8192"),
        ("1", "failed", "0.0003", ""),
        ("2", "incomplete", "0.01", "8192"),
        ("3", "ok", "0.1", "8192"),
    ]
    assert (
        rows[0]["train_s"] == "3.6"
        and rows[0]["wall_s"] == "10.0"
        and rows[0]["overrides"] == ("agent.lr=0.001 trainer=debug")
    )
    assert rows[1]["error"] == "ConfigError: bad | value"
    md = capsys.readouterr().out
    assert md == (tmp_path / sweep.SUMMARY_MD).read_text() + "\n"
    assert "4 jobs: 2 ok, 1 failed, 1 incomplete." in md and "Every job: `trainer=debug`" in md
    assert "Best: job 3 (`agent.lr=0.1`): eval mean return 20.00 (50.0% of the oracle)." in md
    assert "| [1](1) | failed | 0.0003 |  |  |  |  | 10.0 | ConfigError: bad \\| value |" in md


def test_summary_main_rejects_a_missing_dir(tmp_path: Path) -> None:
    assert sweep.main([str(tmp_path / "nope")]) == 2


@pytest.mark.parametrize("sweeper", ["basic", "optuna"])
def test_callback_records_a_failed_job(tmp_path: Path, sweeper: str) -> None:
    from hydra.core.utils import JobReturn, JobStatus
    from hydra.types import RunMode

    run = tmp_path / "3"
    target = {"basic": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
              "optuna": "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper"}[sweeper]  # fmt: skip
    cfg = OmegaConf.create({
        "trainer": {"threads": 0},
        "hydra": {"mode": RunMode.MULTIRUN, "runtime": {"output_dir": str(run)}, "job": {"num": 3},
                  "overrides": {"task": ["env.n_enemies=200"]}, "sweep": {"dir": str(tmp_path)},
                  "launcher": {"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"},
                  "sweeper": {"_target_": target}},
    })  # fmt: skip
    run.mkdir()
    callback = sweep.SweepSummary()
    callback.on_job_start(cfg, task_function=None)
    (run / "failed.json").write_text(json.dumps({"error": "env.n_enemies: too many"}))  # what the runner does
    ret = JobReturn(status=JobStatus.COMPLETED, _return_value=float("nan"))
    callback.on_job_end(cfg, ret)
    job = json.loads((RunDir(run).job).read_text())
    assert job["job"] == 3 and job["threads"] == 0 and job["overrides"] == ["env.n_enemies=200"]
    assert (
        job["attempts"][0]["status"] == "failed" and job["attempts"][0]["error"] == "env.n_enemies: too many"
    )
    # Optuna 2.x crashes when told NaN: it is handed a failed job instead; other sweepers get the NaN
    assert ret.status == (JobStatus.FAILED if sweeper == "optuna" else JobStatus.COMPLETED)
    assert read_summary(tmp_path)[0]["status"] == "failed"  # the live summary


def test_summary_pools_seeds_per_config_with_intervals(tmp_path: Path) -> None:
    """2 configs x 3 seeds: the summary's statistics table has one row per config, IQM and mean with a
    95 % interval that holds the point estimate."""
    ended = {"started": 100.0, "ended": 110.0, "wall_s": 10.0, "status": "ok"}
    returns = {"0.001": [10.0, 12.0, 14.0], "0.0003": [2.0, 3.0, 7.0]}
    job = 0
    for lr, values in returns.items():
        for seed, ret in enumerate(values):
            metrics = {"mean_return": ret, "oracle_ratio": ret / 20, "env_step": 8192, "times_s": {}}
            write_job(tmp_path, str(job), [f"agent.lr={lr}", f"seed={seed}"], [ended], metrics)
            job += 1
    sweep.write_summary(tmp_path)
    md = (tmp_path / sweep.SUMMARY_MD).read_text()
    stats_lines = [ln for ln in md.splitlines() if ln.startswith("| agent.lr=")]
    assert len(stats_lines) == 4  # 2 configs x (mean_return, oracle_ratio)
    row = next(ln for ln in stats_lines if ln.startswith("| agent.lr=0.001 |") and "%" not in ln)
    assert " 3 " in row and "12.00 [" in row  # 3 seeds; mean of 10, 12, 14
