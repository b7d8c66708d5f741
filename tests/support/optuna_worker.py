"""A real Optuna optimization in its own process, for tests that watch it live.

    python -m tests.support.optuna_worker STORAGE STUDY KIND --n-trials N [--sleep S]
        [--seed N] [--gate FILE] [--callback-url URL | --callback-redis URL] [--campaign-id ID]
        [--sampler random] [--n-jobs N]

STORAGE: an RDB URL or a journal file path. KIND:

- ``tpe``: one minimized objective (TPE), float/log/int/categorical
  parameters, a ``unit`` user attribute; every trial with ``x > 8`` fails;
- ``nsga2``: two objectives (``cost`` min, ``yield`` max) with NSGA-II and a
  constraint (``set_constraint``); rounded values make ties on the front;
- ``prune``: one objective with intermediate reports and a pruner that
  prunes every third trial at step 3; trials with ``x > 8`` fail;
- ``big``: the parameters and objective of tests/support/optuna_studies.py's
  generated studies, to add trials to one of them.

The study is created (or loaded), ``ready`` is printed, and the trials run.
``--gate FILE``: each trial waits (RUNNING) until FILE exists, so a test can
see running trials. ``--callback-*``: publish through ``MateriaCallback``.
Prints ``done`` at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

import optuna


def storage_of(spec: str) -> Any:
    if "://" in spec:
        return spec
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(spec))


def make_study(spec: str, name: str, kind: str, seed: int, sampler: str = "default") -> optuna.Study:
    storage = storage_of(spec)
    if kind == "nsga2":
        study = optuna.create_study(
            storage=storage,
            study_name=name,
            directions=["minimize", "maximize"],
            sampler=optuna.samplers.NSGAIISampler(seed=seed, population_size=8),
            load_if_exists=True,
        )
        study.set_metric_names(["cost", "yield"])
        study.set_user_attr("units", {"cost": "$", "yield": "%"})
        return study
    pruner = EveryThird() if kind == "prune" else optuna.pruners.NopPruner()
    chosen: optuna.samplers.BaseSampler = (
        optuna.samplers.RandomSampler(seed=seed)
        if sampler == "random"
        else optuna.samplers.TPESampler(seed=seed, n_startup_trials=5)
    )
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        sampler=chosen,
        pruner=pruner,
        load_if_exists=True,
    )
    study.set_user_attr("unit", "eV")
    return study


class EveryThird(optuna.pruners.BasePruner):
    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return trial.number % 3 == 2 and max(trial.intermediate_values, default=0) >= 3


def objective(kind: str, sleep: float, gate: str | None) -> Any:
    def wait() -> None:
        while gate is not None and not os.path.exists(gate):
            time.sleep(0.02)
        time.sleep(sleep)

    def single(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -10, 10)
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        layers = trial.suggest_int("layers", 1, 6)
        polymer = trial.suggest_categorical("polymer", ["PVDF", "PES", "PSf"])
        wait()
        value = (x - 2) ** 2 + layers * lr + (0.5 if polymer == "PES" else 0.0)
        if kind == "prune":
            for step in range(1, 6):
                trial.report(value + 1 / step, step)
                if trial.should_prune():
                    raise optuna.TrialPruned()
        if x > 8:
            raise ValueError("the furnace overheated")
        return value

    def double(trial: optuna.Trial) -> tuple[float, float]:
        x = trial.suggest_float("x", 0, 1)
        y = trial.suggest_float("y", 0, 1)
        wait()
        if hasattr(trial, "set_constraint"):  # Optuna 5
            trial.set_constraint("budget", x + y - 1.3)
        else:  # Optuna 4: what a sampler's constraints_func stores
            trial.storage.set_trial_system_attr(trial._trial_id, "constraints", [x + y - 1.3])
        return round(x + 0.2 * y, 1), round(x * y * 100, -1)

    def like_generated(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -10, 10)
        n = trial.suggest_int("n", 1, 8)
        wait()
        return (x - 2) ** 2 + n

    return {"nsga2": double, "big": like_generated}.get(kind, single)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("storage")
    parser.add_argument("study")
    parser.add_argument("kind", choices=["tpe", "nsga2", "prune", "big"])
    parser.add_argument("--n-trials", type=int, required=True)
    parser.add_argument("--sleep", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gate")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--callback-url")
    parser.add_argument("--callback-redis")
    parser.add_argument("--campaign-id")
    parser.add_argument("--sampler", choices=["default", "random"], default="default")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = make_study(args.storage, args.study, args.kind, args.seed, args.sampler)
    callbacks: list[Any] = []
    if args.callback_url or args.callback_redis:
        from materia_tui.integrations.optuna import MateriaCallback

        callbacks.append(
            MateriaCallback(
                args.callback_url, redis=args.callback_redis, campaign_id=args.campaign_id, n_trials=args.n_trials
            )
        )
    print("ready", flush=True)
    study.optimize(
        objective(args.kind, args.sleep, args.gate),
        n_trials=args.n_trials,
        n_jobs=args.n_jobs,
        catch=(ValueError,),
        callbacks=callbacks,
    )
    for callback in callbacks:
        callback.close()
        if callback.error:
            print(f"callback error: {callback.error}", file=sys.stderr)
            return 1
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
