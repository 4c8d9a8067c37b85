"""forecast: Bayesian hierarchical forecasts of serious violence linked to Class A drug availability."""
