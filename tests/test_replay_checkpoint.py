"""Compact replay checkpoints: only the filled part of the ring is saved, two-valued frames (the ``ego`` and
``planes`` views) bit-packed, and a load restores the buffer exactly (samples and every later add). The
exact resume of a whole run from such a checkpoint is tests/test_robustness.py's DQN kill tests."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from conftest import compose_cfg
from gridrl import checkpoint as ckpt
from gridrl.agent.replay import ReplayBuffer
from gridrl.config import to_config
from gridrl.rundir import RunDir
from gridrl.trainer import Trainer

FRAME = (3, 9, 9)  # the ego view of a 5x5 game
N = 8
# bytes per stored transition besides its frame: action int64, reward float32, terminated and truncated
# bool, final_slot int64, priority float32
PER_TRANSITION = 8 + 4 + 1 + 1 + 8 + 4


def _buffer() -> ReplayBuffer:
    return ReplayBuffer(4096, N, FRAME, 3, 0.9, 25, prioritized=True)


def _fill(buf: ReplayBuffer, steps: int, rng: np.random.Generator, high: int = 255) -> None:
    """``steps`` random steps; frames of 0 and ``high`` (0: any byte values)."""

    def frames() -> np.ndarray:
        if high:
            return rng.integers(0, 2, (N, *FRAME), dtype=np.uint8) * np.uint8(high)
        return rng.integers(0, 256, (N, *FRAME), dtype=np.uint8)

    for _ in range(steps):
        buf.add(
            frames(),
            rng.integers(0, 9, N),
            rng.normal(size=N).astype(np.float32),
            rng.random(N) < 0.05,
            rng.random(N) < 0.05,
            frames(),
        )
    if buf.can_sample():  # priorities that differ from the default
        b = buf.sample(64, torch.Generator().manual_seed(steps))
        buf.update_priorities(b["slot"], b["game"], torch.linspace(0.0, 3.0, 64), eps=1e-3)


def _saved_bytes(state: dict) -> int:
    f = io.BytesIO()
    torch.save(state, f)
    return f.tell()


def _whole(buf: ReplayBuffer) -> dict[str, torch.Tensor]:
    """Every array of the buffer, all slots (written or not)."""
    names = ("obs", "final_obs", "actions", "rewards", "terminated", "truncated", "final_slot", "final_ptr")
    return {k: getattr(buf, k).clone() for k in (*names, "priorities")}


def _assert_same_buffer(a: ReplayBuffer, b: ReplayBuffer) -> None:
    wa, wb = _whole(a), _whole(b)
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k
    assert (a.pos, a.size, float(a.max_priority)) == (b.pos, b.size, float(b.max_priority))
    ga, gb = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    if a.can_sample():
        sa, sb = a.sample(128, ga, 0.6), b.sample(128, gb, 0.6)
        for k in sa:
            assert torch.equal(sa[k], sb[k]), k


def _round_trip(src: ReplayBuffer, dst: ReplayBuffer) -> dict:
    f = io.BytesIO()
    torch.save(src.state_dict(), f)
    f.seek(0)
    state = torch.load(f, weights_only=True)  # data only, as a checkpoint is read
    dst.load_state_dict(state)
    return state


def test_saved_size_grows_with_the_filled_transitions_and_frames_are_bit_packed() -> None:
    rng = np.random.default_rng(0)
    buf = _buffer()
    sizes = {}
    for filled in (0, 64, 192, 448):  # slots written so far (of 512)
        _fill(buf, filled - buf.size, rng)
        sizes[filled] = _saved_bytes(buf.state_dict())
    per_slot = N * (math.prod(FRAME) / 8 + PER_TRANSITION)  # one bit per pixel
    for a, b in ((0, 64), (64, 192), (192, 448)):
        assert sizes[b] - sizes[a] == pytest.approx((b - a) * per_slot, abs=1024), (a, b, sizes)
    # every slot of every array, frames as they are (what checkpoints held before): 5x the size here
    assert sizes[448] < 0.25 * _saved_bytes(_whole(buf))
    _fill(buf, 600, rng)  # wraps: every slot is filled
    full = _saved_bytes(buf.state_dict())
    assert full - sizes[448] == pytest.approx((buf.slots - 448) * per_slot, abs=1024)


@pytest.mark.parametrize("high", [255, 1, 0], ids=["0-255 frames", "0-1 frames", "any frames"])
@pytest.mark.parametrize("steps", [0, 5, 200, 700], ids=["empty", "few", "partly filled", "wrapped"])
def test_a_loaded_buffer_is_the_saved_one_exactly(steps: int, high: int) -> None:
    rng = np.random.default_rng(steps)
    src = _buffer()
    _fill(src, steps, rng, high)
    binary = high > 0
    fresh, used = _buffer(), _buffer()
    _fill(used, 650, np.random.default_rng(99), high)  # a buffer with other contents everywhere
    for dst in (fresh, used):
        state = _round_trip(src, dst)
        _assert_same_buffer(src, dst)
    # the frames were packed exactly when they had two values; saved as they are otherwise
    assert isinstance(state["obs"], dict) == binary or steps == 0
    if not binary and steps:
        assert tuple(state["obs"].shape) == (min(steps, src.slots), N, *FRAME)  # the filled slots only
    # and both go on identically: the next adds, then samples
    step_rng = [np.random.default_rng(7), np.random.default_rng(7)]
    for buf, r in zip((src, fresh), step_rng, strict=True):
        _fill(buf, 3, r, high)
    _assert_same_buffer(src, fresh)


def test_a_whole_buffer_state_as_older_checkpoints_saved_it_still_loads() -> None:
    src = _buffer()
    _fill(src, 100, np.random.default_rng(1))  # 100 of 512 slots
    old = {k: v.clone() for k, v in _whole(src).items()}  # every slot, frames as they are
    old.update(pos=src.pos, size=src.size, max_priority=src.max_priority.clone())
    dst = _buffer()
    _fill(dst, 300, np.random.default_rng(2))
    dst.load_state_dict(old)
    _assert_same_buffer(src, dst)


def test_a_state_that_does_not_fit_is_refused() -> None:
    src = _buffer()
    _fill(src, 20, np.random.default_rng(3))
    state = src.state_dict()
    with pytest.raises(ValueError, match="replay obs"):
        ReplayBuffer(4096, N, (3, 7, 7), 3, 0.9, 25, prioritized=True).load_state_dict(state)
    with pytest.raises(ValueError, match="does not fit"):
        ReplayBuffer(64, N, FRAME, 3, 0.9, 25, prioritized=True).load_state_dict({**state, "size": 20})


def test_dqn_debug_run_checkpoints_are_small(tmp_path) -> None:
    """``gridrl train agent=dqn trainer=debug`` (100k-transition replay, 8192 env steps): each checkpoint
    holds the transitions collected so far, one bit per pixel, not the 100k-slot ring (112 MB before).
    ``agent.learning_starts`` is raised to the budget so that the test makes no gradient steps: the
    checkpoints hold the same replay either way."""
    node = compose_cfg(["agent=dqn", "trainer=debug", "trainer.threads=1", "agent.learning_starts=8192"])
    cfg = to_config(node)
    assert cfg.agent.buffer_size == 100_000 and cfg.trainer.total_steps == 8192
    trainer = Trainer(cfg, tmp_path, OmegaConf.to_yaml(node))
    trainer.run()
    saved = RunDir(tmp_path).list_checkpoints()
    assert [step for step, _ in saved] == [4096, 8192]
    assert max(path.stat().st_size for _, path in saved) < 10e6
    replay, frame = trainer.learner.replay, math.prod(trainer.game.obs_shape)
    per_transition = frame / 8 + 8 + 4 + 1 + 1 + 8  # no priorities in this preset
    side_ring = replay.final_size * replay.n_envs * frame / 8
    for step, path in saved:  # the replay in the checkpoint: what was collected, one bit per pixel
        replay_bytes = _saved_bytes(ckpt.safe_load(path)["learner"]["replay"])
        assert replay_bytes == pytest.approx(step * per_transition + side_ring, abs=4096), step
