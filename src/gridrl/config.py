"""Typed configuration schema: one dataclass per Hydra config group.

Every knob of gridrl lives here with its type, default and a one-line comment; the YAML files under
``conf/`` only hold named presets (deltas against these defaults).  Cross-field checks run in
``__post_init__`` (called by ``OmegaConf.to_object``) and raise :class:`ConfigError` with one line that
names the key and the allowed values.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

CONF_DIR = Path(__file__).resolve().parent / "conf"  # the YAML presets, shipped inside the package


class ConfigError(ValueError):
    """A user mistake in the configuration (printed as one line by the CLI, exit code 2)."""


def check_choice(key: str, value: Any, allowed: Iterable[Any]) -> None:
    allowed = list(allowed)
    if value not in allowed:
        raise ConfigError(f"{key}={value!r} is not allowed; choose one of {', '.join(map(str, allowed))}")


def check_range(
    key: str,
    value: float,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
) -> None:
    bad = (lo is not None and (value <= lo if lo_open else value < lo)) or (
        hi is not None and (value >= hi if hi_open else value > hi)
    )
    if bad:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        lo_s = "-inf" if lo is None else f"{lo:g}"
        hi_s = "inf" if hi is None else f"{hi:g}"
        raise ConfigError(f"{key}={value!r} is out of range; allowed {left}{lo_s}, {hi_s}{right}")


# ----------------------------------------------------------------------------------------------- env
ACTION_SETS = ("seed8", "sentdex9")
MOTIONS = ("static", "random", "chase")
ON_FOOD = ("end", "remove", "respawn")
OBS_MODES = ("rgb", "planes", "ego")


@dataclass
class EnvConfig:
    """The grid game (see docs in ``gridrl.game.grid``)."""

    height: int = 10  # grid rows (>= 2)
    width: int = 10  # grid columns (>= 2)
    n_food: int = 1  # food items per game (>= 1)
    n_enemies: int = 1  # enemies per game (>= 0)
    food_motion: str = "static"  # how food moves each step: static | random (random walk)
    enemy_motion: str = "static"  # how enemies move: static | random (random walk) | chase (toward player)
    chase_prob: float = 0.5  # with enemy_motion=chase: chance a step chases, else a random-walk step
    actions: str = "sentdex9"  # seed8 (spraphul's 8 moves) | sentdex9 (sentdex's 8 moves + stay)
    on_food: str = "end"  # eating food: end the episode | remove it (end when none left) | respawn it
    move_reward: float = -1.0  # reward of a step that hits neither food nor enemy
    food_reward: float = 25.0  # reward for stepping onto food
    enemy_reward: float = -300.0  # reward for touching an enemy (episode ends; checked before food)
    max_steps: int = 200  # steps before the episode is truncated (timeout, bootstraps)
    slip: float = 0.0  # probability that the player's action is replaced by a random one
    obs_mode: str = "ego"  # rgb (seed image) | planes (one-hot) | ego (planes centred on the player)
    player_color: list[int] = field(default_factory=lambda: [255, 175, 0])  # rgb mode: player colour
    food_color: list[int] = field(default_factory=lambda: [0, 255, 0])  # rgb mode: food colour
    enemy_color: list[int] = field(default_factory=lambda: [0, 0, 255])  # rgb mode: enemy colour

    def __post_init__(self) -> None:
        if self.height < 2 or self.width < 2:
            key = "env.height" if self.height < 2 else "env.width"
            raise ConfigError(f"{key} must be >= 2 (got {min(self.height, self.width)})")
        check_range("env.n_food", self.n_food, 1)
        check_range("env.n_enemies", self.n_enemies, 0)
        cells = self.height * self.width
        if 1 + self.n_food + self.n_enemies > cells:
            raise ConfigError(
                f"env.n_food + env.n_enemies + 1 player = {1 + self.n_food + self.n_enemies} entities "
                f"do not fit in a {self.height}x{self.width} grid ({cells} cells)"
            )
        check_choice("env.food_motion", self.food_motion, ("static", "random"))
        check_choice("env.enemy_motion", self.enemy_motion, MOTIONS)
        check_range("env.chase_prob", self.chase_prob, 0.0, 1.0)
        check_choice("env.actions", self.actions, ACTION_SETS)
        check_choice("env.on_food", self.on_food, ON_FOOD)
        check_range("env.max_steps", self.max_steps, 1)
        check_range("env.slip", self.slip, 0.0, 1.0)
        check_choice("env.obs_mode", self.obs_mode, OBS_MODES)
        for key in ("player_color", "food_color", "enemy_color"):
            col = list(getattr(self, key))
            if len(col) != 3 or any(not 0 <= int(c) <= 255 for c in col):
                raise ConfigError(f"env.{key}={col} must be three integers in [0, 255]")

    @property
    def is_static(self) -> bool:
        """True when nothing but the player moves and moves are deterministic."""
        return self.food_motion == "static" and self.enemy_motion == "static" and self.slip == 0.0


# --------------------------------------------------------------------------------------------- model
LAYER_TYPES = ("conv", "maxpool", "dropout", "flatten", "linear", "relu", "tanh", "elu", "gelu", "layernorm")


@dataclass
class LayerConfig:
    """One layer of the Q-network body, in order; the Q head is appended automatically."""

    type: str = MISSING  # conv | maxpool | dropout | flatten | linear | relu | tanh | elu | gelu | layernorm
    channels: int = 0  # conv: output channels
    kernel: int = 3  # conv / maxpool: kernel size
    stride: int = 0  # conv / maxpool: stride; 0 = the usual default (conv 1, maxpool = kernel)
    padding: int = 0  # conv: zero padding on each side
    features: int = 0  # linear: output features
    p: float = 0.2  # dropout: drop probability


# the fields that shape each layer type (the schema's other fields are unused by that type)
LAYER_FIELDS = {"conv": ("channels", "kernel", "stride", "padding"), "maxpool": ("kernel", "stride"),
                "linear": ("features",), "dropout": ("p",)}  # fmt: skip


def canonical_layer(layer: Any) -> Any:
    """A ``model.layers`` entry reduced to what builds the layer, with stride 0 spelled out (conv 1,
    maxpool = kernel): equal networks compare equal whatever schema version wrote the config."""
    if not isinstance(layer, dict) or "type" not in layer:
        return layer
    out = {"type": layer["type"], **{k: layer[k] for k in LAYER_FIELDS.get(layer["type"], ()) if k in layer}}
    if out.get("stride") == 0:
        out["stride"] = 1 if layer["type"] == "conv" else out.get("kernel", 0)
    return out


@dataclass
class ModelConfig:
    """Q-network architecture built from a list of layers."""

    name: str = "custom"  # preset name (for logs only)
    layers: list[LayerConfig] = field(default_factory=list)  # the body, from the input image to features
    dueling: bool = False  # dueling head: Q = V + A - mean(A)
    head_hidden: int = 0  # hidden units of the head's (each stream's) extra layer; 0 = a single linear
    layer_norm: bool = False  # add LayerNorm after every hidden linear layer (and head hidden layer)
    channels_last: bool = False  # run convolutions in channels_last memory format

    def __post_init__(self) -> None:
        if not self.layers:
            raise ConfigError("model.layers is empty; give at least one layer (e.g. flatten)")
        for i, layer in enumerate(self.layers):
            key = f"model.layers[{i}]"
            check_choice(f"{key}.type", layer.type, LAYER_TYPES)
            if layer.type == "conv":
                check_range(f"{key}.channels", layer.channels, 1)
                check_range(f"{key}.kernel", layer.kernel, 1)
                check_range(f"{key}.stride", layer.stride, 0)
                check_range(f"{key}.padding", layer.padding, 0)
            elif layer.type == "maxpool":
                check_range(f"{key}.kernel", layer.kernel, 1)
                check_range(f"{key}.stride", layer.stride, 0)
            elif layer.type == "linear":
                check_range(f"{key}.features", layer.features, 1)
            elif layer.type == "dropout":
                check_range(f"{key}.p", layer.p, 0.0, 1.0, hi_open=True)
        check_range("model.head_hidden", self.head_hidden, 0)


# --------------------------------------------------------------------------------------------- agent
@dataclass
class RewardConfig:
    """Transform of the game's reward before learning (logs and eval keep the game's own units)."""

    scale: float = 1.0  # multiply the reward by this first
    clip: bool = False  # then clip to [clip_low, clip_high]
    clip_low: float = -1.0  # lower clip bound
    clip_high: float = 1.0  # upper clip bound
    symlog: bool = False  # finally apply sign(r) * log(1 + |r|)

    def check(self, prefix: str) -> None:
        if self.clip and self.clip_low >= self.clip_high:
            raise ConfigError(
                f"{prefix}.clip_low ({self.clip_low}) must be < {prefix}.clip_high ({self.clip_high})"
            )


@dataclass
class EpsilonConfig:
    """Exploration schedule, by env steps (all games together)."""

    schedule: str = "linear"  # linear | exponential
    start: float = 1.0  # epsilon at step 0
    end: float = 0.05  # final epsilon
    decay_steps: int = 1_000_000  # linear: steps from start to end; exponential: steps per factor e
    eval: float = 0.0  # epsilon used by evaluation rollouts

    def check(self, prefix: str) -> None:
        check_choice(f"{prefix}.schedule", self.schedule, ("linear", "exponential"))
        for key in ("start", "end", "eval"):
            check_range(f"{prefix}.{key}", getattr(self, key), 0.0, 1.0)
        check_range(f"{prefix}.decay_steps", self.decay_steps, 1)


@dataclass
class AgentConfig:
    """Knobs shared by every learner."""

    name: str = MISSING  # dqn | pqn
    n_envs: int = 128  # games stepped in parallel (one batched forward pass per step)
    gamma: float = 0.95  # discount factor
    lr: float = 3e-4  # Adam learning rate
    lr_anneal: bool = True  # anneal the learning rate linearly to 0 over trainer.total_steps
    adam_eps: float = 1e-5  # Adam epsilon
    max_grad_norm: float = 10.0  # clip the gradient's global norm (0 = off)
    loss: str = "mse"  # mse | huber
    batch_size: int = 512  # minibatch size of one gradient step
    reward: RewardConfig = field(default_factory=RewardConfig)  # reward transform for learning
    epsilon: EpsilonConfig = field(default_factory=EpsilonConfig)  # exploration schedule

    def __post_init__(self) -> None:
        check_choice("agent.name", self.name, ("dqn", "pqn"))
        check_range("agent.n_envs", self.n_envs, 1)
        check_range("agent.gamma", self.gamma, 0.0, 1.0)
        check_range("agent.lr", self.lr, 0.0, lo_open=True)
        check_range("agent.adam_eps", self.adam_eps, 0.0, lo_open=True)
        check_range("agent.max_grad_norm", self.max_grad_norm, 0.0)
        check_choice("agent.loss", self.loss, ("mse", "huber"))
        check_range("agent.batch_size", self.batch_size, 1)
        self.reward.check("agent.reward")
        self.epsilon.check("agent.epsilon")


@dataclass
class DQNConfig(AgentConfig):
    """Replay-based DQN (double, dueling via the model, n-step, prioritized replay, target network)."""

    name: str = "dqn"  # learner
    n_envs: int = 16  # games stepped in parallel
    gamma: float = 0.99  # discount factor
    lr: float = 1e-3  # Adam learning rate
    lr_anneal: bool = False  # anneal the learning rate linearly to 0
    loss: str = "huber"  # mse | huber
    batch_size: int = 64  # minibatch size
    buffer_size: int = 100_000  # replay capacity in transitions (all games together)
    learning_starts: int = 5_000  # env steps collected before the first update
    replay_ratio: float = 0.25  # gradient updates per env step (0.25 = one update per 4 steps)
    n_step: int = 3  # n-step returns (1 = classic)
    double: bool = True  # double DQN: online argmax, target evaluation
    target_update: int = 1_000  # hard target copy every this many updates (used when tau = 1)
    tau: float = 1.0  # soft target update rate per update (1.0 = hard copies every target_update)
    prioritized: bool = False  # proportional prioritized replay
    per_alpha: float = 0.6  # priority exponent
    per_beta: float = 0.4  # importance-sampling exponent at start (annealed to 1)
    per_eps: float = 1e-6  # added to |TD error| for priorities

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("agent.buffer_size", self.buffer_size, 1)
        check_range("agent.learning_starts", self.learning_starts, 0)
        check_range("agent.replay_ratio", self.replay_ratio, 0.0, lo_open=True)
        check_range("agent.n_step", self.n_step, 1)
        check_range("agent.target_update", self.target_update, 1)
        check_range("agent.tau", self.tau, 0.0, 1.0, lo_open=True)
        check_range("agent.per_alpha", self.per_alpha, 0.0)
        check_range("agent.per_beta", self.per_beta, 0.0, 1.0)
        check_range("agent.per_eps", self.per_eps, 0.0, lo_open=True)
        if self.batch_size > self.buffer_size:
            raise ConfigError(
                f"agent.batch_size ({self.batch_size}) must be <= agent.buffer_size ({self.buffer_size})"
            )
        if self.buffer_size < self.n_envs * (self.n_step + 2):
            raise ConfigError(
                f"agent.buffer_size ({self.buffer_size}) must hold at least agent.n_envs * (agent.n_step + 2)"
                f" = {self.n_envs * (self.n_step + 2)} transitions"
            )


@dataclass
class PQNConfig(AgentConfig):
    """Parallel Q-learning without replay: rollouts of many games, Q(lambda) targets, no target network."""

    name: str = "pqn"  # learner
    rollout_steps: int = 16  # steps per game per rollout (a rollout is n_envs * rollout_steps transitions)
    epochs: int = 1  # passes over each rollout
    minibatches: int = 4  # minibatches per epoch (rollout is split evenly)
    q_lambda: float = 0.65  # lambda of the Q(lambda) targets (0 = 1-step, 1 = Monte Carlo)

    def __post_init__(self) -> None:
        super().__post_init__()
        check_range("agent.rollout_steps", self.rollout_steps, 1)
        check_range("agent.epochs", self.epochs, 1)
        check_range("agent.minibatches", self.minibatches, 1)
        check_range("agent.q_lambda", self.q_lambda, 0.0, 1.0)
        if self.minibatches > self.n_envs * self.rollout_steps:
            raise ConfigError(
                f"agent.minibatches ({self.minibatches}) must be <= agent.n_envs * agent.rollout_steps "
                f"({self.n_envs * self.rollout_steps})"
            )


# ------------------------------------------------------------------------------------------- trainer
@dataclass
class TrainerConfig:
    """The training loop: budget, evaluation, logging and checkpoints."""

    total_steps: int = 3_000_000  # env steps (all games together) to train for
    time_limit_s: float = 0.0  # also stop after this much training wall time (0 = no limit)
    eval_every: int = 100_000  # evaluate the greedy policy every this many env steps (0 = only at the end)
    eval_episodes: int = 1000  # fixed evaluation layouts
    eval_seed: int = 12345  # seed of the evaluation layouts (independent of the training seed)
    log_every: int = 4_096  # write training scalars every this many env steps
    image_every: int = 0  # log game frames to TensorBoard every this many env steps (0 = at each eval)
    checkpoint_every: int = 200_000  # save a checkpoint every this many env steps (0 = only at the end)
    keep_checkpoints: int = 2  # keep the newest K periodic checkpoints (plus the best by evaluation)
    save_replay: bool = True  # include the replay buffer in checkpoints (needed for an exact resume)
    auto_resume: bool = False  # continue from the run dir's newest checkpoint if it has one
    video: bool = False  # record an mp4 + gif of a few greedy episodes at each evaluation
    video_episodes: int = 2  # episodes per video
    progress: bool = True  # show a progress bar on the terminal
    threads: int = 0  # torch intra-op threads (0 = all cores of this machine, shared by sweep jobs)
    deterministic: bool = True  # torch deterministic algorithms (same seed, same numbers)
    precision: str = "auto"  # auto | fp32 | bf16 (body under bfloat16 autocast; weights, Adam, Q head fp32); auto = bf16 on CPUs with AMX or AVX512-BF16
    conv: str = "auto"  # CPU convolutions: banded (one matmul per layer, networks.BandedBody) | torch (conv2d) | auto (banded in bf16 on AMX)

    def __post_init__(self) -> None:
        check_range("trainer.total_steps", self.total_steps, 1)
        check_range("trainer.time_limit_s", self.time_limit_s, 0.0)
        for key in ("eval_every", "log_every", "image_every", "checkpoint_every"):
            check_range(f"trainer.{key}", getattr(self, key), 0)
        check_range("trainer.eval_episodes", self.eval_episodes, 1)
        check_range("trainer.keep_checkpoints", self.keep_checkpoints, 1)
        check_range("trainer.video_episodes", self.video_episodes, 1)
        check_range("trainer.threads", self.threads, 0)
        check_choice("trainer.precision", self.precision, ("auto", "fp32", "bf16"))
        check_choice("trainer.conv", self.conv, ("auto", "banded", "torch"))


# ------------------------------------------------------------------------------------------- top level
@dataclass
class Config:
    """A training run."""

    env: EnvConfig = MISSING  # the game
    model: ModelConfig = MISSING  # the Q-network
    agent: Any = MISSING  # the learner (DQNConfig or PQNConfig)
    trainer: TrainerConfig = MISSING  # the loop
    seed: int = 0  # seed of everything random in training
    device: str = "auto"  # auto (cuda if available) | cpu | cuda
    resume: str | None = None  # run dir (or checkpoint file) to continue; the run goes on in that dir
    name: str = "default"  # experiment name (used in the output path and the sweep summary)

    def __post_init__(self) -> None:
        check_choice("device", self.device, ("auto", "cpu", "cuda"))
        if self.trainer.total_steps < getattr(self.agent, "learning_starts", 0):
            raise ConfigError(
                f"agent.learning_starts ({self.agent.learning_starts}) must be <= trainer.total_steps "
                f"({self.trainer.total_steps})"
            )


SCHEMAS: dict[str, type] = {}  # command schemas registered by the CLI (name -> dataclass), for messages


def register_schema(name: str, schema: type) -> None:
    """Store a command's schema (e.g. ``base_eval``) for its Hydra app."""
    ConfigStore.instance().store(name=name, node=schema)
    SCHEMAS[schema.__name__] = schema


