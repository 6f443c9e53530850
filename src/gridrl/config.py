"""Typed configuration schema: one dataclass per Hydra config group.

Every knob of gridrl lives here with its type, default and a one-line comment; the YAML files under
``conf/`` only hold named presets (deltas against these defaults). The module is long because it is the
documentation of every knob in one place (its size is the schema's); ``compose()`` at the end is the one
way to build a config outside a Hydra app.  Cross-field checks run in
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
# The env group holds one schema per game family; ``env.family`` names it (a saved config is typed by it,
# see :func:`typed_node`). Presets: conf/env/<name>.yaml (grid), conf/env/minatar/<game>.yaml,
# conf/env/minigrid/<task>.yaml, conf/env/gym.yaml; each starts from its family's base_* schema.
ENV_FAMILIES = ("grid", "minatar", "minigrid", "gym")
ACTION_SETS = ("seed8", "sentdex9")
MOTIONS = ("static", "random", "chase")
ON_FOOD = ("end", "remove", "respawn")
OBS_MODES = ("rgb", "planes", "ego", "fovea")
MINATAR_GAMES = ("asterix", "breakout", "freeway", "seaquest", "space_invaders")
MINIGRID_ACTIONS = ("all", "nav", "keys")


def check_family(value: str, family: str) -> None:
    """``env.family`` must be the family of the schema that holds it (it is the schema's name, not a knob)."""
    if value != family:
        raise ConfigError(
            f"env.family={value!r} does not match this env's schema ({family}); pick a preset of that "
            f"family instead (env=default, env=minatar/breakout, env=minigrid/doorkey-8x8, env=gym env.id=...)"
        )


@dataclass
class EnvConfig:
    """The built-in grid game (see docs in ``gridrl.game.grid``)."""

    family: str = (
        "grid"  # game family: grid (this built-in game) | minatar | minigrid | gym (set by the preset)
    )
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
    obs_mode: str = (
        "fovea"  # rgb (seed image) | planes (one-hot) | ego (planes centred on the player) | fovea
    )
    # fovea view: the fovea x fovea window of the ego view around the player beside the whole ego view
    # max-pooled to fovea x fovea (odd, >= 3): (6, fovea, fovea) whatever the grid's size
    fovea: int = 11
    player_color: list[int] = field(default_factory=lambda: [255, 175, 0])  # rgb mode: player colour
    food_color: list[int] = field(default_factory=lambda: [0, 255, 0])  # rgb mode: food colour
    enemy_color: list[int] = field(default_factory=lambda: [0, 0, 255])  # rgb mode: enemy colour

    def __post_init__(self) -> None:
        check_family(self.family, "grid")
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
        if self.fovea < 3 or self.fovea % 2 == 0:
            raise ConfigError(f"env.fovea={self.fovea} is not allowed; give an odd size >= 3, e.g. 11")
        check_unread("env", self, ("fovea",), self.obs_mode == "fovea", "env.obs_mode=fovea")
        for key in ("player_color", "food_color", "enemy_color"):
            col = list(getattr(self, key))
            if len(col) != 3 or any(not 0 <= int(c) <= 255 for c in col):
                raise ConfigError(f"env.{key}={col} must be three integers in [0, 255]")

    @property
    def is_static(self) -> bool:
        """True when nothing but the player moves and moves are deterministic."""
        return self.food_motion == "static" and self.enemy_motion == "static" and self.slip == 0.0


@dataclass
class MinAtarConfig:
    """A MinAtar game (Young & Tian 2019; :mod:`gridrl.envs.minatar`): ``(C, 10, 10)`` planes, the paper's protocol."""

    family: str = "minatar"  # game family (set by the preset)
    game: str = "breakout"  # asterix | breakout | freeway | seaquest | space_invaders ('-' accepted for '_')
    sticky_action_prob: float = 0.1  # chance the previous action repeats instead of the chosen one
    max_steps: int = 10_000  # steps before an episode is truncated (MinAtar has no limit); 0 = none
    minimal_actions: bool = False  # the game's minimal action set instead of all 6 actions
    difficulty_ramping: bool = True  # MinAtar's gradual speed-up (asterix, seaquest, space_invaders)

    def __post_init__(self) -> None:
        check_family(self.family, "minatar")
        self.game = str(self.game).replace("-", "_")
        check_choice("env.game", self.game, MINATAR_GAMES)
        check_range("env.sticky_action_prob", self.sticky_action_prob, 0.0, 1.0)
        check_range("env.max_steps", self.max_steps, 0)


@dataclass
class MiniGridConfig:
    """A MiniGrid task (:mod:`gridrl.envs.minigrid`): one-hot ``(20, 7, 7)`` partial view, MiniGrid's reward."""

    family: str = "minigrid"  # game family (set by the preset)
    task: str = "empty-8x8"  # empty-8x8 | doorkey-8x8 | doorkey-16x16 | fourrooms | lavagap-s7 | keycorridor-s3r1 | any MiniGrid-* id
    max_steps: int = (
        0  # the env's max_steps (sets the reward's time penalty and the truncation); 0 = task default
    )
    actions: str = "all"  # all (7 actions) | nav (left, right, forward: enough without keys and doors) | keys (left, right, forward, pickup, toggle)
    tile_size: int = 8  # render(): pixels per grid cell

    def __post_init__(self) -> None:
        check_family(self.family, "minigrid")
        from gridrl.envs.minigrid import resolve_task

        resolve_task(self.task)
        check_range("env.max_steps", self.max_steps, 0)
        check_choice("env.actions", self.actions, MINIGRID_ACTIONS)
        check_range("env.tile_size", self.tile_size, 1)


@dataclass
class GymConfig:
    """Any gymnasium env with a Discrete action space and an image / grid observation (:mod:`gridrl.envs.gym_env`)."""

    family: str = "gym"  # game family (set by the preset)
    id: str = ""  # a registered gymnasium id, or 'module:Id' to import the module that registers it
    max_steps: int = 0  # a TimeLimit in steps; 0 = the id's registered limit
    channels_first: bool = False  # the observation Box is already (C, H, W) rather than (H, W, C)
    kwargs: dict[str, Any] = field(default_factory=dict)  # keyword arguments for gymnasium.make

    def __post_init__(self) -> None:
        check_family(self.family, "gym")
        from gridrl.envs.gym_env import ensure_registered

        if not self.id:
            raise ConfigError(
                "env.id is required for the gym family: a registered gymnasium id, e.g. MiniGrid-Empty-8x8-v0"
            )
        ensure_registered(self.id)
        check_range("env.max_steps", self.max_steps, 0)


GameConfig = EnvConfig | MinAtarConfig | MiniGridConfig | GymConfig  # any env config (``env.family``)
ENV_SCHEMAS: dict[str, type] = {"grid": EnvConfig, "minatar": MinAtarConfig, "minigrid": MiniGridConfig,
                                "gym": GymConfig}  # fmt: skip
BASE_ENV_PRESETS = {"base_env": "grid", "base_minatar": "minatar", "base_minigrid": "minigrid",
                    "base_gym": "gym"}  # fmt: skip  # the env group's typed schemas -> their family


def env_schema(family: Any) -> type:
    """The env schema of ``family`` (``None``: a config saved before families existed, the grid game)."""
    family = "grid" if family is None else str(family)
    check_choice("env.family", family, ENV_FAMILIES)
    return ENV_SCHEMAS[family]


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
def check_unread(prefix: str, obj: Any, keys: Sequence[str], read: bool, when: str) -> None:
    """Refuse a value (other than the schema's default) for a key that nothing reads unless ``when``
    holds: a key that is accepted must change what the program does."""
    if read:
        return
    defaults = {f.name: f.default for f in fields(obj)}
    for key in keys:
        if getattr(obj, key) != defaults[key]:
            raise ConfigError(
                f"{prefix}.{key}={getattr(obj, key)!r} is read only when {when}; set that too, or leave "
                f"{prefix}.{key} at its default ({defaults[key]!r})"
            )


@dataclass
class RewardConfig:
    """Transform of the game's reward before learning (logs and eval keep the game's own units)."""

    scale: float = 1.0  # multiply the reward by this first
    # then clip to [clip_low, clip_high]: true | false | auto = the built-in game unless an episode
    # collects several food while enemies move or moves slip (there a clipped enemy costs one food of
    # many and the agent trades deaths for food; see clip_by_default)
    clip: str = "false"
    clip_low: float = -1.0  # lower clip bound (read only when clipping)
    clip_high: float = 1.0  # upper clip bound (read only when clipping)
    symlog: bool = False  # finally apply sign(r) * log(1 + |r|)

    def __post_init__(self) -> None:
        self.clip = str(self.clip).lower()  # YAML / command-line booleans arrive as "True" / "False"

    def check(self, prefix: str) -> None:
        check_choice(f"{prefix}.clip", self.clip, ("true", "false", "auto"))
        check_unread(prefix, self, ("clip_low", "clip_high"), self.clip != "false", f"{prefix}.clip=true")
        if self.clip != "false" and self.clip_low >= self.clip_high:
            raise ConfigError(
                f"{prefix}.clip_low ({self.clip_low}) must be < {prefix}.clip_high ({self.clip_high})"
            )


@dataclass
class EpsilonConfig:
    """Exploration while training: epsilon-greedy, scheduled by env steps (all games together) whatever
    the budget, so extending a run's budget does not change it."""

    schedule: str = "linear"  # linear | exponential
    start: float = 1.0  # epsilon at step 0
    end: float = 0.05  # final epsilon
    decay_steps: int = 1_000_000  # linear: steps from start to end; exponential: steps per factor e

    def check(self, prefix: str) -> None:
        check_choice(f"{prefix}.schedule", self.schedule, ("linear", "exponential"))
        for key in ("start", "end"):
            check_range(f"{prefix}.{key}", getattr(self, key), 0.0, 1.0)
        check_range(f"{prefix}.decay_steps", self.decay_steps, 1)


LEARNERS = ("dqn", "pqn")


@dataclass
class AgentConfig:
    """Knobs shared by every learner (each one is read by both; tests/test_knobs.py shows it)."""

    name: str = (
        MISSING  # the learner, set by its preset (pick one with agent=dqn | agent=pqn | agent=dqn_fast)
    )
    n_envs: int = 128  # games stepped in parallel (one batched forward pass per step)
    gamma: float = 0.95  # discount factor
    lr: float = 3e-4  # Adam learning rate
    lr_anneal: bool = (
        True  # anneal the learning rate linearly to 0 at trainer.total_steps (README: extending a run)
    )
    adam_eps: float = 1e-5  # Adam epsilon
    max_grad_norm: float = 10.0  # clip the gradient's global norm (0 = off)
    loss: str = "mse"  # mse | huber (smooth L1: equal to mse for TD errors below 1)
    reward: RewardConfig = field(default_factory=RewardConfig)  # reward transform for learning
    epsilon: EpsilonConfig = field(default_factory=EpsilonConfig)  # exploration schedule
    explore_bonus: float = 0.0  # count-based bonus beta / sqrt(visits) added to the learning reward of each observation reached (game-reward units; 0 = off; gridrl.agent.explore)
    explore_episodic: bool = False  # explore_bonus only on an observation's first visit in the episode (no bonus for revisits; needs explore_bonus > 0)

    def __post_init__(self) -> None:
        check_choice("agent.name", self.name, LEARNERS)
        check_range("agent.n_envs", self.n_envs, 1)
        check_range("agent.gamma", self.gamma, 0.0, 1.0)
        check_range("agent.lr", self.lr, 0.0, lo_open=True)
        check_range("agent.adam_eps", self.adam_eps, 0.0, lo_open=True)
        check_range("agent.max_grad_norm", self.max_grad_norm, 0.0)
        check_range("agent.explore_bonus", self.explore_bonus, 0.0)
        if self.explore_episodic and self.explore_bonus == 0:
            raise ConfigError(
                "agent.explore_episodic=true needs agent.explore_bonus > 0 (it restricts that bonus)"
            )
        check_choice("agent.loss", self.loss, ("mse", "huber"))
        self.reward.check("agent.reward")
        self.epsilon.check("agent.epsilon")

    def check_learner(self, learner: str) -> None:
        """``agent.name`` names the schema's learner; it does not switch learners (the preset does)."""
        if self.name != learner:
            raise ConfigError(
                f"agent.name={self.name} does not switch the learner ({learner} here): pick it with "
                f"agent={self.name} (presets: {', '.join(LEARNERS)}, dqn_fast)"
            )


@dataclass
class DQNConfig(AgentConfig):
    """Replay-based DQN (double, dueling via the model, n-step, prioritized replay, target network)."""

    name: str = "dqn"  # learner
    n_envs: int = 16  # games stepped in parallel
    gamma: float = 0.99  # discount factor
    lr: float = 1e-3  # Adam learning rate
    lr_anneal: bool = False  # anneal the learning rate linearly to 0 at trainer.total_steps
    loss: str = "huber"  # mse | huber
    batch_size: int = 64  # transitions sampled per gradient step
    buffer_size: int = 100_000  # replay capacity in transitions (all games together)
    learning_starts: int = 5_000  # transitions in the replay before the first update
    replay_ratio: float = 0.25  # gradient updates per env step (0.25 = one update per 4 steps)
    n_step: int = 3  # n-step returns (1 = classic)
    double: bool = True  # double DQN: online argmax, target evaluation
    target_update: int = 1_000  # update the target network every this many gradient steps (see tau)
    tau: float = (
        1.0  # at each target update: 1.0 = copy the online network, < 1 = target += tau * (online - target)
    )
    prioritized: bool = False  # proportional prioritized replay
    per_alpha: float = 0.6  # priority exponent (read only with prioritized=true)
    per_beta: float = (
        0.4  # importance-sampling exponent at start, annealed to 1 at trainer.total_steps (prioritized)
    )
    per_eps: float = 1e-6  # added to |TD error| for priorities (read only with prioritized=true)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_learner("dqn")
        check_range("agent.batch_size", self.batch_size, 1)
        check_range("agent.buffer_size", self.buffer_size, 1)
        check_range("agent.learning_starts", self.learning_starts, 0)
        check_range("agent.replay_ratio", self.replay_ratio, 0.0, lo_open=True)
        check_range("agent.n_step", self.n_step, 1)
        check_range("agent.target_update", self.target_update, 1)
        check_range("agent.tau", self.tau, 0.0, 1.0, lo_open=True)
        check_range("agent.per_alpha", self.per_alpha, 0.0)
        check_range("agent.per_beta", self.per_beta, 0.0, 1.0)
        check_range("agent.per_eps", self.per_eps, 0.0, lo_open=True)
        check_unread(
            "agent", self, ("per_alpha", "per_beta", "per_eps"), self.prioritized, "agent.prioritized=true"
        )
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
    """Parallel Q-learning without replay: rollouts of many games, Q(lambda) targets, no target network.
    A minibatch is n_envs * rollout_steps / minibatches transitions."""

    name: str = "pqn"  # learner
    n_envs: int = 256  # games stepped in parallel (one batched forward pass per step)
    rollout_steps: int = 16  # steps per game per rollout (a rollout is n_envs * rollout_steps transitions)
    epochs: int = 1  # passes over each rollout
    minibatches: int = 8  # minibatches per epoch (rollout is split evenly)
    q_lambda: float = 0.65  # lambda of the Q(lambda) targets (0 = 1-step, 1 = Monte Carlo; rollout_steps > 1)
    lr: float = 1e-3  # Adam learning rate (annealed to 0 at trainer.total_steps with lr_anneal)
    epsilon: EpsilonConfig = field(
        default_factory=lambda: EpsilonConfig(decay_steps=500_000)
    )  # exploration schedule (1 -> 0.05 over the first 500k env steps)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.check_learner("pqn")
        check_range("agent.rollout_steps", self.rollout_steps, 1)
        check_range("agent.epochs", self.epochs, 1)
        check_range("agent.minibatches", self.minibatches, 1)
        check_range("agent.q_lambda", self.q_lambda, 0.0, 1.0)
        check_unread("agent", self, ("q_lambda",), self.rollout_steps > 1, "agent.rollout_steps > 1")
        if self.minibatches > self.n_envs * self.rollout_steps:
            raise ConfigError(
                f"agent.minibatches ({self.minibatches}) must be <= agent.n_envs * agent.rollout_steps "
                f"({self.n_envs * self.rollout_steps})"
            )


# saved configs of earlier versions hold keys this schema no longer has: loading one (a resume,
# gridrl eval) moves them (old key -> new key) or drops them (-> None: nothing ever read them)
RETIRED_KEYS: dict[str, dict[str, str | None]] = {
    "pqn": {"agent.batch_size": None, "agent.epsilon.eval": "trainer.eval_epsilon"},
    "dqn": {"agent.epsilon.eval": "trainer.eval_epsilon"},
}


# ------------------------------------------------------------------------------------------- trainer
@dataclass
class TrainerConfig:
    """The training loop: budget, evaluation, logging and checkpoints."""

    # env steps (all games together) to train for; 0 = default_budget (3M; 10M in a long game whose
    # enemies move: long_risky_game; scaled by the cells over 15x15's on larger grids)
    total_steps: int = 0
    time_limit_s: float = 0.0  # also stop after this much training wall time (0 = no limit)
    eval_every: int = 100_000  # evaluate the greedy policy every this many env steps (0 = only at the end)
    eval_episodes: int = 1000  # fixed evaluation layouts
    eval_seed: int = 12345  # seed of the evaluation layouts (independent of the training seed)
    eval_epsilon: float = 0.0  # chance of a random action per step in evaluations (0 = greedy)
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
        check_range("trainer.total_steps", self.total_steps, 0)
        check_range("trainer.time_limit_s", self.time_limit_s, 0.0)
        for key in ("eval_every", "log_every", "image_every", "checkpoint_every"):
            check_range(f"trainer.{key}", getattr(self, key), 0)
        check_range("trainer.eval_episodes", self.eval_episodes, 1)
        check_range("trainer.eval_epsilon", self.eval_epsilon, 0.0, 1.0)
        check_range("trainer.keep_checkpoints", self.keep_checkpoints, 1)
        check_range("trainer.video_episodes", self.video_episodes, 1)
        check_range("trainer.threads", self.threads, 0)
        check_choice("trainer.precision", self.precision, ("auto", "fp32", "bf16"))
        check_choice("trainer.conv", self.conv, ("auto", "banded", "torch"))


# ------------------------------------------------------------------------------------------- top level
@dataclass
class Config:
    """A training run."""

    env: Any = MISSING  # the game: EnvConfig (family grid) | MinAtarConfig | MiniGridConfig | GymConfig
    model: ModelConfig = MISSING  # the Q-network
    agent: Any = MISSING  # the learner (DQNConfig or PQNConfig)
    trainer: TrainerConfig = MISSING  # the loop
    seed: int = 0  # seed of everything random in training
    device: str = "auto"  # auto (cuda if available) | cpu | cuda
    resume: str | None = None  # run dir (or checkpoint file) to continue; the run goes on in that dir
    init_from: str | None = (
        None  # run dir, checkpoint or q_network.pt whose network weights start this new run
    )
    name: str = "default"  # experiment name (used in the output path and the sweep summary)

    def __post_init__(self) -> None:
        check_choice("device", self.device, ("auto", "cpu", "cuda"))
        reward = getattr(self.agent, "reward", None)
        if isinstance(reward, RewardConfig) and reward.clip == "auto":  # decided here, once, for the game
            reward.clip = "true" if clip_by_default(self.env) else "false"
        if self.trainer.total_steps == 0:  # decided here, once, for the game
            self.trainer.total_steps = default_budget(self.env)
        check_unread(
            "trainer",
            self.trainer,
            ("save_replay",),
            isinstance(self.agent, DQNConfig),
            "the learner keeps a replay buffer (agent=dqn, dqn_fast)",
        )
        if self.trainer.total_steps < getattr(self.agent, "learning_starts", 0):
            raise ConfigError(
                f"agent.learning_starts ({self.agent.learning_starts}) must be <= trainer.total_steps "
                f"({self.trainer.total_steps})"
            )


def long_risky_game(env: Any) -> bool:
    """A built-in game whose episodes collect several food (``on_food`` remove / respawn) while enemies
    move or moves slip: every step near an enemy is a risk, weighed against many food. Such games get
    unclipped rewards (``agent.reward.clip=auto``) and a longer budget (``trainer.total_steps=0``).

    Measured (README, Game scaling): clipping -300 to one food's worth keeps the optimal policy where an
    enemy is always avoidable (static, exact moves) and makes learning fast; in an episode that ends on
    its one food it also learned a chasing enemy faster (beat the heuristic after 0.9M env steps,
    unclipped still below it at 2.1M); in the crowded game clipped agents trade deaths for food (61 % of
    the heuristic after 3M env steps), unclipped ones beat the heuristic after 5.5M.
    """
    return (
        isinstance(env, EnvConfig)
        and env.on_food != "end"
        and (env.enemy_motion != "static" or env.slip > 0.0)
    )


def clip_by_default(env: Any) -> bool:
    """What ``agent.reward.clip=auto`` does: clip in the built-in game unless it is a :func:`long_risky_game`;
    other families: no clip (their presets set it)."""
    return isinstance(env, EnvConfig) and not long_risky_game(env)


def default_budget(env: Any) -> int:
    """What ``trainer.total_steps=0`` trains for: 3M env steps (10M in a :func:`long_risky_game`), times
    the grid's cells over 15x15's when it is larger (the same steps per cell: 20x20 5.3M, 25x25 8.3M).

    Measured with the fovea view: 3M steps took 15x15 past 95 % of the oracle in 3 seeds of 3 (20-50 s);
    on 20x20 one seed of 3 ended 3M steps at 92.8 % (94.7 % at 2.7M)."""
    base = 10_000_000 if long_risky_game(env) else 3_000_000
    if isinstance(env, EnvConfig):
        base = base * max(225, env.height * env.width) // 225
    return base


SCHEMAS: dict[str, type] = {}  # command schemas registered by the CLI (name -> dataclass), for messages


def register_schema(name: str, schema: type) -> None:
    """Store a command's schema (e.g. ``base_eval``) for its Hydra app."""
    ConfigStore.instance().store(name=name, node=schema)
    SCHEMAS[schema.__name__] = schema


def register_configs() -> None:
    """Register the schemas so that YAML presets are validated against them."""
    cs = ConfigStore.instance()
    cs.store(name="base_config", node=Config)
    for preset, family in BASE_ENV_PRESETS.items():
        cs.store(group="env", name=preset, node=ENV_SCHEMAS[family])
    cs.store(group="model", name="base_model", node=ModelConfig)
    cs.store(group="agent", name="base_dqn", node=DQNConfig)
    cs.store(group="agent", name="base_pqn", node=PQNConfig)
    cs.store(group="trainer", name="base_trainer", node=TrainerConfig)


def typed_node(node: Any) -> Any:
    """A plain config node (e.g. a saved ``config.yaml``) typed by the schema: its env by the family's
    schema (``env.family``; none: the grid game), its agent by the learner's (``agent.name``: dqn or
    pqn), so that ``to_config`` validates it like a composed one. Keys of earlier versions
    (:data:`RETIRED_KEYS`) are moved or dropped."""
    from omegaconf import OmegaConf

    name = OmegaConf.select(node, "agent.name")
    schema = {"dqn": DQNConfig, "pqn": PQNConfig}.get(str(name))
    if schema is None:
        raise ConfigError(f"agent.name={name!r} is not allowed; choose one of dqn, pqn")
    node = node.copy()
    for old, new in RETIRED_KEYS[str(name)].items():
        value = OmegaConf.select(node, old, default=None)
        parent, _, key = old.rpartition(".")
        if value is None or key not in OmegaConf.select(node, parent):
            continue
        OmegaConf.select(node, parent).pop(key)
        if new is not None:
            OmegaConf.update(node, new, value, force_add=True)
    base = OmegaConf.structured(Config)
    base.env = OmegaConf.structured(env_schema(OmegaConf.select(node, "env.family")))
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
    moved = {old: new for table in RETIRED_KEYS.values() for old, new in table.items() if new}
    other: type[AgentConfig] | None = {DQNConfig: PQNConfig, PQNConfig: DQNConfig}.get(schema)
    if key in moved:
        hint = f"it is {moved[key]} now"
    elif other is not None and last in {f.name for f in fields(other)}:
        learner = "dqn" if other is DQNConfig else "pqn"
        hint = f"only the {learner} learner reads it (agent={learner})"
    elif near:
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
    """``env.<key>`` overrides given to a command (a dict) name keys of some env schema (the game's own
    is checked once it is known, by :func:`load_env_config`; a chosen preset, already typed, passes)."""
    names = {f.name for schema in ENV_SCHEMAS.values() for f in fields(schema)}
    for key in env if isinstance(env, dict) else ():
        if key not in names:
            raise unknown_key(f"env.{key}", EnvConfig)


def env_preset(name: str) -> dict[str, Any]:
    """The keys of ``conf/env/<name>.yaml`` (``default``, ``minatar/breakout`` ...), its ``family`` set
    from the base schema its defaults list names (its Hydra defaults list dropped)."""
    from omegaconf import OmegaConf

    path = CONF_DIR / "env" / f"{name}.yaml"
    if not path.is_file() or name.startswith("."):
        raise ConfigError(f"env={name}: no such game preset; choose one of {', '.join(presets('env'))}")
    data = OmegaConf.to_container(OmegaConf.load(path))
    assert isinstance(data, dict)
    bases = [BASE_ENV_PRESETS[d] for d in data.pop("defaults", None) or () if d in BASE_ENV_PRESETS]
    out = {str(k): v for k, v in data.items()}
    if bases:
        out.setdefault("family", bases[0])
    return out


def load_env_config(
    preset: str | None = None,
    base: GameConfig | None = None,
    overrides: list[str] | dict[str, Any] | None = None,
) -> GameConfig:
    """The game outside Hydra: the defaults of its family's schema, replaced by ``base`` or by the preset
    ``conf/env/<preset>.yaml`` (the preset wins when both are given), then ``overrides`` (a dotlist
    ``["key=value"]`` or a dict), validated by the schema. The family is the overrides' ``family``, else
    the preset's, else ``base``'s, else the grid game."""
    from omegaconf import OmegaConf
    from omegaconf.errors import ConfigKeyError

    schema: type = EnvConfig
    try:
        extra = OmegaConf.from_dotlist(list(overrides)) if isinstance(overrides, list) else overrides or {}
        layers: list[Any] = [env_preset(preset)] if preset is not None else []
        if not layers and base is not None:
            layers = [OmegaConf.structured(base)]
        family = OmegaConf.select(OmegaConf.create(extra), "family")
        if layers and family is not None:
            check_family(family, layers[0].get("family", "grid"))
        if family is None and layers:
            family = layers[0].get("family")
        schema = env_schema(family)
        node = OmegaConf.structured(schema)
        for layer in [*layers, extra]:
            node = OmegaConf.merge(node, layer)
    except ConfigError:
        raise
    except ConfigKeyError as exc:  # a key the family's schema lacks
        raise unknown_key(f"env.{exc.key}", schema) from None
    except Exception as exc:  # noqa: BLE001 - a value of the wrong type
        raise ConfigError(f"env: {str(exc).splitlines()[0]}") from None
    env = to_object(node, "env")
    assert isinstance(env, EnvConfig | MinAtarConfig | MiniGridConfig | GymConfig)
    return env


# -------------------------------------------------------------------------------------- composition
def presets(group: str) -> list[str]:
    """The preset names of a config group (``env``, ``model``, ``agent``, ``trainer``, ``experiment``...);
    presets in subfolders by their path (``minatar/breakout``)."""
    root = CONF_DIR / group
    return sorted(p.relative_to(root).with_suffix("").as_posix() for p in root.rglob("*.yaml"))


def _path_safe(value: Any) -> str:
    """``${gridrl.path_safe:...}``: a value fit for one path component (``minatar/breakout`` ->
    ``minatar-breakout``), for run names made of preset choices."""
    return str(value).replace("/", "-")


def register_resolvers() -> None:
    from omegaconf import OmegaConf

    OmegaConf.register_new_resolver("gridrl.path_safe", _path_safe, replace=True)


register_resolvers()  # on import: every process that composes or resolves a gridrl config has it


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
