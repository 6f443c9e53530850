"""Config composition (every preset of every group) and every bad-value check."""

from __future__ import annotations

import dataclasses
import subprocess

import pytest

from conftest import GRIDRL, compose_cfg, presets
from gridrl.config import ConfigError, DQNConfig, EnvConfig, PQNConfig, to_config


@pytest.mark.parametrize("group", ["env", "model", "agent", "trainer", "experiment"])
def test_every_preset_composes_and_validates(group: str) -> None:
    names = [p for p in presets(group)]
    assert names, f"no presets in conf/{group}"
    for name in names:
        cfg = to_config(compose_cfg([f"{group}={name}"]))
        assert cfg.env is not None and cfg.agent is not None


def test_defaults_are_pqn_on_the_fovea_view() -> None:
    cfg = to_config(compose_cfg())
    assert isinstance(cfg.agent, PQNConfig)
    assert cfg.env.obs_mode == "fovea" and cfg.model.name == "fovea_cnn" and cfg.env == EnvConfig()
    assert cfg.name == "default-pqn"


def test_the_default_learners_preset_and_its_schema_agree() -> None:
    # conf/agent/pqn.yaml and PQNConfig's defaults document one learner (the reward transform is the one
    # exception: the schema's is the shared raw default, the preset scales and clips the built-in game's)
    preset = to_config(compose_cfg()).agent
    schema = PQNConfig()
    assert dataclasses.replace(preset, reward=schema.reward) == schema
    assert (preset.lr, preset.epsilon.decay_steps, preset.n_envs) == (1e-3, 500_000, 256)


def test_seed_and_sentdex_presets_have_the_tutorials_numbers() -> None:
    seed = to_config(compose_cfg(["env=seed", "model=seed_cnn"])).env
    assert (seed.height, seed.width, seed.actions, seed.max_steps) == (15, 15, "seed8", 200)
    assert (seed.move_reward, seed.food_reward, seed.enemy_reward) == (-1, 25, -300)
    assert seed.player_color == [255, 0, 0] and seed.obs_mode == "fovea" and seed.is_static
    sentdex = to_config(compose_cfg(["env=sentdex"])).env
    assert (sentdex.height, sentdex.width, sentdex.actions) == (10, 10, "sentdex9")
    assert sentdex.player_color == [255, 175, 0]
    crowded = to_config(compose_cfg(["env=crowded"])).env
    assert crowded.n_food > 1 and crowded.n_enemies > 1 and crowded.enemy_motion != "static"


def test_repro_experiments_use_the_tutorials_image_and_network() -> None:
    cfg = to_config(compose_cfg(["experiment=seed_repro"]))
    assert cfg.env.obs_mode == "rgb" and cfg.env.height == 15 and cfg.model.name == "seed_cnn"
    assert isinstance(cfg.agent, DQNConfig) and cfg.agent.buffer_size == 20000 and cfg.agent.gamma == 0.99
    cfg = to_config(compose_cfg(["experiment=sentdex_repro"]))
    assert cfg.env.obs_mode == "rgb" and cfg.env.height == 10 and cfg.model.name == "sentdex_cnn"


def test_every_experiment_preset_composes_into_a_valid_config() -> None:
    names = presets("experiment")
    assert {"crowded", "seed_game", "seed_repro"} <= set(names)
    for name in names:
        to_config(compose_cfg([f"experiment={name}"]))
    crowded = to_config(compose_cfg(["experiment=crowded"]))
    assert crowded.env.on_food == "respawn" and crowded.agent.reward.clip == "false"
    assert crowded.trainer.total_steps > to_config(compose_cfg([])).trainer.total_steps


