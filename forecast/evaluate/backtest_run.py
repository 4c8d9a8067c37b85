"""Running a backtest as one output transaction, resumable.

Everything is checked first (settings, spec, scheduler address and a quick connection), then the
output folder is locked. A run with the settings stored in the folder (or into a new folder) resumes:
each finished origin is checkpointed into ``origins/`` at once (and recorded in the marker file), so
a killed run loses only unfinished origins. A ``--force`` run with other settings builds the new
backtest beside the old one, which stays whole until the new one is complete. The summaries and the
origins are swapped in together at the end.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd

from forecast.core.io import write_atomic
from forecast.core.outlock import output_lock
from forecast.core.transaction import FolderTransaction, read_marker, write_marker
from forecast.evaluate.backtest import (
    BacktestConfig,
    BacktestError,
    load_scores,
    origin_file,
    origin_gates,
    relative_crps,
    run_origin,
    summarise,
)

CONFIG = "backtest.json"
CONNECT_TIMEOUT = 5.0  # seconds to reach a scheduler before giving up


def check_scheduler(address: str | None) -> None:
    """Refuse a scheduler address that is not tcp://HOST:PORT or that does not answer quickly."""
    if address is None:
        return
    try:
        parts = urlsplit(address)
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
        parts = None
    if parts is None or parts.scheme not in ("tcp", "tls") or not host or not port:
        raise BacktestError(
            f"--scheduler {address[:100]!r}: give the address of a running dask scheduler, "
            "tcp://HOST:PORT"
        )
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise BacktestError(
            f"--scheduler {address}: no scheduler answers there within {CONNECT_TIMEOUT:g} s "
            f"({exc.strerror or type(exc).__name__}); start it or fix the address"
        ) from None


