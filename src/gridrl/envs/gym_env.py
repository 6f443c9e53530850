"""Any gymnasium env with a discrete action space and an image / grid observation, batched.

``GymEnv(id, n)`` makes ``n`` copies with ``gymnasium.make(id, **env_kwargs)`` and steps them in a loop
(measured faster than ``gymnasium.vector.SyncVectorEnv``, whose per-step info merging costs more than
it saves). Observations become uint8 ``(C, H, W)``:

* a ``Box`` ``(H, W, C)`` image -> ``(C, H, W)`` (``channels_first=True``: the Box already is
  ``(C, H, W)``);
* a ``Box`` ``(H, W)`` grid -> ``(1, H, W)``;
* a ``Dict`` with an ``image`` key -> that key, as above (the other keys are dropped);

with values kept as they are for uint8 (and integer Boxes within 0..255), and 0/1 Boxes (bool, or any
dtype bounded by [0, 1]) scaled to 0/255. Anything else raises :class:`gridrl.config.ConfigError` naming
the id and its observation space. Truncation comes from the env itself (its registered
``max_episode_steps`` / own limit, or ``max_steps`` here, which wraps it in a ``TimeLimit``).

``render()`` stacks the copies' ``render()`` (made with ``render_mode="rgb_array"``); an env that
returns nothing is drawn from its observations instead (RGB as is, planes coloured).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

from gridrl.config import ConfigError
from gridrl.envs.base import LoopEnv, colorize

# modules that register gymnasium ids on import, by id prefix
_REGISTERING_MODULES = {"MiniGrid-": "minigrid", "BabyAI-": "minigrid"}


def ensure_registered(env_id: str, key: str = "env.id") -> str:
    """The plain id of ``env_id`` (``module:Id`` imports ``module`` first) once gymnasium knows it.

    Raises :class:`ConfigError` (one line, with the closest registered ids) when it is unknown.
    """
    import gymnasium

    module, _, name = env_id.rpartition(":")
    try:
        if module:
            importlib.import_module(module)
        for prefix, mod in _REGISTERING_MODULES.items():
            if name.startswith(prefix):
                importlib.import_module(mod)
    except ImportError as e:
        raise ConfigError(f"{key}={env_id!r}: cannot import the module that registers it ({e})") from None
    if name not in gymnasium.registry:
        close = difflib.get_close_matches(name, list(gymnasium.registry), n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise ConfigError(
            f"{key}={env_id!r} is not a registered gymnasium id{hint} (use 'module:Id' to import the module "
            "that registers it)"
        )
    return name


def image_converter(
    space: Any, env_id: str, channels_first: bool = False
) -> tuple[Callable[[Any], np.ndarray], tuple[int, ...], Any, tuple[int, int, int], Callable[..., None]]:
    """How to turn observations of ``space`` into uint8 ``(C, H, W)``.

    Returns ``(extract, raw_shape, raw_dtype, obs_shape, encode)``: ``extract(obs)`` picks the array of
    one observation (the ``image`` key of a dict), ``encode(raw, out)`` converts a stack of them.
    """
    from gymnasium import spaces

    key = None
    box = space
    if isinstance(space, spaces.Dict) and "image" in space.spaces:
        key, box = "image", space.spaces["image"]
    bad = ConfigError(
        f"env.id={env_id!r}: observation space {space} is not supported; expected a Box image (H, W, C), "
        "a Box grid (H, W) or a Dict with an 'image' Box"
    )
    if not isinstance(box, spaces.Box) or len(box.shape) not in (2, 3):
        raise bad
    dtype = np.dtype(box.dtype)
    low, high = np.min(box.low), np.max(box.high)
    if dtype == np.uint8:
        scale = 1
    elif dtype == np.bool_ or (low >= 0 and high <= 1):
        scale = 255
    elif np.issubdtype(dtype, np.integer) and low >= 0 and high <= 255:
        scale = 1
    else:
        raise bad
    shape = box.shape
    if len(shape) == 2:
        obs_shape = (1, shape[0], shape[1])
        order = None
    elif channels_first:
        obs_shape = (shape[0], shape[1], shape[2])
        order = None
    else:
        obs_shape = (shape[2], shape[0], shape[1])
        order = (0, 3, 1, 2)

    def extract(obs: Any) -> np.ndarray:
        return obs[key] if key is not None else obs

    def encode(raw: np.ndarray, out: np.ndarray) -> None:
        x = raw.reshape(len(raw), *obs_shape) if order is None else raw.transpose(order)
        if scale == 1:
            out[...] = x
        else:
            np.multiply(x, 255, out=out, casting="unsafe")

    return extract, tuple(shape), dtype, obs_shape, encode


class GymEnv(LoopEnv):
    """``n`` copies of the gymnasium env ``env_id`` (see the module docstring for the conversions).

    Args:
        env_id: a registered id, or ``module:Id`` to import the registering module first.
        n: number of copies.
        max_steps: a ``TimeLimit`` (truncation) in steps; ``None`` keeps the id's registered limit.
        env_kwargs: keyword arguments for ``gymnasium.make`` (the env's constructor).
        channels_first: the observation Box is already ``(C, H, W)``.
        render_mode: passed to ``gymnasium.make`` (``rgb_array`` for :meth:`render`; ``None`` to skip).
    """

    def __init__(
        self,
        env_id: str,
        n: int = 1,
        max_steps: int | None = None,
        env_kwargs: dict[str, Any] | None = None,
        channels_first: bool = False,
        render_mode: str | None = "rgb_array",
    ) -> None:
        import gymnasium
        from gymnasium import spaces

        self.env_id = ensure_registered(env_id)
        self._render_mode = render_mode
        kwargs = dict(env_kwargs or {})
        if max_steps is not None:
            kwargs["max_episode_steps"] = max_steps
        if render_mode is not None:
            kwargs["render_mode"] = render_mode
        try:
            self.envs = [gymnasium.make(self.env_id, disable_env_checker=True, **kwargs) for _ in range(n)]
        except TypeError as e:
            raise ConfigError(f"env.id={env_id!r}: bad env_kwargs {sorted(env_kwargs or {})}: {e}") from None
        first = self.envs[0]
        if not isinstance(first.action_space, spaces.Discrete):
            raise ConfigError(
                f"env.id={env_id!r}: action space {first.action_space} is not supported; expected Discrete"
            )
        self._action_start = int(first.action_space.start)
        self._extract, raw_shape, raw_dtype, obs_shape, self._encode_fn = self._converter(
            first.observation_space, channels_first
        )
        super().__init__(n, obs_shape, int(first.action_space.n), raw_shape, raw_dtype, None)

    def _converter(
        self, space: Any, channels_first: bool
    ) -> tuple[Callable[[Any], np.ndarray], tuple[int, ...], Any, tuple[int, int, int], Callable[..., None]]:
        return image_converter(space, self.env_id, channels_first)

    def _reset_one(self, i: int, seed: int | None) -> np.ndarray:
        obs, _ = self.envs[i].reset(seed=seed)
        return self._extract(obs)

    def _step_one(self, i: int, action: int) -> tuple[np.ndarray, float, bool, bool]:
        obs, reward, terminated, truncated, _ = self.envs[i].step(action + self._action_start)
        return self._extract(obs), float(reward), bool(terminated), bool(truncated)

    def _encode(self, raw: np.ndarray, out: np.ndarray) -> None:
        self._encode_fn(raw, out)

    def render(self, copies: np.ndarray | None = None) -> np.ndarray:
        """RGB ``(k, h, w, 3)`` of ``copies`` (default: all): their own ``render()``, else pictures of
        their observations."""
        idx = range(self.n) if copies is None else np.asarray(copies).tolist()
        if self._render_mode == "rgb_array":
            try:
                frames = [self.envs[i].render() for i in idx]
            except NotImplementedError:
                frames = []
            if frames and all(isinstance(f, np.ndarray) and f.ndim == 3 for f in frames):
                return np.stack(frames).astype(np.uint8, copy=False)  # type: ignore[arg-type]  # checked above
        obs = self._observations(copies)
        if self.obs_shape[0] == 3:
            return obs.transpose(0, 2, 3, 1).copy()
        return colorize(obs)
