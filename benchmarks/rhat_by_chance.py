"""How often a converged chain misses the R-hat gate by chance, at a given bulk ESS.

Draws stationary AR(1) chains (started in the stationary law, so perfectly converged), with the
autocorrelation set for a target ESS, and prints ArviZ's rank-normalised split R-hat: its median,
the share of parameters above the gate, and the largest over all of them. With the slowest
parameters of a fit near ESS 500, a max R-hat just above 1.01 is then what chance alone gives.

    python benchmarks/rhat_by_chance.py --ess 400 500 800 1200 --params 2000
"""

from __future__ import annotations

import argparse

import arviz as az
import numpy as np
import xarray as xr


def converged_chains(ess: float, params: int, chains: int, draws: int, rng) -> xr.Dataset:
    """`params` independent AR(1) parameters whose chains have effective sample size about `ess`."""
    q = ess / (chains * draws)
    rho = (1 - q) / (1 + q)  # ESS = N (1 - rho) / (1 + rho)
    shocks = rng.normal(size=(params, chains, draws)) * np.sqrt(1 - rho**2)
    x = np.empty_like(shocks)
    x[..., 0] = rng.normal(size=(params, chains))
    for t in range(1, draws):
        x[..., t] = rho * x[..., t - 1] + shocks[..., t]
    return xr.Dataset({"x": (("param", "chain", "draw"), x)}).transpose("chain", "draw", "param")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ess", type=float, nargs="+", default=[400, 500, 800, 1200])
    parser.add_argument("--params", type=int, default=2000)
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--draws", type=int, default=1500)
    parser.add_argument("--gate", type=float, default=1.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"{args.chains} chains x {args.draws} draws, {args.params} parameters, gate {args.gate}")
    print("target ESS  median ESS  median R-hat  share > gate  max R-hat")
    for ess in args.ess:
        ds = converged_chains(ess, args.params, args.chains, args.draws, rng)
        rhat, got = az.rhat(ds)["x"].values, az.ess(ds)["x"].values
        print(
            f"{ess:10.0f}  {np.median(got):10.0f}  {np.median(rhat):12.4f}  "
            f"{np.mean(rhat > args.gate):12.3f}  {rhat.max():9.4f}"
        )


if __name__ == "__main__":
    main()
