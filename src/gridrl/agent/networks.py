"""Q-networks built from the YAML layer list (``model.layers``) plus a (dueling) Q head."""

from __future__ import annotations

import torch
from torch import nn

from gridrl.config import ConfigError, LayerConfig, ModelConfig

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "gelu": nn.GELU}


class QNetwork(nn.Module):
    """uint8 image (N, C, H, W) -> Q-values (N, n_actions). Pixels are scaled by 1/255 inside."""

    def __init__(self, body: nn.Sequential, head: nn.Module, channels_last: bool = False) -> None:
        super().__init__()
        self.body = body
        self.head = head
        self.channels_last = channels_last

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs.float().mul_(1.0 / 255.0)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.head(self.body(x))


class DuelingHead(nn.Module):
    def __init__(self, value: nn.Module, advantage: nn.Module) -> None:
        super().__init__()
        self.value = value
        self.advantage = advantage

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.advantage(x)
        return self.value(x) + a - a.mean(dim=1, keepdim=True)


def _stream(features: int, hidden: int, out: int, layer_norm: bool) -> nn.Module:
    if hidden <= 0:
        return nn.Linear(features, out)
    layers: list[nn.Module] = [nn.Linear(features, hidden)]
    if layer_norm:
        layers.append(nn.LayerNorm(hidden))
    layers += [nn.ReLU(), nn.Linear(hidden, out)]
    return nn.Sequential(*layers)


def _image_layer(layer: LayerConfig, shape: tuple[int, ...], key: str) -> tuple[nn.Module, tuple[int, ...]]:
    """A conv or maxpool layer on a (C, H, W) input and its output shape; refuses one that shrinks the
    image below 1x1."""
    if len(shape) != 3:
        raise ConfigError(f"{key} needs an image input but follows a flatten/linear layer")
    c, h, w = shape
    conv = layer.type == "conv"
    stride = layer.stride or (1 if conv else layer.kernel)
    pad = layer.padding if conv else 0
    h2, w2 = (h + 2 * pad - layer.kernel) // stride + 1, (w + 2 * pad - layer.kernel) // stride + 1
    if h2 < 1 or w2 < 1:
        fix = "use a smaller kernel/stride" if conv else "remove it or pool less"
        detail = (
            f"kernel {layer.kernel}, stride {stride}, padding {pad}" if conv else f"kernel {layer.kernel}"
        )
        raise ConfigError(f"{key} shrinks a {h}x{w} image below 1x1 ({detail}); {fix}")
    if conv:
        return nn.Conv2d(c, layer.channels, layer.kernel, stride, pad), (layer.channels, h2, w2)
    return nn.MaxPool2d(layer.kernel, stride), (c, h2, w2)


def _flat(shape: tuple[int, ...]) -> tuple[int, ...]:
    return (int(torch.tensor(shape).prod()),)


def _layer(
    layer: LayerConfig, shape: tuple[int, ...], key: str, layer_norm: bool
) -> tuple[list[nn.Module], tuple[int, ...]]:
    """The modules of one ``model.layers`` entry and the shape after them."""
    if layer.type in ("conv", "maxpool"):
        module, out = _image_layer(layer, shape, key)
        return [module], out
    if layer.type == "dropout":
        return [nn.Dropout(layer.p)], shape
    if layer.type == "flatten":
        return [nn.Flatten()], _flat(shape)
    if layer.type == "linear":
        pre: list[nn.Module] = [] if len(shape) == 1 else [nn.Flatten()]
        norm: list[nn.Module] = [nn.LayerNorm(layer.features)] if layer_norm else []
        return [*pre, nn.Linear(_flat(shape)[0], layer.features), *norm], (layer.features,)
    if layer.type == "layernorm":
        if len(shape) != 1:
            raise ConfigError(f"{key} needs a flat input; put it after flatten or linear")
        return [nn.LayerNorm(shape[0])], shape
    return [_ACTIVATIONS[layer.type]()], shape


def build_q_network(cfg: ModelConfig, obs_shape: tuple[int, int, int], n_actions: int) -> QNetwork:
    """Build the body layer by layer, checking shapes as it goes (a layer that shrinks the image below
    1x1 is a :class:`ConfigError` naming that layer)."""
    shape: tuple[int, ...] = tuple(obs_shape)
    body: list[nn.Module] = []
    for i, layer in enumerate(cfg.layers):
        modules, shape = _layer(layer, shape, f"model.layers[{i}] ({layer.type})", cfg.layer_norm)
        body += modules
    if len(shape) != 1:
        body.append(nn.Flatten())
        shape = _flat(shape)
    features = shape[0]
    head: nn.Module
    if cfg.dueling:
        head = DuelingHead(
            _stream(features, cfg.head_hidden, 1, cfg.layer_norm),
            _stream(features, cfg.head_hidden, n_actions, cfg.layer_norm),
        )
    else:
        head = _stream(features, cfg.head_hidden, n_actions, cfg.layer_norm)
    net = QNetwork(nn.Sequential(*body), head, cfg.channels_last)
    if cfg.channels_last:
        net = net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # Module.to accepts it
    return net


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
