"""gridrl: Deep Q-learning from pixels on grid games, driven by Hydra configs."""

__version__ = "0.1.0"
