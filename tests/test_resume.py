"""Checkpoints and exact resume, through the real CLI in subprocesses (kills are real signals)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import GRIDRL, TINY_GAME
from gridrl import checkpoint as ckpt
from gridrl import tblog
from gridrl.rundir import RunDir

pytestmark = pytest.mark.slow

TINY = [
    *TINY_GAME,
    "trainer.eval_episodes=50",
    "trainer.eval_every=4096",
    "trainer.log_every=256",
    "trainer.checkpoint_every=2048",
    "trainer.keep_checkpoints=2",
    "trainer.total_steps=16384",
]
AGENTS = {
    "pqn": ["agent=pqn", "agent.n_envs=16"],
    "dqn": [
        "agent=dqn",
        "agent.n_envs=8",
        "agent.learning_starts=512",
        "agent.buffer_size=4096",
        "agent.target_update=64",
        "agent.prioritized=true",
        "agent.batch_size=32",
        "agent.replay_ratio=0.125",
    ],
}


def train(run_dir: Path, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [GRIDRL, "train", *args, f"hydra.run.dir={run_dir}"],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=run_dir.parent,
    )
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def resume(run_dir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [GRIDRL, "train", f"resume={run_dir}", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=run_dir.parent,
    )
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def start(run_dir: Path, *args: str, python_prelude: str | None = None) -> subprocess.Popen:
    if python_prelude is None:
        cmd = [GRIDRL, "train", *args, f"hydra.run.dir={run_dir}"]
    else:
        argv = ["train", *args, f"hydra.run.dir={run_dir}"]
        code = f"{python_prelude}\nfrom gridrl.cli import main\nmain({argv!r})"
        cmd = [
            sys.executable if not Path(GRIDRL).exists() else str(Path(GRIDRL).parent / "python"),
            "-c",
            code,
        ]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=run_dir.parent)


def wait_for_checkpoint(proc: subprocess.Popen, run_dir: Path, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not RunDir(run_dir).list_checkpoints():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:] if proc.stderr else "exited"
        assert time.time() < deadline, "no checkpoint appeared"
        time.sleep(0.02)


def weights(run_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "final" / "q_network.pt", weights_only=True)


def assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k


def scalars(run_dir: Path, tag: str) -> list[tuple[int, float]]:
    acc = EventAccumulator(str(run_dir / "tb"), size_guidance={"scalars": 0})
    acc.Reload()
    return [(e.step, e.value) for e in acc.Scalars(tag)]


class References:
    """One uninterrupted run per learner, made on first use."""

    def __init__(self, root: Path) -> None:
        self.root, self.runs = root, {}

    def __getitem__(self, agent: str) -> Path:
        if agent not in self.runs:
            train(self.root / agent, *TINY, *AGENTS[agent])
            self.runs[agent] = self.root / agent
        return self.runs[agent]


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> References:
    return References(tmp_path_factory.mktemp("ref"))


KILL_MID_WRITE = """
import os, signal, torch
from gridrl import checkpoint
_saves = {"n": 0}
_real_save = torch.save
def _half_then_die(obj, f, *a, **k):
    if isinstance(obj, dict) and obj.get("kind") == "resume":
        _saves["n"] += 1
        if _saves["n"] == 3:  # the third periodic checkpoint: write half of it, then die
            import io
            buf = io.BytesIO(); _real_save(obj, buf, *a, **k)
            f.write(buf.getvalue()[: len(buf.getvalue()) // 2]); f.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    return _real_save(obj, f, *a, **k)
torch.save = _half_then_die
"""


def test_kill_while_writing_a_checkpoint_keeps_the_previous_one(
    tmp_path: Path, reference: References
) -> None:
    run = tmp_path / "run"
    proc = start(run, *TINY, *AGENTS["pqn"], python_prelude=KILL_MID_WRITE)
    proc.wait(timeout=300)
    assert proc.returncode == -signal.SIGKILL
    assert [s for s, _ in RunDir(run).list_checkpoints()] == [2048, 4096]  # complete ones only
    assert list((run / "checkpoints").glob("*.tmp"))  # the half-written file never got the real name
    resume(run)
    assert_same_weights(reference["pqn"], run)
    assert not list((run / "checkpoints").glob("*.tmp"))


def test_sigterm_saves_and_exits_cleanly(tmp_path: Path, reference: References) -> None:
    run = tmp_path / "run"
    proc = start(run, *TINY, *AGENTS["pqn"])
    wait_for_checkpoint(proc, run)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM
    text = err.decode()
    assert "resume with: gridrl train resume=" in text
    stopped_at = int(text.split("stopped by signal 15 at env step ")[1].split(";")[0])
    step, path = RunDir(run).list_checkpoints()[-1]
    assert step == stopped_at and ckpt.safe_load(path)["env_step"] == stopped_at  # saved where it stopped
    resume(run)
    assert_same_weights(reference["pqn"], run)


def test_corrupt_newest_checkpoint_falls_back_to_the_previous(tmp_path: Path, reference: References) -> None:
    run = tmp_path / "run"
    shutil.copytree(reference["pqn"], run)
    shutil.rmtree(run / "final")  # as if the run died right after its last checkpoint
    names = RunDir(run).list_checkpoints()
    assert [s for s, _ in names] == [14336, 16384]  # keep_checkpoints=2
    newest = names[-1][1]
    newest.write_bytes(newest.read_bytes()[:1000])  # truncated
    with pytest.raises(ckpt.CheckpointError, match="unreadable"):
        ckpt.safe_load(newest)
    path, payload = ckpt.load_latest(run)
    assert path == names[0][1] and payload["env_step"] == 14336
    proc = resume(run)
    assert "skipping checkpoint" in proc.stderr and "resumed from" in proc.stderr
    assert_same_weights(reference["pqn"], run)


def test_a_longer_budget_continues_a_finished_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    train(run, *TINY, *AGENTS["pqn"], "trainer.total_steps=4096")
    proc = resume(run, "trainer.total_steps=6144")
    assert "resumed from" in proc.stderr
    assert RunDir(run).list_checkpoints()[-1][0] == 6144
    assert json.loads((run / "final" / "metrics.json").read_text())["env_step"] == 6144


def test_a_new_budget_continues_the_schedules_from_the_resume_point(tmp_path: Path) -> None:
    """Extending a run: the learning rate goes on from its value at the resume point, linearly to 0 at
    the new budget (it never jumps up); epsilon's schedule is in env steps and goes on unchanged."""
    run = tmp_path / "run"
    budget, stop, longer = 4096, 2048, 8192
    train(run, *TINY, *AGENTS["pqn"], f"trainer.total_steps={budget}", "trainer.checkpoint_every=1024",
          "trainer.keep_checkpoints=8", "agent.epsilon.decay_steps=3072")  # fmt: skip
    lr0 = float(OmegaConf.load(run / "final" / "config.yaml").agent.lr)
    # as if it had been stopped at `stop`: resume from there with a longer budget
    interrupted = tmp_path / "interrupted"
    shutil.copytree(run, interrupted)
    shutil.rmtree(interrupted / "final")
    for step, path in RunDir(interrupted).list_checkpoints():
        if step > stop:
            path.unlink()
    proc = resume(interrupted, f"trainer.total_steps={longer}")
    at_stop = lr0 * (1 - stop / budget)
    line = next(x for x in proc.stderr.splitlines() if "resumed from" in x)
    assert f"env step {stop} of {longer}: lr {at_stop:.3g} -> 0 over the remaining" in line, line
    assert "epsilon" in line and "at step 3.07k" in line
    lr = scalars(interrupted, tblog.LEARNING_RATE)
    assert [v for s, v in lr if s <= stop] == pytest.approx(
        [lr0 * (1 - s / budget) for s, _ in lr if s <= stop]
    )
    after = [(s, v) for s, v in lr if s > stop]
    assert [v for _, v in after] == pytest.approx(
        [at_stop * (longer - s) / (longer - stop) for s, _ in after]
    )
    assert after[-1] == (longer, 0.0) and all(a[1] >= b[1] for a, b in zip(lr, lr[1:], strict=False))
    # epsilon: the same values as in the first run where both ran
    eps_first, eps_ext = dict(scalars(run, tblog.EPSILON)), dict(scalars(interrupted, tblog.EPSILON))
    assert all(eps_ext[s] == v for s, v in eps_first.items())
    # the finished run extended: its lr had annealed to 0 and stays there (said at the resume)
    proc = resume(run, f"trainer.total_steps={longer}")
    assert "lr 0 (annealed)" in proc.stderr and "init_from=" in proc.stderr
    assert all(v == 0.0 for s, v in scalars(run, tblog.LEARNING_RATE) if s >= budget)


class Payload:
    def __reduce__(self):
        return (os.system, (f"touch {MARKER}",))


MARKER = Path("/tmp/gridrl_pwned_marker")


def test_a_pickle_payload_is_refused_and_never_runs(tmp_path: Path) -> None:
    MARKER.unlink(missing_ok=True)
    bad = tmp_path / "run" / "checkpoints" / "ckpt_000000999999.pt"
    bad.parent.mkdir(parents=True)
    torch.save({"format": ckpt.FORMAT_VERSION, "evil": Payload()}, bad)
    with pytest.raises(ckpt.CheckpointError, match="refused"):
        ckpt.safe_load(bad)
    proc = resume(tmp_path / "run", check=False)
    assert proc.returncode == 2 and "refused" in proc.stderr and "Traceback" not in proc.stderr
    assert not MARKER.exists()
    eval_proc = subprocess.run(
        [GRIDRL, "eval", f"checkpoint={bad}"], capture_output=True, text=True, timeout=120
    )
    assert eval_proc.returncode != 0 and not MARKER.exists()


def test_incompatible_resume_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    run = tmp_path / "run"
    train(run, *TINY, *AGENTS["pqn"], "trainer.total_steps=4096")
    before = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}
    for bad in ("env.height=7", "model=mlp", "agent.lr=0.1", "seed=3"):
        proc = resume(run, bad, check=False)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "resume" in lines[0] and bad.split("=")[0] in lines[0], proc.stderr
    after = {p: p.stat().st_mtime_ns for p in run.rglob("*") if p.is_file()}
    assert before == after
    # the same value as saved is not a change; a finished run is not trained again
    proc = resume(run, "env.height=5")
    assert "already finished" in proc.stderr


def test_auto_resume_continues_the_run_dir(tmp_path: Path, reference: References) -> None:
    run = tmp_path / "run"
    proc = start(run, *TINY, *AGENTS["pqn"], "trainer.auto_resume=true")
    wait_for_checkpoint(proc, run)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    out = train(run, *TINY, *AGENTS["pqn"], "trainer.auto_resume=true")
    assert "resumed from" in out.stderr
    assert_same_weights(reference["pqn"], run)


def test_a_resumed_event_file_sorts_after_the_killed_runs(tmp_path: Path) -> None:
    """TensorBoard reads a run's event files in name order (creation second first): a resume within
    the second of the killed run must still write the file read last, or its purge hides nothing."""
    first = tblog.TBLogger(tmp_path)
    first.scalars({tblog.EPSILON: 1.0}, 10)
    first.close()
    (written,) = tmp_path.glob("events.out.tfevents.*")
    killed = f"events.out.tfevents.{int(time.time())}.zz-other-host.99999.0"  # this second, sorts last
    written.rename(tmp_path / killed)
    resumed = tblog.TBLogger(tmp_path, purge_step=5)
    resumed.scalars({tblog.EPSILON: 0.5}, 5)
    resumed.close()
    names = sorted(f.name for f in tmp_path.glob("events.out.tfevents.*"))
    assert len(names) == 2 and names[0] == killed
    acc = EventAccumulator(str(tmp_path), size_guidance={"scalars": 0})
    acc.Reload()
    assert [(e.step, e.value) for e in acc.Scalars(tblog.EPSILON)] == [(5, 0.5)]