def register_configs() -> None:
    """Register the schemas so that YAML presets are validated against them."""
    cs = ConfigStore.instance()
    cs.store(name="base_config", node=Config)
    cs.store(group="env", name="base_env", node=EnvConfig)
    cs.store(group="model", name="base_model", node=ModelConfig)
    cs.store(group="agent", name="base_dqn", node=DQNConfig)
    cs.store(group="agent", name="base_pqn", node=PQNConfig)
    cs.store(group="trainer", name="base_trainer", node=TrainerConfig)


def typed_node(node: Any) -> Any:
    """A plain config node (e.g. a saved ``config.yaml``) typed by the schema; its agent by the learner's
    own schema (``agent.name``: dqn or pqn), so that ``to_config`` validates it like a composed one."""
    from omegaconf import OmegaConf

    name = OmegaConf.select(node, "agent.name")
    schema = {"dqn": DQNConfig, "pqn": PQNConfig}.get(str(name))
    if schema is None:
        raise ConfigError(f"agent.name={name!r} is not allowed; choose one of dqn, pqn")
    base = OmegaConf.structured(Config)
    base.agent = OmegaConf.structured(schema)
    return OmegaConf.merge(base, node)


def to_object(node: Any, where: str = "") -> Any:
    """A structured OmegaConf node -> its dataclass, every ``__post_init__`` check run; any failure is
    a one-line :class:`ConfigError` (prefixed with ``where``)."""
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    try:
        return OmegaConf.to_object(node)
    except OmegaConfBaseException as exc:
        if isinstance(exc.__cause__, ConfigError):
            raise exc.__cause__ from None
        key = getattr(exc, "full_key", None)
        msg = str(exc).splitlines()[0]
        raise ConfigError(f"{where + ': ' if where else ''}{key + ': ' if key else ''}{msg}") from None


