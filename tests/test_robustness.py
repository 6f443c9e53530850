"""What the README's Resuming section promises, through the real CLI in subprocesses, with kills and
signals delivered at seeded, known points (no sleeps): a SIGKILL at a seeded env step, a SIGKILL in the
middle of writing DQN's replay checkpoint, ``best.pt`` or ``final/``, Ctrl-C once and twice, and a
diverging loss. After each, the run dir must stay usable (eval works, no partial file is ever read) and
a resume must end bit for bit where an uninterrupted run ends, TensorBoard included.

The hooks that pick the moment live in a prelude (``PRELUDE``) run before ``gridrl.cli.main`` in the
child process, steered by the environment variable ``GRIDRL_TEST_HOOKS`` (JSON)."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

import gridrl
from conftest import TINY_GAME
from gridrl import checkpoint as ckpt
from gridrl import tblog
from gridrl.cli import main
from gridrl.rundir import RunDir

pytestmark = pytest.mark.slow

SRC = str(Path(gridrl.__file__).resolve().parents[1])  # the tree under test, for the child processes
LOG_EVERY, CKPT_EVERY, EVAL_EVERY, TOTAL = 128, 1024, 1024, 4096
TINY = [
    *TINY_GAME,
    "trainer.precision=fp32",  # the numbers these tests lean on (best.pt improving twice) on every CPU kind
    "trainer.eval_episodes=20",
    f"trainer.eval_every={EVAL_EVERY}",
    f"trainer.log_every={LOG_EVERY}",
    f"trainer.checkpoint_every={CKPT_EVERY}",
    "trainer.keep_checkpoints=2",
    f"trainer.total_steps={TOTAL}",
]
AGENTS = {
    "pqn": ["agent=pqn", "agent.n_envs=16"],
    # the buffer holds every transition of the run: its checkpoints are the compact (partly filled) kind
    "dqn": [
        "agent=dqn",
        "agent.n_envs=16",
        "agent.learning_starts=256",
        "agent.buffer_size=8192",
        "agent.target_update=32",
        "agent.prioritized=true",
        "agent.batch_size=32",
        "agent.replay_ratio=0.0625",
    ],
}

PRELUDE = r"""
import io, json, os, re, signal, sys
hooks = json.loads(os.environ.get("GRIDRL_TEST_HOOKS", "{}"))
import torch
from gridrl import trainer as _trainer

def _die():
    os.kill(os.getpid(), signal.SIGKILL)

_real_log, _real_save, _real_replace = _trainer.Trainer._log_train, torch.save, os.replace
_state = {"fired": False, "armed": False, "writes": 0}

def _log_train(self, epsilon):
    _real_log(self, epsilon)
    if _state["fired"]:
        return
    if self.env_step >= hooks.get("kill_after_log", 1 << 62):  # SIGKILL right after logging this step
        _state["fired"] = True
        self.tb.writer.flush()  # the points logged after the last checkpoint are on disk
        _die()
    if self.env_step >= hooks.get("sigint_after_log", 1 << 62):  # Ctrl-C (once, or twice at once)
        _state["fired"] = _state["armed"] = True
        for _ in range(hooks.get("sigints", 1)):
            os.kill(os.getpid(), signal.SIGINT)

