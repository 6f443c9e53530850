"""The grid game: batched rules, oracle, rendering, gymnasium adapter."""

from gridrl.game.grid import ACTION_TABLES, OUTCOME_NAMES, GridGame, n_actions, obs_shape

__all__ = ["ACTION_TABLES", "OUTCOME_NAMES", "GridGame", "n_actions", "obs_shape"]
