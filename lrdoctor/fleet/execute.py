"""Read and analyse many runs on every core, on a Dask cluster, or from the cache: one path for the CLI and the app.

:func:`analyze_paths` and :func:`load_paths` walk the PATHs (local folders or fsspec URLs), make one
task per run unit (:mod:`.tasks`), take what the cache already holds, run the rest in a local
process pool (``jobs``, default all cores) or on a Dask cluster (``scheduler``), and put the
results back in walk order. What needs several runs at once (names told apart, sweeps) is done
afterwards on the whole set, so the result is exactly what a serial run gives, in the same order.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, Iterator, Sequence

from lrdoctor.analysis import Analysis, RunAnalysis, compare_runs
from parsers import RunList
from parsers.loader import name_runs

from .cache import ResultCache
from .tasks import Source, Task, TaskResult, plan, run_task

# progress(done, total, what): tasks finished out of all tasks, and the run unit just finished.
Progress = Callable[[int, int, str], None]
# Tasks per pool chunk: each worker takes about this many chunks over the run, which keeps all
# cores busy to the end while sending one message per several small runs instead of one per run.
CHUNKS_PER_WORKER = 8
# Below this much estimated work, starting worker processes (about a second: a fresh interpreter
# importing pandas and SciPy) costs more than the other cores save, so the default runs in-process.
POOL_MIN_WORK_S = 1.5
# The estimate: analysing one run takes ~0.1 s (a 2k-point run; issue #14 measured 0.15 s) ...
EST_TASK_S = 0.1
# ... and the readers go through ~50 MB of logs a second.
EST_BYTES_PER_S = 50e6
# Modules a pool worker needs, imported once by the fork server instead of once per worker.
WORKER_PRELOAD = ("lrdoctor.fleet.tasks", "lrdoctor.analysis.run_analysis", "scipy.signal", "parsers.tensorboard")


def default_jobs() -> int:
    """All the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _pool_context() -> multiprocessing.context.BaseContext:
    # A forked child inherits the parent's threads' locks (the app's Qt and worker threads):
    # start workers from a clean interpreter instead.
    if sys.platform.startswith("linux"):
        context = multiprocessing.get_context("forkserver")
        # The server imports the readers and the analysis once; each worker forks from it warm.
        context.set_forkserver_preload(list(WORKER_PRELOAD))
        return context
    return multiprocessing.get_context("spawn")


def _serial(tasks: Sequence[Task]) -> Iterator[TaskResult]:
    for task in tasks:
        yield run_task(task)