def to_config(cfg: Any) -> Config:
    """OmegaConf node -> validated :class:`Config` (raises ConfigError on a bad value, or on a key the
    schema does not have, such as ``++agent.learning_starts=...`` on the pqn learner)."""
    obj = to_object(cfg)
    assert isinstance(obj, Config)
    _reject_extra_keys(obj, "")
    return obj


def unknown_key(key: str, schema: type) -> ConfigError:
    """The error for ``key`` (dotted, e.g. ``agent.lrr``) that the dataclass ``schema`` lacks: its
    nearest keys, else all of them."""
    import difflib

    names = [f.name for f in fields(schema)] if is_dataclass(schema) else []
    prefix, _, last = key.rpartition(".")
    near = difflib.get_close_matches(last, names, n=3)
    if near:
        hint = "did you mean " + " or ".join(f"{prefix}.{n}" if prefix else n for n in near) + "?"
    else:
        hint = "its keys: " + ", ".join(names)
    return ConfigError(
        f"{key} is not a key of {schema.__name__}; {hint} (every key: {schema.__module__}.{schema.__name__})"
    )


def _reject_extra_keys(obj: Any, path: str) -> None:
    """OmegaConf sets keys that a schema lacks (force-added with ``++``) as plain attributes, which
    nothing reads: refuse them instead of ignoring them."""
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            _reject_extra_keys(item, f"{path}[{i}]")
        return
    if not is_dataclass(obj) or isinstance(obj, type):
        return
    names = [f.name for f in fields(obj)]
    extra = sorted(k for k in vars(obj) if k not in names and not k.startswith("_"))
    if extra:
        raise unknown_key(f"{path + '.' if path else ''}{extra[0]}", type(obj))
    for name in names:
        _reject_extra_keys(getattr(obj, name), f"{path}.{name}" if path else name)


