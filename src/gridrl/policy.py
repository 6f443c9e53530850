"""A trained agent you can act with: load a run or checkpoint (data only) and get greedy actions.

```python
agent = gridrl.load("outputs/2026-12-03/10-00-00_default-pqn")   # a run dir, or a .pt file
actions = agent.act(obs)                                          # uint8 (N, C, H, W) or (C, H, W)
```
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from gridrl.checkpoint import CheckpointError, load_weights
from gridrl.config import Config, ConfigError, EnvConfig, GameConfig, to_config, typed_node

Policy = Callable[[np.ndarray], np.ndarray]  # uint8 observations (N, C, H, W) -> actions (N,)


@dataclass
class Agent:
    """A trained Q-network (in eval mode, on ``device``) and the config it was trained with."""

    net: Any  # gridrl.agent.networks.QNetwork
    config: Config  # the run's validated config
    config_node: DictConfig  # the same as OmegaConf (what eval.json records)
    run_dir: Path  # the run the weights belong to
    weights: Path  # the file they were read from
    env_step: int | None  # env steps of training behind them (None if unknown)
    device: Any  # torch.device
    precision: str = "fp32"  # fp32 | bf16: the forward passes as the run's trainer.precision ran them

    @property
    def env(self) -> GameConfig:
        """The game it was trained on."""
        env = self.config.env
        assert isinstance(env, GameConfig)
        return env

    def q_values(self, obs: np.ndarray) -> np.ndarray:
        """Q-values (N, n_actions) of uint8 observations (N, C, H, W), or (n_actions,) of one (C, H, W)."""
        import torch

        x = np.ascontiguousarray(obs)
        single = x.ndim == 3
        from gridrl.agent.common import precision_autocast

        with torch.no_grad(), precision_autocast(self.device, self.precision):
            q = self.net(torch.as_tensor(x[None] if single else x, device=self.device)).float().cpu().numpy()
        return q[0] if single else q

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Greedy actions (N,) int64 of uint8 observations (N, C, H, W); one int64 for one (C, H, W)."""
        return np.asarray(self.q_values(obs).argmax(-1), dtype=np.int64)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        return self.act(obs)

    def check_game(self, env: GameConfig, changes: list[str] | None = None) -> None:
        """Refuse a game whose observations or actions differ in shape or meaning from the trained one:
        another family, another observation shape or action count, and for the built-in game another
        view or action set, or another grid size (unless the view is ``fovea``, the same on every size)."""
        from gridrl.envs.factory import game_label, obs_spec

        trained = self.env
        (old_shape, old_n), (new_shape, new_n) = obs_spec(trained), obs_spec(env)
        keys: tuple[str, ...] = ()
        if isinstance(env, EnvConfig):  # the fovea view means the same on every grid size
            keys = (
                ("obs_mode", "fovea", "actions")
                if env.obs_mode == "fovea"
                else ("height", "width", "obs_mode", "actions")
            )
        differ = [k for k in keys if getattr(trained, k, None) != getattr(env, k)]
        if trained.family == env.family and old_shape == new_shape and old_n == new_n and not differ:
            return
        if not differ and trained.family == env.family:  # the settings that changed
            differ = [
                f.name for f in dataclasses.fields(env) if getattr(trained, f.name) != getattr(env, f.name)
            ]
        if differ:
            diff = ", ".join(f"{k} {getattr(trained, k)} -> {getattr(env, k)}" for k in differ)
        else:
            diff = f"{game_label(trained)} -> {game_label(env)}"
        keep = (
            "keep the grid size, obs_mode and actions (change n_enemies, n_food, motions, rewards, max_steps, "
            "slip, colours; with obs_mode=fovea the grid size too)"
            if isinstance(trained, EnvConfig)
            else f"keep the {trained.family} family, its observations and its action set"
        )
        old_in, new_in = "x".join(map(str, old_shape)), "x".join(map(str, new_shape))
        raise ConfigError(
            f"{' '.join(changes) if changes else 'this game'} changes what the network sees or does ({diff}): "
            f"it was trained on {old_in} observations and {old_n} actions, this game gives {new_in} "
            f"observations and {new_n} actions; {keep}"
        )


def load(target: str | Path, device: str = "cpu") -> Agent:
    """The agent of a run dir (its final weights, else its newest checkpoint), a checkpoint, ``best.pt``
    or a bare ``q_network.pt`` with a ``config.yaml`` beside it; loaded as data only."""
    from gridrl.agent.networks import build_q_network
    from gridrl.envs.factory import obs_spec
    from gridrl.trainer import configure_network, resolve_device

    found = load_weights(target)
    node = OmegaConf.create(found.config_yaml)
    assert isinstance(node, DictConfig)
    _drop_hydra_interpolations(node, found.run_dir.name)
    try:
        config = to_config(typed_node(node))
    except ConfigError as exc:
        raise CheckpointError(f"{found.path}: its saved config is invalid: {exc}") from None
    net = build_q_network(config.model, *obs_spec(config.env))
    try:
        net.load_state_dict(found.state)
    except (RuntimeError, KeyError, TypeError) as exc:
        raise CheckpointError(
            f"{found.path}: the weights do not fit the saved model config ({str(exc).splitlines()[0][:200]})"
        ) from None
    dev = resolve_device(device)
    net.to(dev).eval()
    # act as the run's evaluations did (same precision and convolutions), so scores reproduce on this machine
    precision = configure_network(net, config.trainer, dev)
    return Agent(net, config, node, found.run_dir, found.path, found.env_step, dev, precision)


def _drop_hydra_interpolations(node: DictConfig, fallback: str) -> None:
    """Replace values like ``${hydra:runtime.choices.env}`` (unresolvable outside Hydra) by ``fallback``."""
    for key in [str(k) for k in node]:
        if OmegaConf.is_interpolation(node, key):
            if "hydra:" in str(node._get_node(key)._value()):  # type: ignore[union-attr]
                node[key] = fallback
        elif isinstance(node.get(key), DictConfig):
            _drop_hydra_interpolations(node[key], fallback)