def _pool(tasks: Sequence[Task], jobs: int) -> Iterator[TaskResult]:
    chunk = max(1, len(tasks) // (jobs * CHUNKS_PER_WORKER))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=_pool_context()) as pool:
        yield from pool.map(run_task, tasks, chunksize=chunk)


def _dask(tasks: Sequence[Task], scheduler: Any) -> Iterator[TaskResult]:
    try:
        from distributed import Client
    except ImportError as exc:
        raise RuntimeError(
            'a Dask scheduler needs the cluster extra: pip install "lrdoctor[cluster]"'
        ) from exc
    own = not isinstance(scheduler, Client)
    client = Client(scheduler) if own else scheduler
    try:
        futures = client.map(run_task, list(tasks), pure=False)
        for future in futures:  # in task order; the cluster runs them all meanwhile
            yield future.result()
            future.release()
    finally:
        if own:
            client.close()


def _worth_a_pool(tasks: Sequence[Task]) -> bool:
    size = sum(max(0, stamp[1]) for t in tasks for stamp in t.stamps)
    return len(tasks) * EST_TASK_S + size / EST_BYTES_PER_S >= POOL_MIN_WORK_S


def run_tasks(
    tasks: Sequence[Task],
    *,
    jobs: int | None = None,
    scheduler: Any = None,
    cache: ResultCache | None = None,
    progress: Progress | None = None,
) -> list[TaskResult]:
    """Every task's result, in task order: cached ones taken, the rest computed and cached.

    ``scheduler`` (a ``tcp://host:8786`` address or a ``distributed.Client``) sends one task per
    run unit to a Dask cluster; otherwise ``jobs`` processes (1 = in this process; default: all
    cores, or in this process when the work is too small to pay for starting workers). Cache hits
    are never sent anywhere.
    """
    results: list[TaskResult | None] = [None] * len(tasks)
    todo: list[int] = []
    for i, task in enumerate(tasks):
        hit = cache.get(task) if cache is not None else None
        if hit is None:
            todo.append(i)
        else:
            results[i] = hit
    done = len(tasks) - len(todo)
    if progress is not None and done:
        progress(done, len(tasks), "cached")
    pending = [tasks[i] for i in todo]
    if jobs is None:
        jobs = default_jobs() if _worth_a_pool(pending) else 1
    jobs = max(1, int(jobs))
    if scheduler is not None:
        stream = _dask(pending, scheduler)
    elif jobs == 1 or len(pending) <= 1:
        stream = _serial(pending)
    else:
        stream = _pool(pending, min(jobs, len(pending)))
    for i, result in zip(todo, stream):
        results[i] = result
        if cache is not None:
            cache.put(tasks[i], result)
        done += 1
        if progress is not None:
            progress(done, len(tasks), tasks[i].unit.folder)
    return [r for r in results if r is not None]


def _gather(
    sources: Sequence[Source], tasks: Sequence[Task], results: Sequence[TaskResult]
) -> tuple[RunList, list[RunAnalysis | None]]:
    """Runs and analyses in serial order: by PATH, then by each run's first file in the walk."""
    runs = RunList()
    analyses: list[RunAnalysis | None] = []
    for index, source in enumerate(sources):
        mine = [r.placed(t.unit) for t, r in zip(tasks, results) if t.source == index]
        rows = sorted(((i, run, a) for r in mine for (i, run), a in zip(r.runs, r.analyses)),
                      key=lambda row: row[0])
        found = RunList([run for _, run, _ in rows])
        name_runs(found)  # told apart within one PATH, as parsers.load does
        warnings = list(source.problems)
        warnings += [w for _, w in sorted((w for r in mine for w in r.warnings), key=lambda x: x[0])]
        if source.walked and not found and not warnings:
            warnings.append(source.nothing_found())
        runs.extend(found)
        runs.warnings.extend(warnings)
        analyses.extend(a for _, _, a in rows)
    return runs, analyses


def load_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    roles: dict[str, str] | None = None,
    jobs: int | None = None,
    scheduler: Any = None,
    cache: bool | ResultCache = True,
    storage_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> RunList:
    """Every run under ``paths`` (folders, files or fsspec URLs), as ``parsers.load`` on each in turn.

    Reading is spread over ``jobs`` processes (default all cores) or a Dask ``scheduler``; unchanged
    run units come from the cache (``cache=False`` reads everything again).
    """
    paths = [os.fspath(p) for p in paths]
    tasks, sources = plan(paths, roles=roles, analyze=False, storage_options=storage_options)
    results = run_tasks(tasks, jobs=jobs, scheduler=scheduler, cache=_cache(cache), progress=progress)
    return _gather(sources, tasks, results)[0]


def analyze_paths(
    paths: Sequence[str | os.PathLike[str]],
    *,
    roles: dict[str, str] | None = None,
    jobs: int | None = None,
    scheduler: Any = None,
    cache: bool | ResultCache = True,
    storage_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> Analysis:
    """Load and analyse every run under ``paths``: the same :class:`Analysis` as
    ``analyze(runs, warnings=runs.all_warnings())`` on ``load_paths``, computed on every core.

    Each run is read and analysed by the worker that has its files; sweeps (which need all their
    members) are grouped afterwards on the whole set. Costs are not priced here
    (``lrdoctor.cost.estimate_costs`` does that with the user's settings).
    """
    paths = [os.fspath(p) for p in paths]
    tasks, sources = plan(paths, roles=roles, analyze=True, storage_options=storage_options)
    results = run_tasks(tasks, jobs=jobs, scheduler=scheduler, cache=_cache(cache), progress=progress)
    runs, analyses = _gather(sources, tasks, results)
    done = [a for a in analyses if a is not None]
    return compare_runs([a.run for a in done], done, warnings=runs.all_warnings())


def _cache(cache: bool | ResultCache) -> ResultCache | None:
    if isinstance(cache, ResultCache):
        return cache
    return ResultCache() if cache else None


__all__ = ["Progress", "analyze_paths", "default_jobs", "load_paths", "run_tasks"]
