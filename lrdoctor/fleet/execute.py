"""Read and analyse many runs on every core, on a Dask cluster, or from the cache: one path for the CLI and the app.

:func:`analyze_paths` and :func:`load_paths` walk the PATHs (local folders or fsspec URLs), make one
task per run unit (:mod:`.tasks`), take what the cache already holds, run the rest here and in a
local process pool (``jobs``, default all cores) or on a Dask cluster (``scheduler``), several
units per message, and put the results back in walk order. What needs several runs at once (names told apart, sweeps) is done
afterwards on the whole set, so the result is exactly what a serial run gives, in the same order.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence, TypedDict

from lrdoctor.analysis import Analysis, RunAnalysis, compare_runs
from parsers import RunList
from parsers.loader import name_runs

from .cache import ResultCache
from .tasks import Source, Task, TaskResult, plan, run_several

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack from Python 3.11


# progress(done, total, what): tasks finished out of all tasks, and the run unit just finished.
Progress = Callable[[int, int, str], None]


class ReadOptions(TypedDict, total=False):
    """How :func:`load_paths` and :func:`analyze_paths` read the PATHs (every key optional).

    The settings that travel with every task of one call, from the CLI's flags or the app.
    """

    roles: dict[str, str] | None  # tag -> role overrides (``--role TAG=ROLE``)
    jobs: int | None  # processes: this one and jobs - 1 pool workers (default: all cores, when it pays)
    scheduler: Any  # a Dask scheduler address (``tcp://host:8786``) or a ``distributed.Client``
    cache: bool | ResultCache  # True: the user's result cache; False: read everything again
    storage_options: dict[str, Any] | None  # fsspec options for URL PATHs
    progress: Progress | None  # told as each run unit is done

# Work sent to a pool worker per message: about this many seconds of tasks (by their measured cost), so
# the per-message cost (pickling, a pipe round trip) is amortised over several small runs while the last
# chunks still end close together.
CHUNK_WORK_S = 0.25
# Near the end a chunk is at most 1/(this x processes) of the tasks left: the last chunks shrink so
# no process is left alone with a long one while the others wait.
TAIL_SHARES = 2
# ... but never below this much work: a smaller chunk costs more than the balance it buys (a message,
# and a read of a handful of small files, which the shared read passes make ~3x cheaper per file in
# dozens; 2 analysed runs, ~15 runs only read).
MIN_CHUNK_WORK_S = 0.05
# Chunks queued per worker beyond the one it runs: it never waits for the next, and little sits queued
# at the end while this process could have taken it.
QUEUED_PER_WORKER = 1
# A pool is started (by default) once the work left, at the cost measured on the tasks done so far in
# this process, is at least this long: below it, the other cores would not be ready in time to help
# (a worker starts in ~1 s: a fresh interpreter importing pandas, SciPy and the analysis).
POOL_MIN_WORK_S = 1.0
# Tasks done in this process before their measured cost decides about a pool (cost varies per run).
PROBE_TASKS = 3
# Tasks this process takes at a time: about this many seconds of their measured cost (8 analysed
# 2k-point runs, ~60 runs only read). Their small files are read in one go (Reader.read_batch, whose
# shared passes pay more the more files share them), and the pool is looked at between chunks.
LOCAL_CHUNK_WORK_S = 0.2
# Tasks this process takes at a time before any was measured (the serial path's first chunk).
LOCAL_CHUNK = 8
# Chunk size before any task was measured (an explicit --jobs starts the pool at once): a 2k-point
# run is read and analysed in ~25 ms of CPU (benchmarks/fleet.py).
EST_TASK_S = 0.025
# Dask: chunks per worker thread over the run (the cluster balances them; no process of ours helps there).
CHUNKS_PER_WORKER = 8
# Modules a pool worker needs, imported once by the fork server instead of once per worker.
WORKER_PRELOAD = ("lrdoctor.fleet.execute", "lrdoctor.fleet.tasks", "lrdoctor.analysis.run_analysis", "scipy.signal", "parsers.tensorboard")


def default_jobs() -> int:
    """All the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def _pool_context() -> multiprocessing.context.BaseContext:
    """How pool workers start: forked from this process when that is safe, else a clean interpreter.

    A forked child inherits the locks other threads hold at that moment (the app's Qt and worker
    threads), so ``fork`` is used only while this process runs a single thread (the CLI, a script):
    a worker then starts at once with everything imported. Otherwise (and off Linux) workers start
    from a clean interpreter, which takes a while (see :func:`_start_pool`).
    """
    if sys.platform.startswith("linux"):
        if threading.active_count() == 1:
            return multiprocessing.get_context("fork")
        context = multiprocessing.get_context("forkserver")
        # The server imports the readers and the analysis once; each worker forks from it warm.
        context.set_forkserver_preload(list(WORKER_PRELOAD))
        return context
    return multiprocessing.get_context("spawn")


