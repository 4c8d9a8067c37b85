"""Time the default fit on the simulated 43-force panel beside the shared reference yardstick.

Prints wall time, min bulk ESS (over every posterior variable), ESS per second, max R-hat and
divergences for our default spec, then runs ../shared/bench/reference_model.py on the same panel size
in the same run and prints the ratio of ESS per second (ours / reference). Both use ESS/s = min bulk
ESS / total seconds (model build + compilation + sampling), the reference's own definition.

It also prints each spec's gradient cost (microseconds per log-density + gradient evaluation, timed
on the compiled model) and gradients per draw (leapfrog steps per draw, from the sampler's statistics),
which split ESS/s into cost per gradient and gradients per effective draw; `--compare default` fits a
second spec once for those figures.

The yardstick's min ESS is noisy (56 to 81 over two runs with its default seed), so `--repeats N`
alternates the two N times (the reference with seeds 1..N) and reports the ratio of the median ESS/s.

    python benchmarks/bench_default_fit.py                 # 43 x 48, reference with PyMC NUTS
    python benchmarks/bench_default_fit.py --repeats 3     # the figure quoted in the README
    python benchmarks/bench_default_fit.py --spec latent --repeats 3 --compare default
    python benchmarks/bench_default_fit.py --reference-sampler nutpie --out bench.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from forecast.core.forces import force_register
from forecast.diagnostics import diagnostics_table, summarise_diagnostics
from forecast.fit import fit, package_versions, sampler_settings
from forecast.posterior import effects_table
from forecast.simulate import simulate_panel
from forecast.spec import load_spec

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "bench" / "reference_model.py"


def gradient_seconds(panel, spec, n: int = 300) -> float:
    """Seconds per log-density + gradient evaluation of the compiled model (median of 3 batches)."""
    import numpy as np

    from forecast.model import build_model

    model, _ = build_model(panel, spec)
    fn = model.logp_dlogp_function(ravel_inputs=True)
    fn.set_extra_values({})
    x = np.concatenate([np.ravel(v) for v in model.initial_point(random_seed=1).values()])
    fn(x)  # warm up
    batches = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            fn(x)
        batches.append((time.perf_counter() - start) / n)
    return statistics.median(batches)


def gradients_per_draw(tree) -> float:
    """Mean leapfrog steps per draw (each is one gradient evaluation)."""
    stats = tree["sample_stats"]
    for name in ("n_steps", "tree_size"):
        if name in stats:
            return float(stats[name].mean())
    return float("nan")


def run_ours(n_forces: int, n_periods: int, seed: int, spec_name: str) -> dict:
    """Fit the spec on a simulated panel and return the figures."""
    forces = list(force_register()["force"])[:n_forces]
    sim = simulate_panel(n_periods=n_periods, forces=forces, seed=seed)
    spec = load_spec(spec_name)
    grad_s = gradient_seconds(sim["panel"].to_dataset(), spec)
    start = time.perf_counter()
    tree = fit(sim["panel"].to_dataset(), spec, sampler_settings(spec), progress=False)
    total = time.perf_counter() - start
    table = diagnostics_table(tree)
    s = summarise_diagnostics(tree, table)
    eff = effects_table(tree, truth=sim["truth"].to_dataset())
    return {
        "model": f"forecast {spec_name}",
        "total_s": round(total, 1),
        "sampling_s": round(float(tree.attrs["sampling_seconds"]), 1),
        "min_bulk_ess": round(s.min_ess_bulk, 1),
        "min_bulk_ess_variable": s.worst_variable,
        "min_bulk_ess_availability": round(s.min_ess_bulk_key, 1),
        "max_rhat": round(s.max_rhat, 4),
        "divergences": s.divergences,
        "ess_per_s": round(s.min_ess_bulk / total, 3),
        "gradient_us": round(grad_s * 1e6, 1),
        "gradients_per_draw": round(gradients_per_draw(tree), 1),
        "effects_covered_90": [bool(x) for x in eff["covered"]],
        "chains": s.chains,
        "draws": s.draws,
    }


def run_reference(n_forces: int, n_periods: int, sampler: str, seed: int = 1) -> dict | None:
    """Run the shared yardstick in a subprocess; None when it is not available."""
    if not REFERENCE.exists():
        print(f"reference yardstick not found at {REFERENCE}: skipping the ratio")
        return None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ref.json"
        cmd = [
            sys.executable,
            str(REFERENCE),
            "--F",
            str(n_forces),
            "--T",
            str(n_periods),
            "--sampler",
            sampler,
            "--seed",
            str(seed),
            "--out",
            str(out),
        ]
        subprocess.run(cmd, check=True, capture_output=True, text=True)
        res = json.loads(out.read_text())
    return {
        "model": f"reference ({sampler})",
        "total_s": round(res["total_s"], 1),
        "sampling_s": round(res["sampling_s"], 1),
        "min_bulk_ess": round(res["min_bulk_ess"], 1),
        "max_rhat": round(res["max_rhat"], 4),
        "divergences": res["divergences"],
        "ess_per_s": round(res["ess_per_s"], 3),
        "chains": res["chains"],
        "draws": res["draws"],
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--forces", type=int, default=43)
    ap.add_argument("--periods", type=int, default=48)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--spec", default="default")
    ap.add_argument(
        "--reference-sampler", default="pymc", choices=["pymc", "nutpie", "numpyro_pm", "numpyro"]
    )
    ap.add_argument("--skip-reference", action="store_true")
    ap.add_argument(
        "--repeats", type=int, default=1, help="alternate ours and the reference N times"
    )
    ap.add_argument("--out", type=Path, help="also write the figures as JSON here")
    ap.add_argument("--compare", help="fit this second spec once for its gradient figures")
    a = ap.parse_args(argv)

    rows = []
    for i in range(a.repeats):
        rows.append(run_ours(a.forces, a.periods, a.seed, a.spec))
        if not a.skip_reference:
            ref = run_reference(a.forces, a.periods, a.reference_sampler, seed=i + 1)
            if ref:
                rows.append(ref)
    if a.compare:
        rows.append(run_ours(a.forces, a.periods, a.seed, a.compare))
    cols = [
        "model",
        "total_s",
        "sampling_s",
        "min_bulk_ess",
        "max_rhat",
        "divergences",
        "ess_per_s",
        "gradient_us",
        "gradients_per_draw",
        "chains",
        "draws",
    ]
    print(
        f"panel: {a.forces} forces x {a.periods} quarters (2 cores here; compare ratios, not seconds)"
    )
    print(" | ".join(cols))
    for r in rows:
        print(" | ".join(str(r.get(c, "")) for c in cols))
    ours = [r for r in rows if r["model"] == f"forecast {a.spec}"]
    refs = [r for r in rows if not r["model"].startswith("forecast")]
    print(
        f"ours: min bulk ESS on {ours[0]['min_bulk_ess_variable']}; availability-effect ESS "
        f"{ours[0]['min_bulk_ess_availability']}; effects inside 90% intervals: "
        f"{ours[0]['effects_covered_90']}"
    )
    result = {"rows": rows, "versions": package_versions()}
    if refs:
        mine = statistics.median(r["ess_per_s"] for r in ours)
        theirs = statistics.median(r["ess_per_s"] for r in refs)
        ratio = mine / theirs
        result["ess_per_s_ratio"] = round(ratio, 2)
        each = ", ".join(
            f"{o['ess_per_s'] / r['ess_per_s']:.1f}x" for o, r in zip(ours, refs, strict=False)
        )
        print(
            f"ESS/s ratio (ours / reference {a.reference_sampler}), median of {len(refs)} run(s): "
            f"{ratio:.1f}x" + (f" (each run: {each})" if len(refs) > 1 else "")
        )
    if a.out:
        a.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
