"""MiniGrid (Chevalier-Boisvert et al.) behind the batched contract, plus exact optimal returns.

Observations: MiniGrid's partial, egocentric view ``image`` ``(V, V, 3)`` (V = 7 by default) of
``(object index, colour index, state index)`` becomes one-hot planes, 0/255, ``(11 + 6 + 3 = 20, V, V)``:
planes 0-10 the object (``unseen empty wall floor door key ball box goal lava agent``), 11-16 the colour
(``red green blue purple yellow grey``), 17-19 the state (``open closed locked``), in the order of
``minigrid.core.constants``. The ``direction`` and ``mission`` keys are dropped (the view is egocentric;
the tasks here have one fixed mission each).

Reward is MiniGrid's: ``1 - 0.9 * step_count / max_steps`` on reaching the goal, else 0; episodes end
by reaching the goal or lava (terminated) or at ``max_steps`` (truncated). ``render()`` gives MiniGrid's
own full-grid RGB picture of each copy (``tile_size`` pixels per cell, the agent's view highlighted).

Names as people type them (``minigrid/<name>``): :data:`TASKS` lists the tested ones; any registered
``MiniGrid-*`` id also works by its name without the ``MiniGrid-`` prefix and version, dashes ignored
(``keycorridor-s3r1`` = ``MiniGrid-KeyCorridorS3R1-v0``), or by its full id.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from gridrl.config import MINIGRID_ACTIONS, ConfigError
from gridrl.envs.gym_env import GymEnv, ensure_registered

N_OBJECTS, N_COLORS, N_STATES = 11, 6, 3  # index ranges of minigrid.core.constants (checked in tests)
N_PLANES = N_OBJECTS + N_COLORS + N_STATES
_OFFSETS = np.array([0, N_OBJECTS, N_OBJECTS + N_COLORS], dtype=np.intp)
_LIMITS = np.array([N_OBJECTS, N_COLORS, N_STATES])

# short name -> gymnasium id, for the tasks this package is tested on
TASKS = {
    "empty-8x8": "MiniGrid-Empty-8x8-v0",
    "doorkey-8x8": "MiniGrid-DoorKey-8x8-v0",
    "doorkey-16x16": "MiniGrid-DoorKey-16x16-v0",
    "fourrooms": "MiniGrid-FourRooms-v0",
    "lavagap-s7": "MiniGrid-LavaGapS7-v0",
    "keycorridor-s3r1": "MiniGrid-KeyCorridorS3R1-v0",
}
# MiniGrid's actions: 0 left, 1 right, 2 forward, 3 pickup, 4 drop, 5 toggle, 6 done. A set lists the
# ones the agent chooses from, in its own order (agent action i = MiniGrid action set[i]).
ACTION_SETS = {
    "all": (0, 1, 2, 3, 4, 5, 6),
    "nav": (0, 1, 2),  # enough without keys and doors
    "keys": (0, 1, 2, 3, 5),  # no drop (it undoes a pickup) and no done (a no-op in these tasks)
}
assert tuple(ACTION_SETS) == MINIGRID_ACTIONS  # the names the schema allows (gridrl.config)


def _squash(name: str) -> str:
    return re.sub(r"[-_\s]", "", name.lower())


def resolve_task(name: str, key: str = "env.task") -> str:
    """The gymnasium id of a MiniGrid task name (see the module docstring); :class:`ConfigError` if none."""
    import gymnasium

    if name in TASKS:
        return TASKS[name]
    if name.startswith(("MiniGrid-", "minigrid:")):
        return ensure_registered(name, key)
    import minigrid  # noqa: F401  (registers the ids)

    wanted = _squash(name)
    found: dict[str, str] = {}
    for env_id in gymnasium.registry:
        m = re.fullmatch(r"MiniGrid-(.+)-v(\d+)", env_id)
        if m and _squash(m.group(1)) == wanted:
            found[m.group(2)] = env_id
    if found:
        return found[max(found, key=int)]
    raise ConfigError(
        f"{key}={name!r} is not a MiniGrid task; choose one of {', '.join(TASKS)} "
        "or any MiniGrid-* id (by its full id or its name without prefix and version)"
    )


def onehot(image: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """MiniGrid ``image`` stack ``(m, V, V, 3)`` of indices -> one-hot uint8 ``(m, 20, V, V)``, 0/255.

    Raises ``ValueError`` on an index outside MiniGrid's ranges (e.g. a fully observable view, whose
    agent cell stores its direction 0-3 as the state).
    """
    image = np.asarray(image)
    if (image >= _LIMITS).any():
        raise ValueError(
            f"MiniGrid indices out of range: max (object, colour, state) = {tuple(image.reshape(-1, 3).max(0))}"
            f", allowed < {tuple(_LIMITS)}"
        )
    m, V, U, _ = image.shape
    planes = np.zeros((m, V, U, N_PLANES), dtype=np.uint8)
    np.put_along_axis(planes, image.astype(np.intp) + _OFFSETS, 255, axis=3)
    if out is None:
        out = np.empty((m, N_PLANES, V, U), dtype=np.uint8)
    out[...] = planes.transpose(0, 3, 1, 2)
    return out


# ---------------------------------------------------------------------------- the view, batched
def _slice_coords(V: int) -> np.ndarray:
    """``(4, 2, V, V)``: for each agent direction, the slice cell ``(i, j)`` that MiniGrid's
    ``gen_obs_grid`` shows at view cell ``(x, y)``: its ``rotate_left`` applied ``direction + 1`` times
    (``new[j, width - 1 - i] = old[i, j]``) to the index grids."""
    out = np.empty((4, 2, V, V), dtype=np.intp)
    ii, jj = np.meshgrid(np.arange(V), np.arange(V), indexing="ij")
    for d in range(4):
        a, b = ii, jj
        for _ in range(d + 1):
            ra, rb = np.empty_like(a), np.empty_like(b)
            ra[np.arange(V)[None, :], V - 1 - np.arange(V)[:, None]] = a
            rb[np.arange(V)[None, :], V - 1 - np.arange(V)[:, None]] = b
            a, b = ra, rb
        out[d] = a, b
    return out


def _visible(transparent: np.ndarray) -> np.ndarray:
    """MiniGrid's ``Grid.process_vis`` for a stack of views ``(m, V, V)`` indexed ``[x, y]``, the agent
    at ``(V // 2, V - 1)``, all at once: bool ``(m, V, V)``.

    Row by row from the agent's row up: within a row, visibility spreads left and right from a visible
    cell that can be seen through; the row above gets the cells above and diagonally above every visible
    see-through cell (what MiniGrid's two passes per row amount to; equality is tested against it).
    """
    m, V, _ = transparent.shape
    mask = np.zeros((m, V, V), dtype=bool)
    mask[:, V // 2, V - 1] = True
    for j in range(V - 1, -1, -1):
        row, see = mask[:, :, j], transparent[:, :, j]
        for i in range(V - 1):
            row[:, i + 1] |= row[:, i] & see[:, i]
        for i in range(V - 1, 0, -1):
            row[:, i - 1] |= row[:, i] & see[:, i]
        if j > 0:
            through = row & see
            above = mask[:, :, j - 1]
            above |= through
            above[:, 1:] |= through[:, :-1]
            above[:, :-1] |= through[:, 1:]
    return mask


class EgocentricViews:
    """MiniGrid's partial view (``gen_obs()["image"]``, ``(V, V, 3)`` indices) of many envs at once.

    MiniGrid builds each view cell by cell in Python (slice, rotate, occlusion, encode: ~90 us per
    step on the 2-core Xeon, 85 % of a DoorKey step); here only the grid's encoding is a Python loop
    (one list comprehension) and the rest is array work on the whole batch. Exact: tests compare it
    with MiniGrid's own ``gen_obs`` over random play on every task of :data:`TASKS`.

    Valid for envs that keep MiniGrid's ``gen_obs`` / ``gen_obs_grid`` and objects whose
    ``see_behind`` is MiniGrid's (walls and closed or locked doors block the view): see
    :meth:`applies`.
    """

    MIN_BATCH = 4  # fewer envs than this: MiniGrid's own gen_obs (benchmarks/game_speed.py --minigrid)

    def __init__(self, view_size: int, see_through_walls: bool) -> None:
        from minigrid.core.constants import COLOR_TO_IDX, OBJECT_TO_IDX

        self.V = view_size
        self.see_through_walls = see_through_walls
        self._coords = _slice_coords(view_size)
        self._empty = (OBJECT_TO_IDX["empty"], 0, 0)
        self._wall = np.array([OBJECT_TO_IDX["wall"], COLOR_TO_IDX["grey"], 0], dtype=np.uint8)
        self._wall_idx, self._door_idx = OBJECT_TO_IDX["wall"], OBJECT_TO_IDX["door"]

    @staticmethod
    def applies(env: Any) -> bool:
        """Whether ``env`` (unwrapped) draws its view with MiniGrid's own base-class methods."""
        from minigrid.minigrid_env import MiniGridEnv as Base

        cls = type(env)
        return cls.gen_obs is Base.gen_obs and cls.gen_obs_grid is Base.gen_obs_grid

    def __call__(self, envs: list[Any]) -> np.ndarray:
        """uint8 ``(len(envs), V, V, 3)``: each env's ``gen_obs()["image"]`` (unwrapped envs)."""
        V, m, empty = self.V, len(envs), self._empty
        if m < self.MIN_BATCH:  # the array work costs a fixed ~0.1 ms: MiniGrid's own is faster here
            from minigrid.minigrid_env import MiniGridEnv as Base

            return np.stack([Base.gen_obs(u)["image"] for u in envs])
        W = max(u.grid.width for u in envs)
        H = max(u.grid.height for u in envs)
        world = np.empty((m, W + 2 * V, H + 2 * V, 3), dtype=np.uint8)
        world[...] = self._wall  # beyond the grid: walls, as in Grid.slice
        pos = np.empty((m, 2), dtype=np.intp)
        dirs = np.empty(m, dtype=np.intp)
        carried = np.empty((m, 3), dtype=np.uint8)
        for e, u in enumerate(envs):
            g = u.grid
            codes = np.array([empty if o is None else o.encode() for o in g.grid], dtype=np.uint8)
            codes = codes.reshape(g.height, g.width, 3)
            world[e, V : V + g.width, V : V + g.height] = codes.transpose(1, 0, 2)
            pos[e] = u.agent_pos
            dirs[e] = u.agent_dir
            carried[e] = empty if u.carrying is None else u.carrying.encode()
        # top-left corner of the slice (MiniGridEnv.get_view_exts), per direction right/down/left/up
        half = V // 2
        top_x = pos[:, 0] - np.array([0, half, V - 1, half])[dirs]
        top_y = pos[:, 1] - np.array([half, 0, half, V - 1])[dirs]
        ij = self._coords[dirs]  # (m, 2, V, V)
        xs = top_x[:, None, None] + V + ij[:, 0]
        ys = top_y[:, None, None] + V + ij[:, 1]
        view = world[np.arange(m)[:, None, None], xs, ys]  # (m, V, V, 3)
        if self.see_through_walls:
            mask = np.ones((m, V, V), dtype=bool)
        else:
            obj = view[..., 0]
            mask = _visible(~((obj == self._wall_idx) | ((obj == self._door_idx) & (view[..., 2] != 0))))
        view[:, half, V - 1] = carried  # the agent sees what it carries where it stands
        view[~mask] = 0
        return view


class MiniGridEnv(GymEnv):
    """``n`` copies of a MiniGrid task with one-hot observations ``(20, V, V)``.

    Args:
        task: a name of :data:`TASKS`, another MiniGrid name or a full ``MiniGrid-*`` id.
        n: number of copies.
        max_steps: the env's own ``max_steps`` (reward and truncation); ``None``: the task's default.
        actions: ``all`` (7 actions), ``nav`` (left, right, forward only: enough for the tasks without
            keys or doors) or ``keys`` (left, right, forward, pickup, toggle: the key-and-door tasks
            without the two actions that only waste steps there).
        tile_size: pixels per cell of :meth:`render`.
        env_kwargs: further constructor arguments (e.g. ``agent_view_size``).
        fast_views: draw the views with :class:`EgocentricViews` (same observations, several times
            faster) where the task allows; ``False``: MiniGrid's own ``gen_obs`` (for comparisons).
    """

    def __init__(
        self,
        task: str,
        n: int = 1,
        max_steps: int | None = None,
        actions: str = "all",
        tile_size: int = 8,
        env_kwargs: dict[str, Any] | None = None,
        fast_views: bool = True,
    ) -> None:
        if actions not in ACTION_SETS:
            raise ConfigError(
                f"env.actions={actions!r} is not allowed; choose one of {', '.join(ACTION_SETS)}"
            )
        kwargs = dict(env_kwargs or {})
        if max_steps is not None:
            kwargs["max_steps"] = max_steps
        self.tile_size = tile_size
        super().__init__(resolve_task(task), n, None, kwargs, render_mode=None)
        self._action_map = np.array(ACTION_SETS[actions], dtype=np.int64)
        self.n_actions = len(self._action_map)
        self._units: list[Any] = [env.unwrapped for env in self.envs]  # minigrid's MiniGridEnv
        first = self._units[0]
        self._views: EgocentricViews | None = None
        if fast_views and EgocentricViews.applies(first):
            # MiniGrid's step and reset end with gen_obs(): skip it, the views are drawn in batches
            self._views = EgocentricViews(first.agent_view_size, first.see_through_walls)
            for u in self._units:
                u.gen_obs = _no_view(u)

    def _reset_one(self, i: int, seed: int | None) -> np.ndarray:
        raw = super()._reset_one(i, seed)  # the image is None with the batched views
        return raw if self._views is None else self._views([self._units[i]])[0]

    def _step_many(
        self, idx: list[int], actions: list[int], out: np.ndarray | None
    ) -> tuple[np.ndarray, tuple[float, ...], tuple[bool, ...], tuple[bool, ...]]:
        if self._views is None:
            return super()._step_many(idx, actions, out)
        _, rewards, terms, truncs = zip(
            *[self._step_one(i, a) for i, a in zip(idx, actions, strict=True)], strict=True
        )  # every copy first; then all their views in one batch
        views = self._views([self._units[i] for i in idx])
        if out is None:
            return views, rewards, terms, truncs
        out[...] = views
        return out, rewards, terms, truncs

    def _converter(
        self, space: Any, channels_first: bool
    ) -> tuple[Callable[[Any], np.ndarray], tuple[int, ...], Any, tuple[int, int, int], Callable[..., None]]:
        image = space.spaces["image"]
        V, U, _ = image.shape
        return (lambda obs: obs["image"]), image.shape, np.uint8, (N_PLANES, V, U), onehot  # type: ignore[return-value]

    def _step_one(self, i: int, action: int) -> tuple[np.ndarray, float, bool, bool]:
        return super()._step_one(i, int(self._action_map[action]))

    def render(self, copies: np.ndarray | None = None) -> np.ndarray:
        """RGB ``(k, H * tile_size, W * tile_size, 3)``: MiniGrid's full-grid picture of ``copies``
        (default: all)."""
        idx = range(self.n) if copies is None else np.asarray(copies).tolist()
        return np.stack(
            [
                self.envs[i].unwrapped.get_frame(highlight=True, tile_size=self.tile_size, agent_pov=False)  # type: ignore[attr-defined]
                for i in idx
            ]
        )


def _no_view(env: Any) -> Callable[[], dict[str, Any]]:
    """A stand-in for ``env.gen_obs``: MiniGrid's observation without the image (drawn separately)."""

    def gen_obs() -> dict[str, Any]:
        return {"image": None, "direction": env.agent_dir, "mission": env.mission}

    return gen_obs


# ------------------------------------------------------------------------------------ optimal returns
def shortest_path(env: Any) -> list[int] | None:
    """The fewest actions (0 left, 1 right, 2 forward) taking the agent of a reset MiniGrid env to a goal.

    Breadth-first search over (cell, direction) from the agent's current cell and direction. Lava ends
    an episode with nothing, so it is avoided; walls block. ``None`` when no goal can be reached. Raises
    ``ValueError`` on grids with anything else (doors, keys, boxes, balls, moving obstacles): their
    shortest solutions need more than the turn / forward actions.
    """
    u = env.unwrapped
    grid = u.grid
    W, H = grid.width, grid.height
    free = np.zeros((W, H), dtype=bool)
    goal = np.zeros((W, H), dtype=bool)
    for x in range(W):
        for y in range(H):
            cell = grid.get(x, y)
            kind = None if cell is None else cell.type
            if kind in (None, "floor", "goal"):
                free[x, y] = True
                goal[x, y] = kind == "goal"
            elif kind not in ("wall", "lava"):
                raise ValueError(
                    f"{u.spec.id if u.spec else type(u).__name__}: cannot plan with a {kind} on the grid"
                )
    dx, dy = (1, 0, -1, 0), (0, 1, 0, -1)  # minigrid DIR_TO_VEC: right, down, left, up
    start = (int(u.agent_pos[0]), int(u.agent_pos[1]), int(u.agent_dir))
    parent: dict[tuple[int, int, int], tuple[tuple[int, int, int], int] | None] = {start: None}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        x, y, d = state
        nx, ny = x + dx[d], y + dy[d]
        moves = [((x, y, (d - 1) % 4), 0), ((x, y, (d + 1) % 4), 1)]
        if 0 <= nx < W and 0 <= ny < H and free[nx, ny]:
            moves.append(((nx, ny, d), 2))
        for nxt, action in moves:
            if nxt in parent:
                continue
            parent[nxt] = (state, action)
            if action == 2 and goal[nxt[0], nxt[1]]:
                path = []
                node: tuple[int, int, int] | None = nxt
                while parent[node] is not None:  # type: ignore[index]
                    node, a = parent[node]  # type: ignore[index,misc]
                    path.append(a)
                return path[::-1]
            queue.append(nxt)
    return None


def optimal_returns(env_id: str, seeds: Iterable[int], **env_kwargs: Any) -> np.ndarray:
    """The best achievable return of each seeded episode: ``1 - 0.9 * k / max_steps`` for the shortest
    path of ``k`` steps (0 if none within ``max_steps``), float64 ``(len(seeds),)``.

    ``env_id`` is a task name or id as for :class:`MiniGridEnv`; episode ``j`` is the one that
    ``reset(seed=seeds[j])`` draws (copy ``i`` of ``MiniGridEnv.reset(seed)`` draws ``seed + i``). Valid
    for tasks without doors, keys or other objects (Empty, FourRooms, LavaGap, the Crossing tasks).
    """
    import gymnasium

    env = gymnasium.make(resolve_task(env_id), disable_env_checker=True, **env_kwargs)
    try:
        out = []
        for seed in seeds:
            env.reset(seed=int(seed))
            path = shortest_path(env)
            max_steps = env.unwrapped.max_steps  # type: ignore[attr-defined]  # a MiniGridEnv
            steps = max_steps + 1 if path is None else len(path)
            out.append(1.0 - 0.9 * steps / max_steps if steps <= max_steps else 0.0)
        return np.array(out, dtype=np.float64)
    finally:
        env.close()
