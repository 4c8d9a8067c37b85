"""What every stage shares: errors, dim names, periods, the force register, areas, the scale of
availability effects, atomic writes and output transactions, shipped resources."""