def check_env_keys(env: Any) -> None:
    """``env.<key>`` overrides given to a command (a dict) name keys of :class:`EnvConfig` (a chosen
    preset, already typed, passes)."""
    names = [f.name for f in fields(EnvConfig)]
    for key in env if isinstance(env, dict) else ():
        if key not in names:
            raise unknown_key(f"env.{key}", EnvConfig)


def env_preset(name: str) -> dict[str, Any]:
    """The keys of ``conf/env/<name>.yaml`` (its Hydra defaults list dropped)."""
    from omegaconf import OmegaConf

    path = CONF_DIR / "env" / f"{name}.yaml"
    if not path.is_file():
        have = sorted(p.stem for p in (CONF_DIR / "env").glob("*.yaml"))
        raise ConfigError(f"env={name}: no such game preset; choose one of {', '.join(have)}")
    data = OmegaConf.to_container(OmegaConf.load(path))
    assert isinstance(data, dict)
    data.pop("defaults", None)
    return {str(k): v for k, v in data.items()}


def load_env_config(
    preset: str | None = None,
    base: EnvConfig | None = None,
    overrides: list[str] | dict[str, Any] | None = None,
) -> EnvConfig:
    """The game outside Hydra: the schema's defaults, replaced by ``base`` or by the preset
    ``conf/env/<preset>.yaml`` (the preset wins when both are given), then ``overrides`` (a dotlist
    ``["key=value"]`` or a dict), validated by :class:`EnvConfig`."""
    from omegaconf import OmegaConf

    node = OmegaConf.structured(EnvConfig)
    try:
        if preset is not None:
            node = OmegaConf.merge(node, env_preset(preset))
        elif base is not None:
            node = OmegaConf.merge(node, OmegaConf.structured(base))
        if overrides:
            extra = OmegaConf.from_dotlist(list(overrides)) if isinstance(overrides, list) else overrides
            node = OmegaConf.merge(node, extra)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - an unknown key or a value of the wrong type
        raise ConfigError(f"env: {str(exc).splitlines()[0]}") from None
    env = to_object(node, "env")
    assert isinstance(env, EnvConfig)
    return env