def local_layout(n_origins: int, chains: int, cpus: int | None = None) -> tuple[int, int]:
    """(workers, cores per fit) for a local cluster: every core busy all the time. One core per fit
    when origins outnumber cores, since compiling, forecasting and the baselines use one core while
    sampling uses as many as there are chains: two one-core workers on 2 cores keep the second core
    busy where one two-core worker left it idle about a sixth of each origin (README "Evaluation")."""
    cpus = max(1, cpus or os.cpu_count() or 1)
    per_fit = max(1, min(chains, cpus // max(1, n_origins)))
    return max(1, min(n_origins, cpus // per_fit)), per_fit


def _client(scheduler: str | None, workers: int = 1):
    """A Dask client: the given scheduler, or a LocalCluster of `workers` one-thread processes."""
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=f"{2 * CONNECT_TIMEOUT:g}s"), None
        except Exception as exc:  # a wrong service there fails in many ways (even MemoryError)
            raise BacktestError(
                f"--scheduler {scheduler}: no dask scheduler answers there "
                f"({type(exc).__name__}); start it or fix the address"
            ) from None
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    return Client(cluster), cluster


def _stored(tx: FolderTransaction) -> dict | None:
    """The settings of the backtest forecast wrote in the target, if any."""
    if tx.owned.get(CONFIG) != "backtest":
        return None
    try:
        return json.loads((tx.target / CONFIG).read_text())
    except (OSError, ValueError):
        return None


def _checkpoint(target: Path, rel: str, src: Path) -> None:
    """Put a finished origin into the target at once and record it in the marker."""
    dst = target / rel
    dst.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(dst, lambda tmp: tmp.write_bytes(src.read_bytes()), True)
    write_marker(target, {**read_marker(target), rel: "backtest"})


def _prepare(tx: FolderTransaction, config: BacktestConfig, overwrite: bool) -> bool:
    """Check the stored settings, seed the staging folder; True when origins are checkpointed."""
    wanted = json.loads(json.dumps(asdict(config)))
    stored = _stored(tx)
    if stored is not None and stored != wanted and not overwrite:
        changed = sorted(k for k in wanted if stored.get(k) != wanted.get(k))
        raise BacktestError(
            f"{tx.target} holds a backtest with other settings ({', '.join(changed)} differ): "
            "choose another --out, or pass --force to start it again"
        )
    text = json.dumps(wanted, indent=2)
    (tx.staging / CONFIG).write_text(text)
    if stored == wanted:
        for rel, cmd in tx.owned.items():
            if cmd == "backtest" and rel.startswith("origins/"):
                (tx.staging / "origins").mkdir(exist_ok=True)
                os.link(tx.target / rel, tx.staging / rel)
        return not tx.foreign
    if stored is None and not tx.owned and not tx.foreign:
        tx.target.mkdir(parents=True, exist_ok=True)  # new: checkpoints go there from the start
        (tx.target / CONFIG).write_text(text)
        write_marker(tx.target, {CONFIG: "backtest"})
        return True
    return False


def _run_pending(stage, target, config, panel_path, scheduler, checkpoint, on_done) -> None:
    from distributed import as_completed

    pending = [o for o in config.origins if not origin_file(stage, o).exists()]
    done = len(config.origins) - len(pending)
    if not pending:
        return
    n = len(pending)
    workers, cores = 1, None  # a remote worker's fit uses the cores of its machine
    if not scheduler:
        from forecast.fit import sampler_settings
        from forecast.spec import load_spec

        chains = sampler_settings(load_spec(config.spec), chains=config.chains).chains
        workers, cores = local_layout(n, chains)
    client, cluster = _client(scheduler, workers)
    try:
        futures = client.map(
            run_origin, [panel_path] * n, [config] * n, pending, [cores] * n, pure=False
        )
        origin_of = {f.key: o for f, o in zip(futures, pending, strict=True)}
        for fut in as_completed(futures):
            frame, origin = fut.result(), origin_of[fut.key]
            path = origin_file(stage, origin)
            path.parent.mkdir(exist_ok=True)
            write_atomic(path, lambda tmp, fr=frame: fr.to_parquet(tmp, index=False), True)
            if checkpoint:
                _checkpoint(target, path.relative_to(stage).as_posix(), path)
            done += 1
            if on_done:
                on_done(origin, done, len(config.origins))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_backtest(
    panel_path: Path,
    config: BacktestConfig,
    out: Path,
    scheduler: str | None = None,
    overwrite: bool = False,
    on_done: Callable[[str, int, int], None] | None = None,
    summaries: Callable[[pd.DataFrame, Path], object] | None = None,
) -> pd.DataFrame:
    """Run (or resume) a backtest into `out`; `summaries(scores, folder)` writes the summary files
    into the staging folder before the swap. Returns the scores of every origin."""
    check_scheduler(scheduler)
    panel_path = Path(panel_path).resolve()
    target = Path(out).resolve()
    tx = FolderTransaction(target, "backtest", overwrite, expect=(CONFIG,), replace_own=True)
    with output_lock(target):
        try:
            stage = tx.begin()
            checkpoint = _prepare(tx, config, overwrite)
            _run_pending(stage, target, config, str(panel_path), scheduler, checkpoint, on_done)
            scores = load_scores(stage)
            if summaries is not None:
                summaries(scores, stage)
            tx.commit()
        finally:
            tx.abort()
    return scores


def _write_csv(df: pd.DataFrame, path: Path, overwrite: bool) -> Path:
    return write_atomic(path, lambda tmp: df.to_csv(tmp, index=False), overwrite)


@dataclass
class BacktestOutputs:
    """Summaries of a backtest's scores and the files they went to."""

    table: pd.DataFrame
    paths: dict[str, Path] = field(default_factory=dict)
    gates: pd.DataFrame | None = None  # per fitted model and origin (`origin_gates`)

    def failed_origins(self) -> list[str]:
        """'model origin (figures)' for every origin whose fit failed its spec's gates."""
        if self.gates is None or not len(self.gates):
            return []
        bad = self.gates[~self.gates["fit_gates_passed"]]
        return [
            f"{r.model} {r.origin} (max R-hat {r.fit_max_rhat:.3f}, min ESS bulk "
            f"{r.fit_min_ess_bulk:.0f} / tail {r.fit_min_ess_tail:.0f}, "
            f"{int(r.fit_divergences)} divergences)"
            for r in bad.itertuples()
        ]


def backtest_outputs(scores: pd.DataFrame, out: Path) -> BacktestOutputs:
    """Write the score tables (all rows; by model x outcome x horizon; by level; CRPS relative to the
    seasonal naive forecast) and the plots; return the model x outcome summary."""
    out = Path(out)
    by_horizon = summarise(scores, ("model", "outcome", "horizon"))
    by_level = summarise(scores, ("model", "area_level", "outcome"))
    table = summarise(scores, ("model", "outcome"))
    from forecast.report.plots import backtest_chart, pit_histograms

    paths = {
        "scores": write_atomic(
            out / "scores.parquet", lambda tmp: scores.to_parquet(tmp, index=False), True
        ),
        "by_horizon": _write_csv(by_horizon, out / "scores_by_horizon.csv", True),
        "by_level": _write_csv(by_level, out / "scores_by_level.csv", True),
        "summary": _write_csv(table, out / "scores_summary.csv", True),
        "crps_chart": backtest_chart(by_horizon, out / "crps_by_horizon.png", True),
        "pit_chart": pit_histograms(scores, out / "pit.png", True),
    }
    if "seasonal_naive" in set(scores["model"]):
        rel = relative_crps(scores, "seasonal_naive")
        paths["relative"] = _write_csv(rel, out / "relative_crps.csv", True)
    gates = origin_gates(scores)
    if len(gates):
        paths["gates"] = _write_csv(gates, out / "origin_gates.csv", True)
    return BacktestOutputs(table, paths, gates)
