"""Training and evaluation: behaviour cloning from human labels, PPO fine-tuning, evaluation and reports.

==================  ==========================================================================================
``bc``              ``train_bc``: a MaskablePPO policy cloned from a dataset's human labels (masked CE)
``ppo``             ``train_ppo``: MaskablePPO on RugsReplay-v0 (a dataset's train games) or RugsSim-v0
``baselines``       the policies evaluated beside an agent: random masked, always hold, the recorded human
``evaluate``        ``evaluate``: every held-out game, deterministic, per-game results and aggregates
``metrics``         label accuracy; mean, IQM with bootstrap CI (scipy), win rate, human-normalised score
``report``          the report folder: Markdown, CSV, JSON and PNG plots (matplotlib, Agg)
==================  ==========================================================================================

torch, stable-baselines3 and sb3-contrib (the ``train`` extra) are imported inside the functions that need
them, so importing this package is cheap.
"""