def _serial(tasks: Sequence[Task]) -> Iterator[TaskResult]:
    lo, size, spent = 0, LOCAL_CHUNK, 0.0
    while lo < len(tasks):
        start = time.process_time()
        yield from run_chunk(tasks[lo : lo + size])
        spent += time.process_time() - start
        lo += size
        size = _local_chunk(spent / lo)


def _local_chunk(per_task: float) -> int:
    """Tasks this process takes at a time, at ``per_task`` CPU seconds each (see LOCAL_CHUNK_WORK_S)."""
    return max(1, round(LOCAL_CHUNK_WORK_S / max(per_task, 1e-4)))


def run_chunk(tasks: Sequence[Task]) -> list[TaskResult]:
    """Several tasks in one go (one message to a pool or Dask worker), their small files read ahead
    together (:func:`lrdoctor.fleet.tasks.run_several`)."""
    return run_several(tasks)


def _ready() -> bool:
    """A worker's answer once it has started (its imports done)."""
    return True


def _start_pool(workers: int, context: multiprocessing.context.BaseContext) -> ProcessPoolExecutor:
    """A pool whose workers have started: returns once one of them answered.

    Forked workers start at once. From a clean interpreter it takes a while (the fork server imports
    pandas, SciPy and the analysis before it forks the first worker, and ``submit`` waits for that
    fork), so the default path then calls this in a thread and goes on working meanwhile.
    """
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        pool.submit(_ready).result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    return pool


