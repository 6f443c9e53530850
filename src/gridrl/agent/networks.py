"""Q-networks built from the YAML layer list (``model.layers``) plus a (dueling) Q head."""

from __future__ import annotations

import torch
from torch import nn

from gridrl.config import ConfigError, ModelConfig

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


def build_q_network(cfg: ModelConfig, obs_shape: tuple[int, int, int], n_actions: int) -> QNetwork:
    """Build the body layer by layer, checking shapes as it goes (a layer that shrinks the image below
    1x1 is a :class:`ConfigError` naming that layer)."""
    shape: tuple[int, ...] = tuple(obs_shape)
    body: list[nn.Module] = []
    for i, layer in enumerate(cfg.layers):
        key = f"model.layers[{i}] ({layer.type})"
        if layer.type in ("conv", "maxpool") and len(shape) != 3:
            raise ConfigError(f"{key} needs an image input but follows a flatten/linear layer")
        if layer.type == "conv":
            c, h, w = shape
            stride = layer.stride or 1
            h2 = (h + 2 * layer.padding - layer.kernel) // stride + 1
            w2 = (w + 2 * layer.padding - layer.kernel) // stride + 1
            if h2 < 1 or w2 < 1:
                raise ConfigError(
                    f"{key} shrinks a {h}x{w} image below 1x1 (kernel {layer.kernel}, "
                    f"stride {stride}, padding {layer.padding}); use a smaller kernel/stride"
                )
            body.append(nn.Conv2d(c, layer.channels, layer.kernel, stride, layer.padding))
            shape = (layer.channels, h2, w2)
        elif layer.type == "maxpool":
            c, h, w = shape
            stride = layer.stride or layer.kernel
            h2, w2 = (h - layer.kernel) // stride + 1, (w - layer.kernel) // stride + 1
            if h2 < 1 or w2 < 1:
                raise ConfigError(
                    f"{key} shrinks a {h}x{w} image below 1x1 (kernel {layer.kernel}); remove it or pool less"
                )
            body.append(nn.MaxPool2d(layer.kernel, stride))
            shape = (c, h2, w2)
        elif layer.type == "dropout":
            body.append(nn.Dropout(layer.p))
        elif layer.type == "flatten":
            body.append(nn.Flatten())
            shape = (int(torch.tensor(shape).prod()),)
        elif layer.type == "linear":
            if len(shape) != 1:
                body.append(nn.Flatten())
                shape = (int(torch.tensor(shape).prod()),)
            body.append(nn.Linear(shape[0], layer.features))
            shape = (layer.features,)
            if cfg.layer_norm:
                body.append(nn.LayerNorm(layer.features))
        elif layer.type == "layernorm":
            if len(shape) != 1:
                raise ConfigError(f"{key} needs a flat input; put it after flatten or linear")
            body.append(nn.LayerNorm(shape[0]))
        else:
            body.append(_ACTIVATIONS[layer.type]())
    if len(shape) != 1:
        body.append(nn.Flatten())
        shape = (int(torch.tensor(shape).prod()),)
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
        net = net.to(memory_format=torch.channels_last)
    return net


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