def _save(obj, f, *args, **kwargs):
    name = os.path.basename(str(getattr(f, "name", "")))
    resume_ckpt = isinstance(obj, dict) and obj.get("kind") == "resume"
    if hooks.get("sigint_in_stop_save") and _state["armed"] and resume_ckpt:
        buf = io.BytesIO(); _real_save(obj, buf, *args, **kwargs)
        f.write(buf.getvalue()[: len(buf.getvalue()) // 2]); f.flush()
        os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C while the stop checkpoint is written
    if "die_in_write" in hooks and re.search(hooks["die_in_write"][0], name):
        _state["writes"] += 1
        if _state["writes"] == hooks["die_in_write"][1]:  # write half of the file, then die
            buf = io.BytesIO(); _real_save(obj, buf, *args, **kwargs)
            f.write(buf.getvalue()[: len(buf.getvalue()) // 2]); f.flush(); os.fsync(f.fileno())
            _die()
    return _real_save(obj, f, *args, **kwargs)

def _replace(src, dst, *args, **kwargs):
    if os.path.basename(str(dst)) == hooks.get("die_before_replace"):  # the temp file is complete
        _die()
    return _real_replace(src, dst, *args, **kwargs)

_trainer.Trainer._log_train = _log_train
torch.save = _save
os.replace = _replace
from gridrl.cli import main
sys.exit(main(sys.argv[1:]))
"""


def gridrl_cli(
    *args: str, hooks: dict | None = None, cwd: Path, timeout: float = 180
) -> subprocess.CompletedProcess:
    """``gridrl <args>`` in a child process, with the prelude's hooks."""
    env = {**os.environ, "PYTHONPATH": SRC, "GRIDRL_TEST_HOOKS": json.dumps(hooks or {})}
    return subprocess.run(
        [sys.executable, "-c", PRELUDE, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=cwd,
    )


def train(run: Path, agent: str, *extra: str, hooks: dict | None = None) -> subprocess.CompletedProcess:
    """A training run in a child process (the one that gets killed or signalled)."""
    run.parent.mkdir(parents=True, exist_ok=True)
    return gridrl_cli(
        "train", *TINY, *AGENTS[agent], *extra, f"hydra.run.dir={run}", hooks=hooks, cwd=run.parent
    )


def in_process(*args: str) -> None:
    """``gridrl <args>`` in this process (the runs that are not interrupted: no process start-up)."""
    assert main(list(args)) == 0


def resume(run: Path) -> None:
    in_process("train", f"resume={run}")
    assert "resumed from" in (run / "train.log").read_text()


def eval_ok(target: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """``gridrl eval`` of ``target`` works; the first line of its table."""
    capsys.readouterr()
    in_process("eval", str(target), "episodes=5")
    return capsys.readouterr().out.splitlines()[0]


def killed(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == -signal.SIGKILL, (proc.returncode, proc.stderr[-3000:])


def weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)


def assert_same_weights(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def scalars(run: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar series that does not depend on wall time."""
    acc = EventAccumulator(str(run / "tb"), size_guidance={"scalars": 0})
    acc.Reload()
    tags = [t for t in acc.Tags()["scalars"] if not t.startswith(tblog.TIME_PREFIX) and t != tblog.SPS]
    return {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in tags}


def assert_finished_like(run: Path, ref: Path) -> None:
    """Bit-identical final weights, the same final scores, the same TensorBoard points (none twice)."""
    assert_same_weights(weights(RunDir(run).final_weights), weights(RunDir(ref).final_weights))
    got, want = RunDir(run).read_metrics(), RunDir(ref).read_metrics()
    assert got is not None and want is not None
    for key in ("env_step", "updates", "train_episodes", "mean_return", "food_rate", "enemy_rate"):
        assert got[key] == want[key], key
    tb_run, tb_ref = scalars(run), scalars(ref)
    assert tb_run.keys() == tb_ref.keys() and tblog.TD_LOSS in tb_run
    for tag, points in tb_run.items():
        steps = [s for s, _ in points]
        assert steps == sorted(set(steps)), f"{tag}: duplicated or unordered steps"
        assert points == tb_ref[tag], tag
    assert not list(RunDir(run).checkpoints.glob("*.tmp"))  # a resume clears what a kill left there


def seeded_step(name: str, lo: int) -> int:
    """A logged env step after ``lo``, drawn from a seeded RNG, that is no checkpoint or eval step."""
    steps = [s for s in range(lo + LOG_EVERY, TOTAL, LOG_EVERY) if s % CKPT_EVERY and s % EVAL_EVERY]
    return random.Random(f"gridrl-issue-18-{name}").choice(steps)


class References:
    """One uninterrupted run per learner, made on first use."""

    def __init__(self, root: Path) -> None:
        self.root, self.runs = root, {}

    def __getitem__(self, agent: str) -> Path:
        if agent not in self.runs:
            run = self.root / agent
            in_process("train", *TINY, *AGENTS[agent], f"hydra.run.dir={run}")
            self.runs[agent] = run
        return self.runs[agent]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> References:
    return References(tmp_path_factory.mktemp("ref"))


# ------------------------------------------------------------------------------------- SIGKILL at a step
@pytest.mark.parametrize("agent", list(AGENTS))
def test_sigkill_at_a_seeded_step_then_resume_is_bit_identical(
    tmp_path: Path, reference: References, agent: str
) -> None:
    run, ref = tmp_path / "run", reference[agent]
    kill_at = seeded_step(f"sigkill-{agent}", CKPT_EVERY)
    killed(train(run, agent, hooks={"kill_after_log": kill_at}))
    last_ckpt = RunDir(run).last_checkpoint_step()
    assert last_ckpt == kill_at // CKPT_EVERY * CKPT_EVERY and not RunDir(run).final.exists()
    # the killed run had logged points after its checkpoint, identical so far to the uninterrupted run's
    before, ref_tb = scalars(run), scalars(ref)
    after_ckpt = [p for p in before[tblog.TD_LOSS] if p[0] > last_ckpt]
    assert after_ckpt and after_ckpt[-1][0] == kill_at
    assert after_ckpt == [p for p in ref_tb[tblog.TD_LOSS] if last_ckpt < p[0] <= kill_at]
    resume(run)
    assert_finished_like(run, ref)  # those points were purged and written once again, not twice


# --------------------------------------------------------------------------------- kills in mid-write
def test_kill_while_writing_a_dqn_replay_checkpoint_keeps_the_previous_one(
    tmp_path: Path, reference: References, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    killed(train(run, "dqn", hooks={"die_in_write": [r"^\.ckpt_", 2]}))  # the checkpoint at 2048
    files = RunDir(run)
    assert [s for s, _ in files.list_checkpoints()] == [CKPT_EVERY]  # the complete one only
    (tmp,) = files.checkpoints.glob("*.tmp")
    with pytest.raises(ckpt.CheckpointError):
        ckpt.safe_load(tmp)  # half a file: never given the real name, never read
    path, payload = ckpt.load_latest(run)
    assert payload["env_step"] == CKPT_EVERY and "replay" in payload["learner"]
    assert f"(trained {CKPT_EVERY:,} env steps)" in eval_ok(run, capsys)
    resume(run)
    assert_finished_like(run, reference["dqn"])


def _best_steps(ref: Path) -> list[int]:
    """The env steps at which the reference run wrote best.pt (each evaluation that beat the best)."""
    best, steps = -float("inf"), []
    for step, value in scalars(ref)[tblog.EVAL_MEAN_RETURN]:
        if value > best:
            best, steps = value, [*steps, step]
    return steps


def test_kill_while_writing_best_pt_keeps_the_previous_best(
    tmp_path: Path, reference: References, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = reference["dqn"]
    best_steps = _best_steps(ref)
    assert len(best_steps) >= 2, best_steps  # the config must improve twice for this test to mean much
    run = tmp_path / "run"
    killed(train(run, "dqn", hooks={"die_in_write": [r"^\.best\.pt\.", 2]}))
    files = RunDir(run)
    assert list(files.checkpoints.glob(".best.pt.*.tmp"))
    best = ckpt.safe_load(files.best)  # the first best, whole
    assert best["kind"] == "best" and best["env_step"] == best_steps[0]
    # evaluated before the checkpoint of the same step: the newest checkpoint is the one before
    assert files.last_checkpoint_step() == best_steps[1] - CKPT_EVERY
    assert f"(trained {best_steps[0]:,} env steps)" in eval_ok(files.best, capsys)
    resume(run)
    assert_finished_like(run, ref)
    final_best, ref_best = ckpt.safe_load(files.best), ckpt.safe_load(RunDir(ref).best)
    assert final_best["env_step"] == ref_best["env_step"] == best_steps[-1]
    assert_same_weights(final_best["online"], ref_best["online"])


@pytest.mark.parametrize(
    "hooks",
    [{"die_in_write": [r"^\.q_network\.pt\.", 1]}, {"die_before_replace": "metrics.json"}],
    ids=["mid-final-weights", "after-final-weights-before-metrics"],
)
def test_kill_while_writing_final_leaves_a_usable_run(
    tmp_path: Path, reference: References, capsys: pytest.CaptureFixture[str], hooks: dict
) -> None:
    run, ref = tmp_path / "run", reference["pqn"]
    killed(train(run, "pqn", hooks=hooks))
    files = RunDir(run)
    assert files.read_metrics() is None and files.last_checkpoint_step() == TOTAL - CKPT_EVERY
    if "die_before_replace" in hooks:  # the final weights are whole: eval reads them
        assert_same_weights(weights(files.final_weights), weights(RunDir(ref).final_weights))
        assert files.final_config.is_file()
        assert eval_ok(run, capsys).endswith(str(files.final_weights))  # no metrics: no step known
    else:  # no final weights: eval falls back to the newest checkpoint, never the temp file
        assert not files.final_weights.exists() and list(files.final.glob("*.tmp"))
        assert f"(trained {TOTAL - CKPT_EVERY:,} env steps)" in eval_ok(run, capsys)
    resume(run)
    assert_finished_like(run, ref)


def test_a_finished_resume_leaves_no_temp_file_anywhere(tmp_path: Path, reference: References) -> None:
    run = tmp_path / "run"
    shutil.copytree(reference["pqn"], run)
    files = RunDir(run)
    files.metrics.unlink()  # as after a kill between the final weights and the metrics
    for left in (
        files.final / ".q_network.pt.4242-0badf00d.tmp",
        files.checkpoints / ".best.pt.4242-0badf00d.tmp",
    ):
        left.write_bytes(b"half a file")
    resume(run)
    assert files.read_metrics() is not None
    assert not list(run.rglob("*.tmp"))


# -------------------------------------------------------------------------------------------- Ctrl-C
def test_ctrl_c_saves_exits_130_and_prints_the_resume_command_once(
    tmp_path: Path, reference: References
) -> None:
    run = tmp_path / "run"
    stop_at = seeded_step("ctrl-c", 0)
    proc = train(run, "pqn", hooks={"sigint_after_log": stop_at})
    assert proc.returncode == 128 + signal.SIGINT == 130, proc.stderr[-3000:]
    command = f"resume with: gridrl train resume={run}"
    for text in (proc.stderr, (run / "train.log").read_text()):
        lines = [line for line in text.splitlines() if "resume with:" in line]
        assert len(lines) == 1 and lines[0].endswith(command), lines
        assert f"stopped by signal {signal.SIGINT} at env step {stop_at};" in lines[0]
    step, path = RunDir(run).list_checkpoints()[-1]
    assert step == stop_at and ckpt.safe_load(path)["env_step"] == stop_at  # saved where it stopped
    assert "Traceback" not in proc.stderr and not RunDir(run).final.exists()
    resume(run)
    assert_finished_like(run, reference["pqn"])


@pytest.mark.parametrize("where", ["between-steps", "during-the-save"])
def test_a_second_ctrl_c_stops_at_once_and_keeps_the_last_checkpoint(
    tmp_path: Path, reference: References, where: str
) -> None:
    run = tmp_path / "run"
    stop_at = seeded_step(f"ctrl-c-twice-{where}", CKPT_EVERY)
    hooks = {"sigint_after_log": stop_at, "sigints": 2 if where == "between-steps" else 1}
    if where == "during-the-save":
        hooks["sigint_in_stop_save"] = True
    proc = train(run, "pqn", hooks=hooks)
    # one line, exit status 130 (as a shell reports Ctrl-C), no stop checkpoint, no traceback
    assert proc.returncode == 130, proc.stderr[-3000:]
    last_line = proc.stderr.rstrip().splitlines()[-1]
    assert (
        last_line
        == f"gridrl: error: interrupted again: stopped at once without saving; continue from the last checkpoint with: gridrl train resume={run}"
    )
    assert "Traceback" not in proc.stderr and "resume with:" not in proc.stderr
    files = RunDir(run)
    last = stop_at // CKPT_EVERY * CKPT_EVERY
    assert files.last_checkpoint_step() == last  # the periodic one before the stop, not one at stop_at
    assert ckpt.safe_load(files.checkpoint(last))["env_step"] == last
    assert not list(files.checkpoints.glob("*.tmp")) and not files.final.exists()
    resume(run)
    assert_finished_like(run, reference["pqn"])


# --------------------------------------------------------------------------------------- a diverging loss
# agent.lr=1000 on this game: the first update (env step 256) is finite, the second (512) is inf, every
# time (a seeded run). Checkpoints every 128 env steps: 384 is the last one saved before it diverged.
DIVERGE = ["agent.lr=1000", "trainer.checkpoint_every=128", "trainer.eval_every=0"]


def _diverged_step(stderr: str) -> int:
    found = re.findall(r"loss became (?:nan|inf|-inf) at env step (\d+)", stderr)
    assert found, stderr[-3000:]
    return int(found[-1])


@pytest.fixture(scope="module")
def diverged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess]:
    """A run whose loss diverges (shared: the tests read it and resume copies of it)."""
    run = tmp_path_factory.mktemp("diverged") / "run"
    return run, train(run, "pqn", *DIVERGE)


def test_a_diverging_loss_stops_with_the_last_good_checkpoint_intact(
    tmp_path: Path, diverged: tuple[Path, subprocess.CompletedProcess], capsys: pytest.CaptureFixture[str]
) -> None:
    original, proc = diverged
    assert proc.returncode == 1, proc.stderr[-3000:]
    step = _diverged_step(proc.stderr)
    run = tmp_path / "run"
    shutil.copytree(original, run)
    files = RunDir(run)
    saved = [s for s, _ in files.list_checkpoints()]
    assert saved and saved[-1] == (step - 1) // 128 * 128  # every save before the divergence, none after
    for s, path in files.list_checkpoints():
        payload = ckpt.safe_load(path)
        assert payload["env_step"] == s
        assert all(torch.isfinite(v).all() for v in payload["learner"]["online"].values())
    assert not files.final.exists()
    # the run resumes from that checkpoint exactly: it diverges again at the same env step
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(["train", f"resume={run}"])
    assert exc.value.code == 1 and _diverged_step(capsys.readouterr().err) == step
    assert (
        f"resumed from {files.checkpoint(saved[-1])} at env step {saved[-1]}"
        in (run / "train.log").read_text()
    )


def test_a_diverging_loss_is_one_line_naming_the_step_and_the_last_good_checkpoint(
    diverged: tuple[Path, subprocess.CompletedProcess],
) -> None:
    run, proc = diverged
    step = _diverged_step(proc.stderr)
    last_step, last_path = RunDir(run).list_checkpoints()[-1]
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    lines = [line for line in proc.stderr.splitlines() if "loss became" in line]
    assert len(lines) == 1, lines
    assert (
        f"env step {step}" in lines[0] and str(last_path) in lines[0] and f"env step {last_step}" in lines[0]
    )