class _Shared:
    """This process works through the tasks from the front while pool workers take chunks ahead of it.

    With ``auto``, a pool is started (in a thread) only once the work left, at the cost measured
    here so far, pays for one, and chunks are sent only once a worker answered: a pool that is slow
    to start (a loaded machine, slow imports) or cannot start costs this process nothing. Without
    ``auto`` (``jobs`` given) the pool is started at once and waited for: the caller asked for those
    processes. Results come out in task order.
    """

    def __init__(self, tasks: Sequence[Task], jobs: int, auto: bool) -> None:
        self.tasks = tasks
        self.workers = jobs - 1  # this process is one of the jobs
        self.auto = auto
        self.spent = 0.0  # CPU seconds of the tasks run here
        self.measured = 0

    def _per_task(self) -> float:
        return self.spent / self.measured if self.measured else EST_TASK_S

    def _tail(self, left: int) -> int:
        """The most tasks one chunk may take of the ``left`` not handed out (TAIL_SHARES, MIN_CHUNK_WORK_S)."""
        least = max(1, round(MIN_CHUNK_WORK_S / max(self._per_task(), 1e-4)))
        return max(least, left // (TAIL_SHARES * (self.workers + 1)))

    def _pays(self, left: int) -> bool:
        return self.measured >= PROBE_TASKS and self._per_task() * left >= POOL_MIN_WORK_S

    def __iter__(self) -> Iterator[TaskResult]:
        tasks, n = self.tasks, len(self.tasks)
        results: dict[int, TaskResult] = {}
        inflight: dict[Future, tuple[int, int]] = {}
        taken = emitted = 0  # tasks handed out (here or to the pool); results given back, in order
        pool: ProcessPoolExecutor | None = None
        starter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lrdoctor-pool-start")
        booting: Future | None = None
        try:
            while emitted < n:
                if pool is None and booting is None and self.workers > 0 and taken < n and (
                        not self.auto or self._pays(n - taken)):
                    context = _pool_context()
                    if context.get_start_method() == "fork" or not self.auto:
                        pool = _start_pool(self.workers, context)  # at once, or asked for: waited for
                    else:
                        booting = starter.submit(_start_pool, self.workers, context)
                if booting is not None and booting.done():
                    # a pool that could not start (no fork server, a broken install): the rest here
                    pool = booting.result() if booting.exception() is None else None
                    booting, self.workers = None, self.workers if pool is not None else 0
                if pool is not None:
                    while taken < n and len(inflight) < self.workers * (1 + QUEUED_PER_WORKER):
                        # smaller towards the end (a share of what is left), so every process ends together
                        chunk = min(round(CHUNK_WORK_S / max(self._per_task(), 1e-3)), self._tail(n - taken))
                        lo, hi = taken, min(n, taken + chunk)
                        inflight[pool.submit(run_chunk, tasks[lo:hi])] = (lo, hi)
                        taken = hi
                for future in [f for f in inflight if f.done()]:
                    lo, hi = inflight.pop(future)
                    results.update(zip(range(lo, hi), future.result()))
                while emitted in results:
                    yield results.pop(emitted)
                    emitted += 1
                if emitted >= n:
                    break
                if taken < n:  # this process takes the next few tasks itself
                    lo = taken
                    size = 1 if self.measured < PROBE_TASKS else _local_chunk(self._per_task())
                    if pool is not None:  # a share of what is left, as the pool's chunks
                        size = min(size, self._tail(n - taken))
                    taken = min(n, lo + size)
                    start = time.process_time()
                    results.update(zip(range(lo, taken), run_chunk(tasks[lo:taken])))
                    self.spent += time.process_time() - start
                    self.measured += taken - lo
                else:  # everything handed out: wait for the pool's part
                    wait(list(inflight), return_when=FIRST_COMPLETED)
        finally:
            if booting is not None:  # still starting: shut it down once started, without waiting here
                booting.add_done_callback(
                    lambda f: f.exception() is None and f.result().shutdown(wait=False, cancel_futures=True))
            starter.shutdown(wait=False)
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)


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
        threads = max(1, sum(client.nthreads().values()))
        size = max(1, -(-len(tasks) // (threads * CHUNKS_PER_WORKER)))
        chunks = [list(tasks[lo : lo + size]) for lo in range(0, len(tasks), size)]
        futures = client.map(run_chunk, chunks, pure=False)
        for future in futures:  # in task order; the cluster runs them all meanwhile
            yield from future.result()
            future.release()
    finally:
        if own:
            client.close()


def run_tasks(
    tasks: Sequence[Task],
    *,
    jobs: int | None = None,
    scheduler: Any = None,
    cache: ResultCache | None = None,
    progress: Progress | None = None,
) -> list[TaskResult]:
    """Every task's result, in task order: cached ones taken, the rest computed and cached.

    ``scheduler`` (a ``tcp://host:8786`` address or a ``distributed.Client``) sends the tasks to a
    Dask cluster, several run units per message; otherwise ``jobs`` processes: this one and
    ``jobs - 1`` pool workers (1 = in this process only; default: all cores, the workers started
    only once the cost measured on the first tasks says the work left pays for them). Cache hits
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
    auto = jobs is None
    jobs = default_jobs() if auto else max(1, int(jobs))
    if scheduler is not None:
        stream: Iterable[TaskResult] = _dask(pending, scheduler)
    elif jobs == 1 or len(pending) <= 1:
        stream = _serial(pending)
    else:
        stream = _Shared(pending, min(jobs, len(pending)), auto)
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


def _read(
    paths: Sequence[str | os.PathLike[str]],
    analyze: bool,
    *,
    roles: dict[str, str] | None = None,
    jobs: int | None = None,
    scheduler: Any = None,
    cache: bool | ResultCache = True,
    storage_options: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> tuple[RunList, list[RunAnalysis | None]]:
    """Plan, run (or take from the cache) and gather the tasks of ``paths``: the one body of
    :func:`load_paths` and :func:`analyze_paths`, and where :class:`ReadOptions` get their defaults."""
    tasks, sources = plan([os.fspath(p) for p in paths], roles=roles, analyze=analyze,
                          storage_options=storage_options)
    results = run_tasks(tasks, jobs=jobs, scheduler=scheduler, cache=_cache(cache), progress=progress)
    return _gather(sources, tasks, results)


def load_paths(paths: Sequence[str | os.PathLike[str]], **options: Unpack[ReadOptions]) -> RunList:
    """Every run under ``paths`` (folders, files or fsspec URLs), as ``parsers.load`` on each in turn.

    Reading is spread over ``jobs`` processes (default all cores) or a Dask ``scheduler``; unchanged
    run units come from the cache (``cache=False`` reads everything again). ``options``: see
    :class:`ReadOptions`.
    """
    return _read(paths, False, **options)[0]


def analyze_paths(paths: Sequence[str | os.PathLike[str]], **options: Unpack[ReadOptions]) -> Analysis:
    """Load and analyse every run under ``paths``: the same :class:`Analysis` as
    ``analyze(runs, warnings=runs.all_warnings())`` on ``load_paths``, computed on every core.

    Each run is read and analysed by the worker that has its files; sweeps (which need all their
    members) are grouped afterwards on the whole set. Costs are not priced here
    (``lrdoctor.cost.estimate_costs`` does that with the user's settings). ``options``: see
    :class:`ReadOptions`.
    """
    runs, analyses = _read(paths, True, **options)
    done = [a for a in analyses if a is not None]
    return compare_runs([a.run for a in done], done, warnings=runs.all_warnings())


def _cache(cache: bool | ResultCache) -> ResultCache | None:
    if isinstance(cache, ResultCache):
        return cache
    return ResultCache() if cache else None


__all__ = ["Progress", "ReadOptions", "analyze_paths", "default_jobs", "load_paths", "run_tasks"]
