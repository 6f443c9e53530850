"""Stable-Baselines3 on gridrl's games: a features extractor sized for their small images.

SB3's ``CnnPolicy`` defaults to the Atari network (NatureCNN, an 8x8 kernel with stride 4 first), which
refuses the grid games' images (11x11 for the default game's fovea view, 19x19 for its ego view: "Kernel size can't be greater
than actual input size" further down). :func:`sb3_policy_kwargs` swaps in :class:`GridCNN`, gridrl's
``ego_cnn`` (conv 16 3x3 stride 2, conv 32 3x3 stride 2, linear 256, ReLU after each), with a linear Q
head (or policy / value heads) on top::

    import gymnasium as gym
    from stable_baselines3 import DQN

    import gridrl
    from gridrl.sb3 import sb3_policy_kwargs

    env = gym.make("gridrl/Grid-v0")
    model = DQN("CnnPolicy", env, policy_kwargs=sb3_policy_kwargs(env), buffer_size=100_000)
    model.learn(100_000)

Images of at least 7x7 get exactly gridrl's ``ego_cnn`` body (the same layers and parameter count as a
``gridrl train model=ego_cnn`` network); smaller ones (a 3x3 grid's 5x5 ego view) get one pixel of zero
padding on both convolutions, so every size from 1x1 up works. Pixels are scaled to [0, 1] by SB3
(``normalize_images``), as gridrl's own networks do.

Stable-Baselines3 is optional: ``pip install "gridrl[sb3]"``.
"""

from __future__ import annotations

from typing import Any

import gymnasium
import numpy as np
import torch
from torch import nn

from gridrl.agent.networks import build_q_network
from gridrl.config import LayerConfig, ModelConfig

try:
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
except ImportError as exc:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        'gridrl.sb3 needs Stable-Baselines3, which is not installed: pip install "gridrl[sb3]"'
    ) from exc

__all__ = ["MIN_UNPADDED", "GridCNN", "ego_cnn_config", "sb3_policy_kwargs"]

MIN_UNPADDED = 7  # the smallest image side ego_cnn's two unpadded stride-2 3x3 convolutions accept


def ego_cnn_config(obs_shape: tuple[int, ...], features_dim: int = 256) -> ModelConfig:
    """gridrl's ``ego_cnn`` body for images of ``obs_shape`` ``(C, H, W)``: conv 16 3x3 s2, ReLU, conv 32
    3x3 s2, ReLU, flatten, linear ``features_dim``, ReLU; both convolutions padded by one pixel when
    ``min(H, W) < 7`` (where the unpadded ones would shrink the image below 1x1)."""
    pad = 0 if min(int(obs_shape[-2]), int(obs_shape[-1])) >= MIN_UNPADDED else 1
    layers = [
        LayerConfig(type="conv", channels=16, kernel=3, stride=2, padding=pad),
        LayerConfig(type="relu"),
        LayerConfig(type="conv", channels=32, kernel=3, stride=2, padding=pad),
        LayerConfig(type="relu"),
        LayerConfig(type="flatten"),
        LayerConfig(type="linear", features=features_dim),
        LayerConfig(type="relu"),
    ]
    return ModelConfig(name="ego_cnn", layers=layers)


class GridCNN(BaseFeaturesExtractor):
    """SB3 features extractor: the body of a gridrl Q-network (no Q head: SB3 adds its own).

    Args:
        observation_space: a uint8 ``(C, H, W)`` image space (a gridrl game's, channels first).
        model: the body's layers as a gridrl :class:`ModelConfig` (a ``conf/model`` preset); ``None``
            means :func:`ego_cnn_config` for this image size.
        features_dim: the last linear layer's width when ``model`` is ``None``.

    The body is built by gridrl's own :func:`~gridrl.agent.networks.build_q_network`, so a model that
    shrinks the image below 1x1 is a :class:`~gridrl.config.ConfigError` naming the layer. ``forward``
    takes float images (SB3 has already divided uint8 pixels by 255).
    """

    def __init__(
        self,
        observation_space: gymnasium.spaces.Box,
        model: ModelConfig | None = None,
        features_dim: int = 256,
    ) -> None:
        if len(observation_space.shape) != 3:
            raise ValueError(f"GridCNN needs a (C, H, W) image space, got shape {observation_space.shape}")
        c, h, w = (int(s) for s in observation_space.shape)
        shape = (c, h, w)
        cfg = model if model is not None else ego_cnn_config(shape, features_dim)
        body = build_q_network(cfg, shape, 1).body  # n_actions = 1: the head is not used
        with torch.no_grad():
            out = int(body(torch.zeros(1, *shape)).shape[1])
        super().__init__(observation_space, out)
        self.body: nn.Sequential = body

    def forward(self, observations: torch.Tensor) -> torch.Tensor:
        """Features ``(N, features_dim)`` of a batch of images ``(N, C, H, W)``."""
        return self.body(observations)


def sb3_policy_kwargs(env: Any, model: ModelConfig | None = None, features_dim: int = 256) -> dict[str, Any]:
    """``policy_kwargs`` for an SB3 ``CnnPolicy`` (DQN, PPO, A2C ...) on a gridrl game.

    ``env`` is a gymnasium env (wrapped or not), an SB3 VecEnv or an observation space; its observations
    must be a gridrl game's uint8 ``(C, H, W)`` images. ``model`` / ``features_dim`` go to
    :class:`GridCNN`. ``net_arch=[]`` puts SB3's heads directly on the extractor's features, as gridrl's
    Q-network does (SB3 would otherwise add two hidden layers of 64 for a custom extractor).

    Raises ``ValueError`` (one line) for any other observation space (e.g. after a wrapper that
    flattened the images), and for an image with a side shorter than its channel count, which SB3
    would take for a channels-last image and transpose.
    """
    space = env if isinstance(env, gymnasium.spaces.Space) else getattr(env, "observation_space", None)
    if not (isinstance(space, gymnasium.spaces.Box) and len(space.shape) == 3 and space.dtype == np.uint8):
        raise ValueError(
            f"sb3_policy_kwargs needs a gridrl game's uint8 (C, H, W) image observations, got {space}"
        )
    if int(np.argmin(space.shape)) != 0:
        raise ValueError(
            f"SB3 would read a {space.shape} image as channels-last (a side shorter than its "
            f"{space.shape[0]} channels); use a grid of at least {space.shape[0]} cells per side or obs_mode=ego"
        )
    return {
        "features_extractor_class": GridCNN,
        "features_extractor_kwargs": {"model": model, "features_dim": features_dim},
        "net_arch": [],
        "normalize_images": True,
    }
