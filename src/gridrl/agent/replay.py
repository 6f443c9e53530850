"""Replay memory for N games stepped together, each frame stored once, as torch tensors on one device.

Layout: a ring of ``slots = capacity // n_envs`` time steps for every game, ``obs[slot, game]`` being
the observation the action was taken in. The next observation of a transition is ``obs[slot + 1]`` of
the same game, unless the episode ended there: terminated transitions need none, truncated ones
(timeouts, which bootstrap) keep their true final frame in a small side ring sized for the most
timeouts the window can hold (``slots // max_steps + 2`` per game, ~1 % extra for 200-step episodes).
Append is a few vectorised writes per step; sampling is uniform (or proportional to priorities) over
the transitions whose n-step successors are stored. n-step returns stop at episode ends.

Everything lives on ``device`` (the learner's): ``add`` takes device tensors as they are (numpy arrays
are copied over), ``sample`` draws with a ``torch.Generator`` on that device and returns device
tensors; neither reads a value back to the host, so on a GPU a step needs no synchronisation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

ArrayLike = torch.Tensor | np.ndarray
CPU = torch.device("cpu")


def _source(x: ArrayLike) -> torch.Tensor:
    """A tensor to copy from: tensors as they are, numpy arrays wrapped without a copy."""
    if isinstance(x, np.ndarray):
        try:
            return torch.from_numpy(x)
        except ValueError:  # negative strides
            return torch.from_numpy(np.ascontiguousarray(x))
    return torch.as_tensor(x)


def _to_host(t: torch.Tensor) -> torch.Tensor:
    """CPU tensors as they are (shared memory: saving does not double peak memory), others copied."""
    return t if t.device.type == "cpu" else t.cpu()


class ReplayBuffer:
    def __init__(
        self,
        capacity: int,
        n_envs: int,
        obs_shape: tuple[int, ...],
        n_step: int,
        gamma: float,
        max_episode_steps: int,
        prioritized: bool = False,
        alpha: float = 0.6,
        device: torch.device | str = CPU,
    ) -> None:
        self.slots = capacity // n_envs
        if self.slots <= n_step + 1:
            raise ValueError(f"capacity {capacity} too small for {n_envs} games and n_step {n_step}")
        self.n_envs, self.n_step, self.gamma = n_envs, n_step, gamma
        self.obs_shape = tuple(obs_shape)
        self.device = dev = torch.device(device)
        S, N = self.slots, n_envs

        def zeros(rows: int, dtype: torch.dtype) -> torch.Tensor:
            return torch.zeros((rows, N), dtype=dtype, device=dev)

        # Timeouts of one game are >= max_steps apart, so the S slots hold at most S // max_steps + 1
        # of them: the side ring's entry at final_ptr (its oldest) is never referenced, which is what
        # lets ``add`` write there for every game, truncated or not (see there).
        self.final_size = F = S // max(1, max_episode_steps) + 2
        # obs (S, N, *frame) and final_obs (F, N, *frame) are two views of one allocation, so that a
        # bootstrap frame (either of them) is one index_select; copies use a wider integer view.
        frame = int(np.prod(obs_shape))
        self._frames = torch.zeros(((S + F) * N, frame), dtype=torch.uint8, device=dev)
        self.obs = self._frames[: S * N].view(S, N, *obs_shape)
        self.final_obs = self._frames[S * N :].view(F, N, *obs_shape)
        word = next(
            w for w in (torch.int64, torch.int32, torch.int16, torch.uint8) if frame % w.itemsize == 0
        )
        self._words = self._frames.view(word)  # ((S + F) * N, frame / itemsize), for index_copy_
        self._frames_flat = self._frames.view(-1, *obs_shape)  # for index_select
        self.actions = zeros(S, torch.int64)
        self.rewards = zeros(S, torch.float32)
        self.terminated = zeros(S, torch.bool)
        self.truncated = zeros(S, torch.bool)
        self.final_slot = zeros(S, torch.int64)  # side-ring index of a truncated step's final frame
        self.final_ptr = torch.zeros(N, dtype=torch.int64, device=dev)
        self.pos = 0  # next slot to write
        self.size = 0  # slots written (<= slots)
        self.prioritized, self.alpha = prioritized, alpha
        # float32 priorities (powered in float32, accumulated in float64 for sampling)
        self.priorities = zeros(S, torch.float32) if prioritized else None
        self.max_priority = torch.tensor(1.0, dtype=torch.float64, device=dev)  # 0-d: no host sync
        # flat rows are slot * N + game; small constants for the index arithmetic
        self._final_rows = S * N + torch.arange(N, device=dev)  # row of final_obs[0, game] in _frames
        self._offsets = torch.arange(n_step + 1, device=dev) * N  # rows of steps 0..n_step after one
        # gamma^k, k = 0..n_step, as float32 running products (bit-equal to multiplying step by step)
        self._gpow = torch.cat(
            [torch.ones(1, dtype=torch.float32), torch.full((n_step,), gamma, dtype=torch.float32).cumprod(0)]
        ).to(dev)
        self._gpow_n = self._gpow[:n_step]

    def __len__(self) -> int:
        return self.size * self.n_envs

    @property
    def capacity(self) -> int:
        """Transitions the ring holds when full (``capacity`` rounded down to a multiple of n_envs)."""
        return self.slots * self.n_envs

    @property
    def nbytes(self) -> int:
        tensors = [
            self.obs,
            self.actions,
            self.rewards,
            self.terminated,
            self.truncated,
            self.final_slot,
            self.final_obs,
        ]
        if self.priorities is not None:
            tensors.append(self.priorities)
        return sum(t.nbytes for t in tensors)

    def _words_of(self, frames: torch.Tensor) -> torch.Tensor:
        """(N, *frame) uint8 as (N, frame / word) words like ``_words`` (a copy only if misaligned)."""
        frames = frames.reshape(frames.shape[0], -1)
        try:
            return frames.view(self._words.dtype)
        except RuntimeError:  # a strided or oddly offset view of a larger array
            return frames.clone(memory_format=torch.contiguous_format).view(self._words.dtype)

    def add(
        self,
        obs: ArrayLike,
        actions: ArrayLike,
        rewards: ArrayLike,
        terminated: ArrayLike,
        truncated: ArrayLike,
        final_obs: ArrayLike,
    ) -> None:
        """One step of every game: torch tensors (ideally already on the device) or numpy arrays."""
        p, N = self.pos, self.n_envs
        self.obs[p].copy_(_source(obs))  # copy_ moves to the device and casts where needed
        self.actions[p].copy_(_source(actions))
        self.rewards[p].copy_(_source(rewards))
        self.terminated[p].copy_(_source(terminated))
        trunc = self.truncated[p]
        trunc.copy_(_source(truncated))
        # Side ring, written unconditionally (no ``truncated.any()``, which would be a host sync on a
        # GPU): every game's final frame goes to its ring's oldest entry, which no stored transition
        # references (see __init__); only truncated games advance their pointer, keeping the frame.
        # final_slot of a non-truncated step is never read.
        final_obs = _source(final_obs).to(self.device, torch.uint8)
        rows = torch.add(self._final_rows, self.final_ptr, alpha=N)
        self._words.index_copy_(0, rows, self._words_of(final_obs))
        self.final_slot[p].copy_(self.final_ptr)
        self.final_ptr.add_(trunc).remainder_(self.final_size)
        if self.priorities is not None:
            self.priorities[p].copy_(self.max_priority)
        self.pos = (p + 1) % self.slots
        self.size = min(self.size + 1, self.slots)

    def truncate_last(self, final_obs: ArrayLike) -> None:
        """The newest step of every game whose episode it did not end becomes a timeout bootstrapping
        from ``final_obs`` (N, *frame): its successor will not follow (a resumed run restarts an env
        whose state could not be saved). This truncation comes on top of the ones ``max_episode_steps``
        bounds: where every episode in the window of a game timed out at exactly the limit, the side ring
        is then one entry short and that game's oldest timeout in the window bootstraps from a stale
        frame until it leaves the window (one transition per game, once per resume)."""
        if self.size == 0:
            return
        p = (self.pos - 1) % self.slots
        cut = ~(self.terminated[p] | self.truncated[p])
        rows = torch.add(self._final_rows, self.final_ptr, alpha=self.n_envs)
        self._words.index_copy_(0, rows, self._words_of(_source(final_obs).to(self.device, torch.uint8)))
        self.final_slot[p] = torch.where(cut, self.final_ptr, self.final_slot[p])
        self.truncated[p] |= cut
        self.final_ptr.add_(cut).remainder_(self.final_size)

    def _valid_ages(self) -> int:
        """Transitions with age in [n_step, size - 1] (age 0 = the newest slot) have their successors."""
        return max(0, self.size - self.n_step)

    def can_sample(self) -> bool:
        return self._valid_ages() > 0

    def sample(
        self, batch_size: int, generator: torch.Generator, beta: float = 0.4
    ) -> dict[str, torch.Tensor]:
        """``batch_size`` transitions drawn with ``generator`` (on the buffer's device): uniformly, or
        proportionally to ``priority ** alpha`` with importance weights ``(n P)^-beta / max``.
        The valid slots run from the oldest (age size - 1) for n_valid slots: flat rows (slot * N + game)
        ``start * N + i`` for i < n_valid * N, modulo S * N (which ``_gather`` applies)."""
        S, N, dev = self.slots, self.n_envs, self.device
        n_valid = self._valid_ages()
        start = (self.pos - self.size) % S
        if self.priorities is None:
            row = torch.randint(
                start * N, (start + n_valid) * N, (batch_size,), generator=generator, device=dev
            )
            weights = torch.ones(batch_size, dtype=torch.float32, device=dev)
        else:
            if start + n_valid <= S:
                pri = self.priorities[start : start + n_valid]  # a view
            else:
                pri = torch.cat([self.priorities[start:], self.priorities[: start + n_valid - S]])
            pri = pri.reshape(-1)
            if self.alpha != 1:
                pri = pri.pow(self.alpha)
            cdf = pri.cumsum(0, dtype=torch.float64)
            total = cdf[-1]
            u = torch.rand(batch_size, generator=generator, device=dev, dtype=torch.float64).mul_(total)
            pick = torch.searchsorted(cdf, u, right=True).clamp_(max=cdf.numel() - 1)
            w = pri.take(pick).double().mul_(cdf.numel() / total).pow_(-beta)  # (n P)^-beta
            weights = w.div_(w.max()).float()
            row = pick.add_(start * N)
        return self._gather(row, weights)

    def _gather(self, row: torch.Tensor, weights: torch.Tensor) -> dict[str, torch.Tensor]:
        """n-step return, bootstrap frame and discount for the transitions at flat rows ``slot * N +
        game`` (mod S * N), all n_step steps at once through a (B, n_step + 1) index (a fixed number
        of ops whatever n_step and batch size)."""
        SN, N, n = self.slots * self.n_envs, self.n_envs, self.n_step
        steps = (row[:, None] + self._offsets).remainder_(SN)  # rows of steps 0..n (n: bootstrap obs)
        row, cur = steps[:, 0], steps[:, :n]
        term, trunc = self.terminated.take(cur), self.truncated.take(cur)
        ended = term | trunc
        alive = ended.cumsum(1) == ended  # no episode end before step k (the ending step itself counts)
        ret = torch.mv(self.rewards.take(cur) * alive, self._gpow_n)
        discount = self._gpow.take(alive.sum(1))  # gamma^(steps counted), 0 where the episode terminated
        discount.masked_fill_((term & alive).any(1), 0.0)
        trunc &= alive  # at most one per row: the timeout that ended the window
        game = row % N
        # a timeout bootstraps from its final frame: row S * N + final_slot * N + game of _frames
        final_row = torch.add(game + SN, self.final_slot.take((cur * trunc).sum(1)), alpha=N)
        next_row = torch.where(trunc.any(1), final_row, steps[:, n])
        obs, next_obs = self._frames_flat.index_select(0, torch.cat([row, next_row])).chunk(2)
        return {
            "obs": obs,
            "actions": self.actions.take(row),
            "returns": ret,
            "next_obs": next_obs,
            "discount": discount,
            "weights": weights,
            "slot": torch.div(row, N, rounding_mode="floor"),
            "game": game,
        }

    def update_priorities(self, slot: torch.Tensor, game: torch.Tensor, td: torch.Tensor, eps: float) -> None:
        """Priority ``|td| + eps`` for the sampled transitions. A transition drawn more than once in the
        batch keeps the largest (order-independent, so deterministic on every device)."""
        assert self.priorities is not None
        pri = td.detach().abs().to(self.priorities.dtype).add_(eps)
        row = torch.add(game, slot, alpha=self.n_envs)
        self.priorities.view(-1).scatter_reduce_(0, row, pri, "amax", include_self=False)
        self.max_priority = torch.maximum(self.max_priority, pri.max())

    # ------------------------------------------------------------------------------------ checkpoint
    _ARRAYS = ("obs", "actions", "rewards", "terminated", "truncated", "final_slot", "final_obs", "final_ptr")

    def state_dict(self) -> dict[str, Any]:
        """CPU tensors (sharing memory with the buffer when it is on the CPU: no copy)."""
        state: dict[str, Any] = {k: _to_host(getattr(self, k)) for k in self._ARRAYS}
        if self.priorities is not None:
            state["priorities"] = _to_host(self.priorities)
        state.update(pos=self.pos, size=self.size, max_priority=_to_host(self.max_priority))
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """From a state saved on any device (``max_priority`` may also be a plain float)."""
        keys = self._ARRAYS + (("priorities",) if self.priorities is not None else ())
        for k in keys:
            dst, src = getattr(self, k), state[k]
            if tuple(src.shape) != tuple(dst.shape):
                raise ValueError(f"replay {k}: saved shape {tuple(src.shape)}, buffer {tuple(dst.shape)}")
            dst.copy_(src)
        self.pos, self.size = int(state["pos"]), int(state["size"])
        self.max_priority = torch.as_tensor(
            state["max_priority"], dtype=torch.float64, device=self.device
        ).clone()