def test_dqn_fast_is_the_dqn_preset_at_the_default_learners_scale() -> None:
    dqn = to_config(compose_cfg(["agent=dqn"])).agent
    cfg = to_config(compose_cfg(["agent=dqn_fast"]))
    fast = cfg.agent
    assert isinstance(fast, DQNConfig) and cfg.name == "default-dqn_fast"
    assert (fast.n_envs, fast.batch_size) == (128, 512)
    assert fast.replay_ratio * fast.batch_size == 2.0  # each transition trained on twice on average
    # the learning rule is dqn's: only the scale, the schedule and the target period differ
    assert (fast.double, fast.n_step, fast.loss, fast.gamma, fast.reward) == (
        dqn.double,
        dqn.n_step,
        dqn.loss,
        dqn.gamma,
        dqn.reward,
    )


def test_dqn_preset_is_typed() -> None:
    cfg = to_config(compose_cfg(["agent=dqn", "agent.n_step=5", "agent.prioritized=true"]))
    assert isinstance(cfg.agent, DQNConfig) and cfg.agent.n_step == 5 and cfg.agent.prioritized


BAD = [
    (["env.height=1"], "env.height"),
    (["env.width=0"], "env.width"),
    (["env.n_enemies=200"], "env.n_food + env.n_enemies"),
    (["env.n_food=0"], "env.n_food"),
    (["env.max_steps=-1"], "env.max_steps"),
    (["env.actions=king"], "env.actions"),
    (["env.enemy_motion=teleport"], "env.enemy_motion"),
    (["env.food_motion=chase"], "env.food_motion"),
    (["env.on_food=explode"], "env.on_food"),
    (["env.obs_mode=depth"], "env.obs_mode"),
    (["env.slip=1.5"], "env.slip"),
    (["env.player_color=[1,2]"], "env.player_color"),
    (["agent.gamma=1.5"], "agent.gamma"),
    (["agent.lr=0"], "agent.lr"),
    (["agent.loss=l1"], "agent.loss"),
    (["agent.epsilon.schedule=cosine"], "agent.epsilon.schedule"),
    (["agent.epsilon.end=2"], "agent.epsilon.end"),
    (["agent.q_lambda=-0.1"], "agent.q_lambda"),
    (["agent.minibatches=0"], "agent.minibatches"),
    (
        ["agent.reward.clip=true", "agent.reward.clip_low=1", "agent.reward.clip_high=0"],
        "agent.reward.clip_low",
    ),
    (["agent=dqn", "agent.batch_size=200000"], "agent.batch_size"),
    (["agent=dqn", "agent.tau=0"], "agent.tau"),
    (["agent=dqn", "agent.n_step=0"], "agent.n_step"),
    (["agent=dqn", "agent.learning_starts=10000", "trainer.total_steps=100"], "agent.learning_starts"),
    (["model.layers=[]"], "model.layers"),
    (["model.layers.0.type=spline"], "model.layers[0].type"),
    (["model.layers.0.channels=0"], "model.layers[0].channels"),
    (["trainer.total_steps=-1"], "trainer.total_steps"),
    (
        ["agent.reward.clip=sometimes"],
        "agent.reward.clip='sometimes' is not allowed; choose one of true, false, auto",
    ),
    (["trainer.keep_checkpoints=0"], "trainer.keep_checkpoints"),
    (["device=tpu"], "device"),
    (["++agent.learning_starts=512"], "agent.learning_starts is not a key of PQNConfig"),  # force-added
    (["++model.layers.0.width=3"], "model.layers[0].width"),
    # keys that nothing would read are refused (tests/test_knobs.py: every accepted key changes the run)
    (["agent.batch_size=7"], "agent.batch_size is not a key of PQNConfig; only the dqn learner reads it"),
    (["agent=dqn", "agent.q_lambda=0.5"], "agent.q_lambda is not a key of DQNConfig"),
    (["agent.epsilon.eval=0.1"], "it is trainer.eval_epsilon now"),
    (["agent.name=dqn"], "agent.name=dqn does not switch the learner"),
    (["agent=dqn", "agent.per_alpha=0.3"], "agent.per_alpha=0.3 is read only when agent.prioritized=true"),
    (["agent.reward.clip=false", "agent.reward.clip_high=2"], "agent.reward.clip_high=2.0 is read only when"),
    (
        ["agent.rollout_steps=1", "agent.q_lambda=0.9"],
        "agent.q_lambda=0.9 is read only when agent.rollout_steps",
    ),
    (["trainer.eval_epsilon=2"], "trainer.eval_epsilon"),
    (["trainer.save_replay=false"], "trainer.save_replay=False is read only when the learner keeps a replay"),
]


