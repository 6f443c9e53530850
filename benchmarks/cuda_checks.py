"""The CUDA checks (issue 19) as one short script for a GPU machine: about 6 minutes on an H200.

1. The CUDA training path end to end, through the real command line: ``gridrl train device=cuda``
   killed (SIGKILL) after a checkpoint and resumed must end with the uninterrupted run's weights, bit
   for bit; the killed run's CUDA checkpoint resumed on the CPU must finish; ``gridrl eval`` on the GPU.
2. Throughput of the default learner on the GPU: the gradient step (one minibatch of 512) and the acting
   forward in fp32 and in bf16 autocast, and the real Trainer loop's env steps/s with each, at the
   default 256 games and at 1024; the same loop on this host's CPU beside it (``--cpu-threads``).
3. Time to 95 % of the oracle on the default game, 3 seeds (``benchmarks/time_to_solve.py --set
   device=cuda``), written beside this report.

Usage (the GPU host needs the project's dependencies; the tree may be a copy without git)::

    GRIDRL_COMMIT=$(git rev-parse --short HEAD) python benchmarks/cuda_checks.py --out outputs/cuda
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

import throughput  # noqa: E402
from gridrl.rundir import RunDir  # noqa: E402
from time_to_solve import gridrl_command, machine_info  # noqa: E402

RESUME_RUN = [
    "device=cuda",
    "seed=0",
    "trainer.total_steps=786432",
    "trainer.checkpoint_every=131072",
    "trainer.eval_every=262144",
    "trainer.progress=false",
]


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [*gridrl_command(), *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )
    if proc.returncode != 0:
        raise RuntimeError(f"gridrl {' '.join(args)} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc


def final_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "final" / "q_network.pt", weights_only=True, map_location="cpu")


def resume_check(tmp: Path) -> dict[str, Any]:
    """An uninterrupted CUDA run beside one killed after a checkpoint and resumed; then the killed run's
    checkpoint resumed on the CPU, and the GPU evaluation of the uninterrupted run."""
    ref, killed = tmp / "ref", tmp / "killed"
    t = time.perf_counter()
    cli("train", *RESUME_RUN, f"hydra.run.dir={ref}")
    ref_s = time.perf_counter() - t
    proc = subprocess.Popen(
        [*gridrl_command(), "train", *RESUME_RUN, f"hydra.run.dir={killed}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    deadline = time.time() + 240
    while not RunDir(killed).list_checkpoints():
        if proc.poll() is not None:
            raise RuntimeError(f"the run to kill exited first: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        if time.time() > deadline:
            raise RuntimeError("no checkpoint within 240 s")
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    killed_at = max(step for step, _ in RunDir(killed).list_checkpoints())
    finished_before_kill = (killed / "final" / "q_network.pt").exists()
    on_cpu = tmp / "on_cpu"
    shutil.copytree(killed, on_cpu)
    cli("train", f"resume={killed}")
    a, b = final_weights(ref), final_weights(killed)
    exact = a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    cli("train", f"resume={on_cpu}", "device=cpu", "trainer.threads=2", timeout=600)
    cpu_finished = (on_cpu / "final" / "q_network.pt").exists()
    cli("eval", str(ref), "device=cuda")
    ev = json.loads((ref / "eval" / "eval.json").read_text())
    return {
        "reference_s": ref_s,
        "killed_at_step": killed_at,
        "finished_before_kill": finished_before_kill,
        "resume_bit_exact": exact,
        "cuda_checkpoint_resumed_on_cpu": cpu_finished,
        "eval": {"device": ev["eval"]["device"], "seconds": ev["eval"]["seconds"], **ev["stats"]},
    }


PATHS = [
    ("fp32 (auto on CUDA), 256 games", []),
    ("bf16 autocast, 256 games", ["trainer.precision=bf16"]),
]
LOOPS = [
    *PATHS,
    ("fp32, 1024 games x 16 steps, 32 minibatches", ["agent.n_envs=1024", "agent.minibatches=32"]),
    (
        "bf16, 1024 games x 16 steps, 32 minibatches",
        ["agent.n_envs=1024", "agent.minibatches=32", "trainer.precision=bf16"],
    ),
]


def speed_check(seconds: float, cpu_threads: int) -> dict[str, Any]:
    gpu = argparse.Namespace(device="cuda", threads=0, quick=False)
    steps = throughput.pqn_steps(gpu, PATHS)
    loops = {name: throughput.pqn_loop(ov, seconds, gpu) for name, ov in LOOPS}
    cpu = argparse.Namespace(device="cpu", threads=cpu_threads, quick=False)
    loops[f"this host's CPU, {cpu_threads} threads, the CPU's auto path"] = throughput.pqn_loop(
        [], seconds, cpu
    )
    return {
        "steps": {
            k: {
                "step_ms": statistics.median(v["step"]),
                "act_ms": statistics.median(v["act"]),
                "precision": v["precision"],
            }
            for k, v in steps.items()
        },
        "loops": {
            k: {
                key: v[key]
                for key in (
                    "sps",
                    "ms_per_2048",
                    "ms_per_update",
                    "shape",
                    "step_share",
                    "act_share",
                    "precision",
                    "threads",
                )
            }
            for k, v in loops.items()
        },
    }


def time_to_solve(out: Path, seeds: str, budget: float) -> dict[str, Any]:
    md = out / "time_to_solve_cuda.md"
    cmd = [
        sys.executable,
        str(ROOT / "benchmarks" / "time_to_solve.py"),
        "--configs",
        "default",
        "--seeds",
        seeds,
        "--budget",
        f"{budget:g}",
        "--set",
        "device=cuda",
        "--eval-every",
        "default=65536",
        "--threads",
        "0",
        "--out",
        str(md),
    ]
    subprocess.run(cmd, check=True, cwd=ROOT, timeout=budget * 10 + 300)
    return {"report": md.name, "command": " ".join(cmd[1:])}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=ROOT / "outputs" / "cuda_checks", help="report folder")
    p.add_argument("--seconds", type=float, default=6.0, help="measured seconds per loop figure")
    p.add_argument("--cpu-threads", type=int, default=2, help="torch threads of the CPU loop beside the GPU")
    p.add_argument("--seeds", default="0,1,2", help="time-to-solve seeds")
    p.add_argument("--budget", type=float, default=60.0, help="time-to-solve wall seconds per run")
    p.add_argument("--skip", default="", help="comma list of resume, speed, solve")
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        print("cuda_checks: no CUDA device is visible to torch", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    host = machine_info(0)  # CPU model, cores, torch, Python, commit (git, else GRIDRL_COMMIT)
    report: dict[str, Any] = {
        "gpu": torch.cuda.get_device_name(),
        "cuda": torch.version.cuda,
        "cpu": f"{host['nproc']} cores ({host['cpu']})",
        **{k: host[k] for k in ("torch", "python", "commit")},
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    checks: dict[str, Callable[[], dict[str, Any]]] = {
        "resume": lambda: resume_check(Path(tempfile.mkdtemp(prefix="gridrl_cuda_"))),
        "speed": lambda: speed_check(args.seconds, args.cpu_threads),
        "solve": lambda: time_to_solve(args.out, args.seeds, args.budget),
    }
    failed = False
    for name, check in checks.items():
        if name in args.skip.split(","):
            continue
        t = time.perf_counter()
        try:
            report[name] = check()
        except Exception:  # a benchmark reports every check, the failed ones with their traceback
            failed = True
            report[name] = {"FAILED": traceback.format_exc()[-3000:]}
        report[name]["wall_s"] = round(time.perf_counter() - t, 1)
        print(json.dumps({name: report[name]}, indent=1, default=str), flush=True)
        (args.out / "cuda_checks.json").write_text(json.dumps(report, indent=1, default=str))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
