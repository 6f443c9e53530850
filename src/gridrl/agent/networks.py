"""Q-networks built from the YAML layer list (``model.layers``) plus a (dueling) Q head.

Longer than the rest of ``agent/`` because it also holds the banded-convolution path
(``trainer.conv``): a convolution as one matmul on a banded weight matrix, which on AMX CPUs under
bfloat16 beats oneDNN's small-convolution calls; both paths build the same parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from gridrl.config import ConfigError, LayerConfig, ModelConfig

_ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "elu": nn.ELU, "gelu": nn.GELU}


class QNetwork(nn.Module):
    """uint8 image (N, C, H, W) -> Q-values (N, n_actions). Pixels are scaled by 1/255 inside.

    The body runs under whatever autocast is active (bfloat16 for ``trainer.precision=bf16``); the head
    always runs in float32, so Q-values keep float32 precision. ``use_banded(True)`` runs the body's
    convolutions as banded matrix products (:class:`BandedBody`) on CPU when the body is one it can
    run; the parameters, their names and the function computed are the same.
    """

    def __init__(self, body: nn.Sequential, head: nn.Module, channels_last: bool = False) -> None:
        super().__init__()
        self.body = body
        self.head = head
        self.channels_last = channels_last
        self.banded: BandedBody | None = None  # a plain object: not a submodule, no state_dict keys

    def use_banded(self, on: bool) -> bool:
        """Run the convolutions as banded matmuls (CPU inputs only); returns whether the body allows it."""
        self.banded = BandedBody.match(self.body) if on else None
        return self.banded is not None

    def weights_changed(self) -> None:
        """Drop weights prepared for passes without gradient (call after an optimizer step: fused Adam
        updates parameters without bumping their version counters, which the cache also checks)."""
        if self.banded is not None:
            self.banded.forget()

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        if self.banded is not None and obs.device.type == "cpu" and obs.dim() == 4:
            features = self.banded(obs)
        else:
            x = obs.float().mul_(1.0 / 255.0)
            if self.channels_last and x.dim() == 4:
                x = x.contiguous(memory_format=torch.channels_last)
            features = self.body(x)
        with torch.autocast(obs.device.type, enabled=False):
            return self.head(features.float())


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


# ------------------------------------------------------------------------ convolutions as banded matmuls
class _BandMatrix(torch.autograd.Function):
    """A convolution weight (O, C, kh, kw) written into the banded matrix ``T`` (out, in), a linear
    layer's weight that maps a band of ``kh`` input rows to one output row: ``T`` viewed with ``size``
    (C, kh, kw, Wo, O) and ``strides`` holds ``scale * weight[o, c, ky, kx]`` for every output column
    ``ox``; zeros elsewhere. Backward sums the gradient of those entries over ``ox``."""

    @staticmethod
    def forward(
        ctx: Any,
        weight: torch.Tensor,
        shape: tuple[int, int],
        size: tuple[int, ...],
        strides: tuple[int, ...],
        scale: float,
        dtype: torch.dtype,
    ) -> torch.Tensor:
        band = weight.new_zeros(shape, dtype=dtype)
        w = weight.permute(1, 2, 3, 0).unsqueeze(3)
        band.as_strided(size, strides).copy_((w * scale if scale != 1.0 else w).expand(size))
        ctx.band = (size, strides, scale)
        return band

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        size, strides, scale = ctx.band
        g = grad.contiguous().as_strided(size, strides).sum(3, dtype=torch.float32)
        if scale != 1.0:
            g = g.mul_(scale)
        return g.permute(3, 0, 1, 2), None, None, None, None, None


_ELEMENTWISE = (nn.ReLU, nn.Tanh, nn.ELU, nn.GELU)


@dataclass(frozen=True)
class _Plan:
    """Shapes of one input size: conv i maps ``rows[i]`` rows of ``k[i]`` values to ``rows[i]`` rows of
    ``cols[i]`` values; ``lhs`` is the strided view of the input that the first product reads."""

    lhs_size: tuple[int, ...]  # without the batch dim
    lhs_strides: tuple[int, ...]  # with the batch dim first
    rows: tuple[int, ...]  # output rows per sample of each conv (duplicated rows included)
    k: tuple[int, ...]
    bands: tuple[tuple[tuple[int, int], tuple[int, ...], tuple[int, ...]], ...]  # (shape, size, strides)
    out_hw: tuple[int, int]  # the last conv's output height and width


class _LinearReLU(torch.autograd.Function):
    """``relu(x @ w.T + b)`` in one oneDNN call (bias and ReLU fused into the matmul: one pass over the
    output instead of three); backward as autograd would do it."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        y = _linear_relu(x, w, b)
        ctx.save_for_backward(x, w, y)
        return y

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x, w, y = ctx.saved_tensors
        g = torch.ops.aten.threshold_backward(grad, y, 0)
        gx = g @ w if ctx.needs_input_grad[0] else None
        gw = g.t() @ x if ctx.needs_input_grad[1] else None
        gb = g.sum(0) if ctx.needs_input_grad[2] else None
        return gx, gw, gb


