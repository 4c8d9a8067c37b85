"""Evaluation: scores, baselines, the rolling-origin backtest and the comparison of fits."""
