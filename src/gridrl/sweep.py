"""Sweeps: a Hydra callback that records every job of a multirun and writes the sweep summary.

Registered in ``conf/config.yaml`` under ``hydra.callbacks``; it works with every launcher (basic,
joblib, submitit) and sweeper (basic, optuna) because it only talks through files:

- ``on_job_start`` / ``on_job_end`` run in the job's own process (a joblib worker, a submitit job on
  a SLURM node) and keep ``<job dir>/job.json``: job number, overrides, torch threads and one entry per
  launch (start, end, wall seconds, ok / failed). They also give the job its share of the cores.
- ``on_multirun_end`` runs in the process that started the sweep and writes ``<sweep dir>/summary.csv``
  and ``summary.md`` from the job dirs: ``job.json``, ``final/metrics.json`` (written by the Trainer),
  ``failed.json`` (written by the runner for a failed job) and the checkpoint names. Every job end
  refreshes the summary too, so a long (SLURM) sweep has one before it ends.

It is longer than most modules because the summary must be right for every launcher's failure modes
(killed jobs, relaunches, jobs without the callback); the run-dir files it reads are :mod:`gridrl.rundir`'s.

``python -m gridrl.sweep <sweep dir>`` rewrites the summary by hand (e.g. after a killed sweep).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
import socket
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from gridrl.rundir import RunDir, atomic_write, find_job_dirs, read_json, write_json

log = logging.getLogger("gridrl")

SUMMARY_CSV = "summary.csv"
SUMMARY_MD = "summary.md"

OK, FAILED, INCOMPLETE = "ok", "failed", "incomplete"
# summary.csv columns (the varying overrides, one column each, come after "overrides")
FIELDS = (
    "job", "dir", "status", "overrides", "mean_return", "oracle_ratio", "env_steps", "train_s", "wall_s",
    "attempts", "error",
)  # fmt: skip
MD_NUMBERS = ("eval mean return", "oracle ratio", "env steps", "train s", "wall s")  # summary.md columns


class JobFailed(RuntimeError):
    """A job that returned NaN (the runner's "failed" value), as the Optuna sweeper is told of it."""


class SweepSummary(Callback):
    """Hydra callback: per-job records, torch threads per job, and the sweep summary."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # the Optuna sweeper opens <sweep dir>/optuna.db before any launcher creates the dir
        Path(str(config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if not _is_multirun(config):
            return
        job_dir = Path(config.hydra.runtime.output_dir)
        threads = job_threads(config)
        record = read_json(RunDir(job_dir).job) or {}
        record.update(
            job=int(config.hydra.job.num),
            overrides=list(config.hydra.overrides.task),
            launcher=_launcher_name(config),
            threads=threads,
        )
        record.setdefault("attempts", []).append(
            {"started": time.time(), "host": socket.gethostname(), "pid": os.getpid()}
        )
        write_json(RunDir(job_dir).job, record)
        if threads:
            use_default_threads(threads)
            log.info(
                "sweep job %d: torch uses %d thread(s) (launcher %s, %d cores here)",
                record["job"],
                threads,
                record["launcher"],
                available_cpus(),
            )

    def on_job_end(self, config: DictConfig, job_return: Any, **kwargs: Any) -> None:
        if not _is_multirun(config):
            return
        job_dir = Path(config.hydra.runtime.output_dir)
        record = read_json(RunDir(job_dir).job) or {"job": int(config.hydra.job.num), "attempts": [{}]}
        attempt = record["attempts"][-1]
        now = time.time()
        attempt["ended"] = now
        attempt["wall_s"] = round(now - attempt.get("started", now), 3)
        value = getattr(job_return, "_return_value", None)  # .return_value re-raises a job's exception
        if _job_failed(job_return):
            attempt.update(status=FAILED, error=f"{type(value).__name__}: {value}")
        elif not _finite(value):
            failed = read_json(RunDir(job_dir).failed) or {}
            attempt.update(status=FAILED, error=str(failed.get("error", f"the job returned {value!r}")))
        else:
            attempt.update(status=OK, value=float(value))  # type: ignore[arg-type]  # finite: a number
        write_json(RunDir(job_dir).job, record)
        if attempt["status"] == FAILED and _is_optuna(config) and not _job_failed(job_return):
            # Optuna 2.x cannot be told NaN (the sweep would crash): hand it a failed job instead, which
            # it records as a failed trial (the preset's max_failure_rate lets the study go on)
            from hydra.core.utils import JobStatus

            job_return.return_value = JobFailed(attempt["error"])
            job_return.status = JobStatus.FAILED
        try:  # a live summary; on_multirun_end writes the final one
            write_summary(Path(str(config.hydra.sweep.dir)))
        except Exception as exc:  # never let the summary break a job
            log.warning("sweep summary not refreshed: %s", exc)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(str(config.hydra.sweep.dir))
        rows = write_summary(sweep_dir)
        n_ok = sum(r["status"] == OK for r in rows)
        log.info(
            "sweep summary: %d jobs, %d ok, %d failed, %d incomplete: %s",
            len(rows),
            n_ok,
            sum(r["status"] == FAILED for r in rows),
            sum(r["status"] == INCOMPLETE for r in rows),
            sweep_dir / SUMMARY_MD,
        )
        best = best_row(rows)
        if best is not None:
            log.info(
                "best: job %s (%s) eval mean return %s",
                best["job"],
                _varying_text(best, varying_keys(rows)[0]),
                _fmt(best["mean_return"]),
            )


# ------------------------------------------------------------------------------ torch threads per job
def available_cpus() -> int:
    """Cores this process may run on (a SLURM allocation or taskset is honoured)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def job_threads(config: DictConfig) -> int:
    """Torch threads for one job of a parallel launcher; 0 = leave the Trainer's choice alone.

    ``trainer.threads`` > 0 always wins. joblib runs ``n_jobs`` jobs side by side on this machine:
    each gets ``cores // n_jobs``. submitit gives each job ``cpus_per_task`` cores (submitit_local starts
    every job at once: 1 when unset; SLURM: the allocation when unset). The basic launcher runs jobs one
    after another, so a job may use every core.
    """
    if int(OmegaConf.select(config, "trainer.threads", default=0) or 0) > 0:
        return 0
    launcher = OmegaConf.select(config, "hydra.launcher", default=None) or {}
    target = str(launcher.get("_target_", ""))
    # JoblibLauncher | LocalLauncher, SlurmLauncher (submitit) | BasicLauncher
    kind = target.rsplit(".", 1)[-1]
    cpus = available_cpus()
    if kind == "JoblibLauncher":
        n_jobs = int(launcher.get("n_jobs") or -1)
        parallel = cpus + 1 + n_jobs if n_jobs < 0 else n_jobs  # joblib: -1 = all cores, -2 = all but one
        return max(1, cpus // max(1, min(parallel, cpus)))
    cpus_per_task = int(launcher.get("cpus_per_task") or 0)
    if kind == "LocalLauncher":  # every job of the sweep starts at once on this machine
        return max(1, min(cpus_per_task or 1, cpus))
    if kind == "SlurmLauncher":
        return cpus_per_task or int(os.environ.get("SLURM_CPUS_PER_TASK", 0)) or cpus
    return 0


def use_default_threads(threads: int) -> None:
    """Make ``trainer.threads=0`` ("all cores") mean ``threads`` in this job process (a joblib worker or
    a submitit job; the basic launcher never calls this): ``gridrl.trainer.configure_torch`` reads it."""
    os.environ["GRIDRL_THREADS"] = str(threads)


# ---------------------------------------------------------------------------------------- summary
def job_row(job_dir: Path, sweep_dir: Path) -> dict[str, Any]:
    """One summary row from the files of one job dir."""
    run = RunDir(job_dir)
    record = read_json(run.job) or {}
    overrides = record.get("overrides")
    if overrides is None:
        overrides = _read_overrides_yaml(run.hydra_overrides)
    metrics = run.read_metrics()
    failed = read_json(run.failed)
    attempts = record.get("attempts") or []
    error = ""
    if attempts:
        last = attempts[-1]
        status = last.get("status") or INCOMPLETE  # no end: still running, or killed
        error = last.get("error", "") if status == FAILED else ""
    elif metrics is not None and not _newer(run.failed, run.metrics):
        status = OK
    elif failed is not None:
        status, error = FAILED, str(failed.get("error", ""))
    else:
        status = INCOMPLETE
    job = record.get("job")
    if job is None and job_dir.name.isdigit():
        job = int(job_dir.name)
    times = (metrics or {}).get("times_s") or {}
    walls = [a["wall_s"] for a in attempts if "wall_s" in a]
    return {
        "job": job if job is not None else "",
        "dir": job_dir.relative_to(sweep_dir).as_posix(),
        "status": status,
        "overrides": " ".join(overrides),
        "override_list": list(overrides),
        "mean_return": (metrics or {}).get("mean_return", ""),
        "oracle_ratio": (metrics or {}).get("oracle_ratio", ""),
        "env_steps": (metrics or {}).get("env_step", run.last_checkpoint_step() or ""),
        "train_s": round(sum(times.values()), 2) if times else "",
        "wall_s": round(sum(walls), 2) if walls else "",
        "attempts": len(attempts),
        "error": error,
        "_started": attempts[0].get("started", 0.0) if attempts else 0.0,
    }


def collect(sweep_dir: Path) -> list[dict[str, Any]]:
    rows = [job_row(d, sweep_dir) for d in find_job_dirs(sweep_dir)]
    rows.sort(key=lambda r: (r["job"] if isinstance(r["job"], int) else math.inf, r["_started"], r["dir"]))
    return rows


def varying_keys(rows: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(keys whose override differs between jobs, overrides shared by every job)."""
    parsed = [_split_overrides(r["override_list"]) for r in rows]
    keys: list[str] = []
    for p in parsed:
        keys += [k for k in p if k not in keys]
    varying = [k for k in keys if len({p.get(k) for p in parsed}) > 1]
    common = [f"{k}={parsed[0][k]}" for k in keys if k not in varying] if parsed else []
    return varying, common


def best_row(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    scored = [r for r in rows if r["status"] == OK and _finite(r["mean_return"])]
    return max(scored, key=lambda r: float(r["mean_return"])) if scored else None


def write_summary(sweep_dir: Path) -> list[dict[str, Any]]:
    """Write ``summary.csv`` (every field, one column per varying override) and ``summary.md``."""
    sweep_dir = Path(sweep_dir)
    rows = collect(sweep_dir)
    varying, common = varying_keys(rows)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([*FIELDS[:4], *varying, *FIELDS[4:]])
    for r in rows:
        values = _split_overrides(r["override_list"])
        writer.writerow(
            [*(r[f] for f in FIELDS[:4]), *(values.get(k, "") for k in varying), *(r[f] for f in FIELDS[4:])]
        )
    atomic_write(sweep_dir / SUMMARY_CSV, buf.getvalue())
    atomic_write(sweep_dir / SUMMARY_MD, render_markdown(sweep_dir, rows, varying, common))
    return rows


def render_markdown(
    sweep_dir: Path, rows: list[dict[str, Any]], varying: list[str], common: list[str]
) -> str:
    counts = {s: sum(r["status"] == s for r in rows) for s in (OK, FAILED, INCOMPLETE)}
    lines = [
        f"# Sweep {sweep_dir}",
        "",
        f"{len(rows)} jobs: {counts[OK]} ok, {counts[FAILED]} failed, {counts[INCOMPLETE]} incomplete.",
    ]
    if common:
        lines.append("Every job: " + " ".join(f"`{c}`" for c in common))
    best = best_row(rows)
    if best is not None:
        ratio = (
            f" ({100 * float(best['oracle_ratio']):.1f}% of the oracle)"
            if _finite(best["oracle_ratio"])
            else ""
        )
        lines.append(
            f"Best: job {best['job']} (`{_varying_text(best, varying)}`): eval mean return "
            f"{_fmt(best['mean_return'])}{ratio}."
        )
    head = ["job", "status", *varying, *MD_NUMBERS, "error"]
    align = ["---:" if h == "job" or h in MD_NUMBERS else "---" for h in head]
    lines += ["", "| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    for r in rows:
        values = _split_overrides(r["override_list"])
        cells = [
            f"[{r['job']}]({r['dir']})",
            r["status"],
            *(values.get(k, "") for k in varying),
            _fmt(r["mean_return"]),
            _fmt(r["oracle_ratio"], 3),
            str(r["env_steps"]),
            _fmt(r["train_s"], 1),
            _fmt(r["wall_s"], 1),
            _shorten(r["error"], 160),
        ]
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    lines += config_statistics(rows, varying)
    lines += [
        "",
        "Columns: final greedy evaluation (`final/metrics.json`); train s = time in the training loop "
        "(all resumes); wall s = job wall time measured by the sweep callback (all launches).",
        "",
    ]
    return "\n".join(lines)


def config_statistics(rows: list[dict[str, Any]], varying: list[str]) -> list[str]:
    """Markdown lines: per config (the varying overrides but the seed), IQM and mean of the finished
    jobs' final scores with 95 % stratified-bootstrap intervals (:mod:`gridrl.stats`); none when no
    config has two finished seeds."""
    from gridrl import stats

    keys = [k for k in varying if k != "seed"]
    groups: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        if r["status"] != OK:
            continue
        values = _split_overrides(r["override_list"])
        label = " ".join(f"{k}={values.get(k, '')}" for k in keys) or "all jobs"
        for score in ("mean_return", "oracle_ratio"):
            if _finite(r[score]):
                groups.setdefault(score, {}).setdefault(label, []).append(float(r[score]))
    lines: list[str] = []
    for score, per_config in groups.items():
        if max(len(v) for v in per_config.values()) < 2:
            continue
        aggregates = stats.aggregate({k: np.asarray(v)[:, None] for k, v in per_config.items()}, reps=2000)
        lines += [
            "",
            stats.format_markdown(
                aggregates, score_name=f"final {score}", percent=score == "oracle_ratio"
            ).rstrip(),
        ]
    return lines


# ---------------------------------------------------------------------------------------- helpers
def _is_multirun(config: DictConfig) -> bool:
    from hydra.types import RunMode

    return OmegaConf.select(config, "hydra.mode", default=None) == RunMode.MULTIRUN


def _is_optuna(config: DictConfig) -> bool:
    return "optuna" in str(OmegaConf.select(config, "hydra.sweeper._target_", default="") or "").lower()


def _job_failed(job_return: Any) -> bool:
    return getattr(getattr(job_return, "status", None), "name", "") == "FAILED"


def _launcher_name(config: DictConfig) -> str:
    target = str(OmegaConf.select(config, "hydra.launcher._target_", default="") or "")
    return target.rsplit(".", 1)[-1] or "unknown"


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _fmt(value: Any, digits: int = 2) -> str:
    return f"{float(value):.{digits}f}" if _finite(value) else ("" if value in ("", None) else str(value))


def _shorten(text: str, n: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 3] + "..."


def _varying_text(row: dict[str, Any], varying: list[str]) -> str:
    values = _split_overrides(row["override_list"])
    return " ".join(f"{k}={values[k]}" for k in varying if k in values) or row["overrides"] or "defaults"


def _split_overrides(overrides: Iterable[str]) -> dict[str, str]:
    out = {}
    for ov in overrides:
        key, _, value = ov.partition("=")
        out[key] = value
    return out


def _read_overrides_yaml(path: Path) -> list[str]:
    if not path.is_file():
        return []
    loaded = OmegaConf.load(path)
    return [str(x) for x in loaded] if OmegaConf.is_list(loaded) else []


def _newer(a: Path, b: Path) -> bool:
    return a.is_file() and b.is_file() and a.stat().st_mtime > b.stat().st_mtime


def main(argv: list[str] | None = None) -> int:
    """``python -m gridrl.sweep <sweep dir>...``: (re)write the summary of finished or killed sweeps."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print("usage: python -m gridrl.sweep <sweep dir>...  (writes <sweep dir>/summary.csv and summary.md)")
        return 0 if args else 2
    for arg in args:
        sweep_dir = Path(arg)
        if not sweep_dir.is_dir():
            print(f"gridrl: error: {arg}: no such sweep dir", file=sys.stderr)
            return 2
        write_summary(sweep_dir)
        print((sweep_dir / SUMMARY_MD).read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