def _linear_relu(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    fused = (
        getattr(torch.ops.mkldnn, "_linear_pointwise", None) if torch.backends.mkldnn.is_available() else None
    )
    if fused is not None:
        return fused(x, w, b, "relu", [], "")
    return torch.addmm(b, x, w.t()).relu_()


def _dense(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, act: nn.Module | None) -> torch.Tensor:
    """``act(x @ w.T + b)``; ReLU fused."""
    if isinstance(act, nn.ReLU):
        if torch.is_grad_enabled() and (x.requires_grad or w.requires_grad or b.requires_grad):
            return _LinearReLU.apply(x, w, b)
        return _linear_relu(x, w, b)
    y = torch.addmm(b, x, w.t())
    return act(y) if act is not None else y


class BandedBody:
    """Bodies of one or two unpadded convolutions, each followed by an elementwise activation, then
    flatten and a linear layer (``ego_cnn``, ``small_cnn``), computed as one matmul per layer.

    A convolution is a product ``rows @ T``: each row of the left operand is the band of ``kh`` input
    rows that one output row reads (all channels, full width), ``T`` is the weight written into a banded
    matrix (:class:`_BandMatrix`) and the result is one output row (all columns, channels last). With two
    convolutions, the first computes each of its output rows once per use by the second (rows shared by
    two windows are computed twice, 33 % more work for 3x3 stride 2), so that its output *is* the second
    product's left operand: no im2col copy forward and no col2im scatter backward. The left operand of the
    first product is one strided copy of the input (runs of ``kh * W`` contiguous pixels). The linear
    layer reads the channels-last features with its weight columns permuted to match. Many multiply-adds
    are products with the band's zeros (about 3-5x a direct convolution), which AMX/bf16 matrix units do
    faster than oneDNN runs these small convolutions. The rest of the body runs as it is.
    """

    def __init__(
        self, convs: list[nn.Conv2d], acts: list[nn.Module], linear: nn.Linear, rest: list[nn.Module]
    ):
        self.convs, self.acts, self.linear, self.rest = convs, acts, linear, rest
        self.params = [p for m in (*convs, linear) for p in m.parameters()]
        self._plans: dict[tuple[int, ...], _Plan] = {}
        self._cache: tuple[tuple[Any, ...], list[torch.Tensor]] | None = None  # weights for no-grad passes

    @staticmethod
    def match(body: nn.Sequential) -> BandedBody | None:
        mods = list(body)
        convs: list[nn.Conv2d] = []
        acts: list[nn.Module] = []
        i = 0
        while i + 1 < len(mods) and _bandable(mods[i]) and isinstance(mods[i + 1], _ELEMENTWISE):
            convs.append(mods[i])  # type: ignore[arg-type]
            acts.append(mods[i + 1])
            i += 2
        rest = mods[i:]
        if not 1 <= len(convs) <= 2 or len(rest) < 2:
            return None
        if not isinstance(rest[0], nn.Flatten) or not isinstance(rest[1], nn.Linear):
            return None
        return BandedBody(convs, acts, rest[1], rest[2:])

    def forget(self) -> None:
        self._cache = None

    # ------------------------------------------------------------------------------------- shapes
    def plan(self, chw: tuple[int, int, int]) -> _Plan:
        if chw not in self._plans:
            self._plans[chw] = _make_plan(self.convs, chw)
        return self._plans[chw]

    def weights(self, plan: _Plan, dtype: torch.dtype) -> list[torch.Tensor]:
        """Band matrices, repeated biases and the permuted linear weight, in ``dtype``; cached between
        passes without gradient while the parameters are unchanged (acting between updates): the key
        holds their storage and version counters, and :meth:`forget` drops it after optimizer steps."""
        key = None
        if not torch.is_grad_enabled():
            key = (dtype, id(plan), *((p.data_ptr(), p._version) for p in self.params))
            if self._cache is not None and self._cache[0] == key:
                return self._cache[1]
        out: list[torch.Tensor] = []
        for i, (conv, (shape, size, strides)) in enumerate(zip(self.convs, plan.bands, strict=True)):
            scale = 1.0 / 255.0 if i == 0 else 1.0
            out.append(_BandMatrix.apply(conv.weight, shape, size, strides, scale, dtype))
            bias = conv.bias if conv.bias is not None else conv.weight.new_zeros(conv.out_channels)
            out.append(bias.to(dtype).repeat(shape[0] // conv.out_channels))
        lin = self.linear
        c, (h, w) = self.convs[-1].out_channels, plan.out_hw
        wl = lin.weight.view(lin.out_features, c, h, w).permute(0, 2, 3, 1)
        out.append(wl.new_empty(wl.shape, dtype=dtype).copy_(wl).view(lin.out_features, -1))  # one cast copy
        out.append(
            lin.bias.to(dtype) if lin.bias is not None else wl.new_zeros(lin.out_features, dtype=dtype)
        )
        if key is not None:
            self._cache = (key, out)
        return out

    # ------------------------------------------------------------------------------------ forward
    def __call__(self, obs: torch.Tensor) -> torch.Tensor:
        dtype = torch.get_autocast_dtype("cpu") if torch.is_autocast_enabled("cpu") else torch.float32
        n = obs.shape[0]
        plan = self.plan(tuple(obs.shape[1:]))  # type: ignore[arg-type]
        w = self.weights(plan, dtype)
        # the pixels in the compute dtype first (a contiguous cast), then one strided copy of the bands
        pixels = obs.to(dtype)
        bands = pixels.as_strided((n, *plan.lhs_size), (pixels.stride(0), *plan.lhs_strides))
        x = torch.empty(bands.shape, dtype=dtype).copy_(bands).view(n * plan.rows[0], plan.k[0])
        for i, act in enumerate(self.acts):
            x = _dense(x, w[2 * i], w[2 * i + 1], act)
            nxt = i + 1 < len(self.acts)
            x = x.view(n * plan.rows[i + 1], plan.k[i + 1]) if nxt else x.view(n, -1)
        rest = self.rest
        if rest and isinstance(rest[0], _ELEMENTWISE):  # the linear layer's activation, fused if ReLU
            x, rest = _dense(x, w[-2], w[-1], rest[0]), rest[1:]
        else:
            x = _dense(x, w[-2], w[-1], None)
        for m in rest:
            x = m(x)
        return x


def _bandable(m: nn.Module) -> bool:
    return (
        isinstance(m, nn.Conv2d)
        and m.padding == (0, 0)
        and m.dilation == (1, 1)
        and m.groups == 1
        and m.padding_mode == "zeros"
    )


def _make_plan(convs: list[nn.Conv2d], chw: tuple[int, int, int]) -> _Plan:
    """Row bookkeeping and band layouts for an input of ``chw`` (see :class:`BandedBody`)."""
    c, h, w = chw
    hw = [(h, w)]
    for conv in convs:
        (kh, kw), (sh, sw) = conv.kernel_size, conv.stride
        hw.append(((hw[-1][0] - kh) // sh + 1, (hw[-1][1] - kw) // sw + 1))
    (kh1, _), (sh1, _) = convs[0].kernel_size, convs[0].stride
    lhs_size: tuple[int, ...]
    lhs_strides: tuple[int, ...]
    rows: tuple[int, ...]
    if len(convs) == 2:
        (kh2, _), (sh2, _) = convs[1].kernel_size, convs[1].stride
        h_last = hw[2][0]
        # conv 1 computes, for each output row g of conv 2, its rows sh2*g + j (j < kh2)
        lhs_size = (h_last, kh2, c, kh1 * w)
        lhs_strides = (sh2 * sh1 * w, sh1 * w, h * w, 1)
        rows = (h_last * kh2, h_last)
    else:
        lhs_size = (hw[1][0], c, kh1 * w)
        lhs_strides = (sh1 * w, h * w, 1)
        rows = (hw[1][0],)
    bands = []
    ks = []
    for i, conv in enumerate(convs):
        o, ci, kh, kw = conv.weight.shape
        win, wo, sw = hw[i][1], hw[i + 1][1], conv.stride[1]
        cols = wo * o
        # row index of input value (channel, ky, column) in the left operand
        rc, rky, rw = (kh * win, win, 1) if i == 0 else (1, win * ci, ci)
        k = ci * kh * win
        # entry (col, row) of the (out, in) band sits at col * k + row, col = ox * o + out channel
        size = (ci, kh, kw, wo, o)
        strides = (rc, rky, rw, sw * rw + o * k, k)
        bands.append(((cols, k), size, strides))
        ks.append(k)
    return _Plan(lhs_size, lhs_strides, rows, tuple(ks), tuple(bands), hw[-1])