@pytest.mark.parametrize(("overrides", "key"), BAD, ids=[" ".join(o) for o, _ in BAD])
def test_bad_values_name_the_key(overrides: list[str], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        to_config(compose_cfg(overrides))
    msg = str(err.value)
    assert key in msg and "\n" not in msg


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["env.height=1"], "env.height"),
        (["agent.lr=abc"], "agent.lr"),
        (["env=nope"], "Available options"),
        (["model.layers.0.kernel=30"], "below 1x1"),
        (["env.obs_mode=foo"], "rgb, planes, ego"),
        (["agent.lrr=1"], "did you mean agent.lr?"),
        # sweeps: Hydra composes the config without the swept values first; so does the CLI, and says
        # how to pass a key that only some of the swept presets have
        (["-m", "seed=0,1", "agent.lr=abc"], "agent.lr"),
        (["-m", "agent=dqn,dqn_fast", "agent.learning_starts=1000"], "write ++agent.learning_starts=1000"),
    ],
)
def test_cli_bad_input_is_one_line_and_writes_nothing(tmp_path, args: list[str], needle: str) -> None:
    proc = subprocess.run([GRIDRL, "train", *args], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gridrl: error:") and needle in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []  # no run dir was created


def test_cli_cfg_job_prints_the_composed_config(tmp_path) -> None:
    proc = subprocess.run(
        [GRIDRL, "train", "--cfg", "job", "env=seed", "agent.lr=0.001"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "height: 15" in proc.stdout and "lr: 0.001" in proc.stdout


def test_a_saved_config_of_an_earlier_version_loads_with_its_retired_keys_moved() -> None:
    from omegaconf import OmegaConf

    from gridrl.config import typed_node

    saved = OmegaConf.to_container(compose_cfg(["agent.n_envs=32"]))
    saved["agent"]["batch_size"] = 512  # what pqn runs wrote before batch_size became dqn's alone
    saved["agent"]["epsilon"]["eval"] = 0.1
    cfg = to_config(typed_node(OmegaConf.create(saved)))
    assert cfg.agent.n_envs == 32 and not hasattr(cfg.agent, "batch_size")
    assert cfg.trainer.eval_epsilon == 0.1


@pytest.mark.parametrize(
    ("overrides", "clip", "budget"),
    [
        ([], "true", 3_000_000),  # the default game: static enemy, the episode ends on its food
        (["env.enemy_motion=chase"], "true", 3_000_000),  # one food per episode: clipping learns faster
        (["env.n_food=3", "env.on_food=remove"], "true", 3_000_000),  # static enemies: always avoidable
        (["env=crowded"], "false", 10_000_000),  # respawning food, random-walking enemies
        (["env.n_food=3", "env.on_food=remove", "env.slip=0.1"], "false", 10_000_000),
        (
            ["env=crowded", "agent.reward.clip=true", "trainer.total_steps=5000"],
            "true",
            5_000,
        ),  # explicit wins
        (["env=crowded", "agent=dqn"], "false", 10_000_000),
        (["experiment=minatar_breakout"], "false", None),  # other families: their presets decide
        (["env.height=20", "env.width=20"], "true", 3_000_000 * 400 // 225),  # the steps per cell of 15x15
        (
            ["env.height=25", "env.width=30", "env.enemy_motion=chase", "env.on_food=respawn"],
            "false",
            10_000_000 * 750 // 225,
        ),
    ],
)
def test_auto_clip_and_budget_follow_the_game(overrides: list[str], clip: str, budget: int | None) -> None:
    cfg = to_config(compose_cfg(overrides))
    assert cfg.agent.reward.clip == clip
    if budget is not None:
        assert cfg.trainer.total_steps == budget
    assert cfg.trainer.total_steps > 0