# -------------------------------------------------------------------------------------- composition
def presets(group: str) -> list[str]:
    """The preset names of a config group (``env``, ``model``, ``agent``, ``trainer``, ``experiment``...)."""
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


def compose(
    overrides: Sequence[str] = (), config_name: str = "config", resolve: bool = True, keep_hydra: bool = False
) -> Any:
    """The config ``gridrl train <overrides>`` runs (``config_name="config"``), composed by Hydra from the
    packaged presets, without its ``hydra`` node, interpolations resolved. The one way to compose a
    config outside a Hydra app (the CLI's precheck, the Python API, tests, benchmarks). A bad override is
    a one-line :class:`ConfigError`."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.hydra_config import HydraConfig
    from hydra.errors import HydraException
    from omegaconf import OmegaConf

    register_configs()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            cfg = hydra_compose(config_name, overrides=list(overrides), return_hydra_config=True)
            HydraConfig.instance().set_config(cfg)
            OmegaConf.set_struct(cfg, False)
            if not keep_hydra:
                del cfg["hydra"]
            if resolve:
                OmegaConf.resolve(cfg)
    except HydraException as exc:
        raise ConfigError(hydra_error_line(exc)) from None
    finally:
        GlobalHydra.instance().clear()
    return cfg


def compose_config(overrides: Sequence[str] = ()) -> Config:
    """:func:`compose` validated into the typed :class:`Config`."""
    return to_config(compose(overrides))


def hydra_error_line(exc: BaseException) -> str:
    """Hydra's multi-line error (and its cause) as one line; an unknown key of a schema as
    :func:`unknown_key`'s message (Hydra suggests ``+key=``, which cannot add to a schema)."""
    import re

    text = str(exc).split("Config search path")[0]
    if exc.__cause__ is not None:
        text += ": " + str(exc.__cause__).strip().splitlines()[0]
    text = " ".join(line.strip() for line in text.splitlines() if line.strip())
    m = re.search(r"Could not override '([^']+)'.*Key '[^']+' not in '(\w+)'", text)
    schema = (SCHEMAS.get(m.group(2)) or globals().get(m.group(2))) if m else None
    if m and isinstance(schema, type) and is_dataclass(schema):
        return str(unknown_key(m.group(1), schema))
    return text
