"""What is published from a fit: forecasts, scenarios, the Drugs Harm Index, the export and the
quarterly publication bundle, each written as one output transaction."""
