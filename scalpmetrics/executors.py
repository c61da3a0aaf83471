"""Where batch work runs: this process, a local process pool, or a Dask cluster.

All three implement one small interface, :class:`BatchExecutor`: map a
function over a sequence of items and yield ``(position, result)`` pairs as
they finish, in any order. A worker process that dies (a crash in native
code, the out-of-memory killer) never stops the run: the item it was running
comes back as a :class:`WorkerLost` result.

Each worker analyses one photo at a time with OpenCV and the BLAS/OpenMP
libraries (NumPy's and SciPy's OpenBLAS, say) limited to one thread, so that
N workers use N cores rather than fighting over them. The process pool sets
this in its worker initializer, the Dask executor around each task, and the
in-process executor for the duration of the run only.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from scalpmetrics.errors import BatchError, MissingExtraError

T = TypeVar("T")
R = TypeVar("R")

#: Items kept submitted per pool worker: enough to keep every worker busy,
#: few enough that a crash leaves a short list of suspects.
IN_FLIGHT_PER_WORKER = 2
#: Environment that makes BLAS and OpenMP libraries loaded later in a worker
#: process start with one thread.
ONE_THREAD_ENVIRON = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class WorkerLost:
    """The process running an item died before returning a result."""

    message: str


class BatchExecutor(Protocol):
    """Runs a function over items, possibly in other processes or machines."""

    #: One line saying where the work runs, e.g. ``'process pool, 2 workers'``.
    description: str

    def map_unordered(
        self, fn: Callable[[T], R], items: Sequence[T]
    ) -> Iterator[tuple[int, R | WorkerLost]]:
        """Yield ``(position in items, fn(item) or WorkerLost)`` as items finish.

        ``fn`` and the items must be picklable (module-level functions and
        plain data); closing the iterator early cancels what has not started.
        """
        ...

    def close(self) -> None:
        """Release the workers or the cluster connection."""
        ...


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not available on macOS and Windows
        return os.cpu_count() or 1


@contextmanager
def one_native_thread() -> Iterator[None]:
    """OpenCV and the loaded BLAS/OpenMP libraries use one thread inside the block;
    the previous settings are restored after it."""
    import cv2
    from threadpoolctl import threadpool_limits

    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        cv2.setNumThreads(previous)


def make_executor(*, workers: int | None = None, scheduler: Any = None) -> BatchExecutor:
    """Choose the executor for a run.

    Parameters
    ----------
    workers : int, optional
        Local worker processes; ``None`` for one per available core, ``0`` to
        run in this process (no pool: for debugging and small runs).
    scheduler : str or distributed.Client, optional
        A Dask scheduler address (``'tcp://host:8786'``) or a connected
        client; the run then uses the cluster and ``workers`` must be ``None``.

    Raises
    ------
    BatchError
        Both given, a negative or non-integer ``workers``, or an unreachable scheduler.
    MissingExtraError
        A scheduler is given but ``distributed`` is not installed.
    """
    if scheduler is not None:
        if workers is not None:
            raise BatchError("give a number of local workers or a Dask scheduler, not both")
        return DaskExecutor(scheduler)
    if workers is None:
        workers = default_workers()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise BatchError(f"workers must be a whole number >= 0, got {workers!r}")
    return InProcessExecutor() if workers == 0 else ProcessPoolBatchExecutor(workers)


class InProcessExecutor:
    """Runs every item in the calling process, one after another."""

    description = "in this process"

    def map_unordered(
        self, fn: Callable[[T], R], items: Sequence[T]
    ) -> Iterator[tuple[int, R | WorkerLost]]:
        with one_native_thread():
            for position, item in enumerate(items):
                yield position, fn(item)

    def close(self) -> None:
        """Nothing to release."""


def _init_pool_worker() -> None:
    """Worker-process set-up: one thread in OpenCV and BLAS/OpenMP, stdout kept for
    data, Ctrl-C left to the parent (which cancels the run cleanly), and exit when
    the parent dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.dup2(2, 1)
    os.environ.update(ONE_THREAD_ENVIRON)  # libraries loaded later in this process
    import cv2
    from threadpoolctl import threadpool_limits

    cv2.setNumThreads(1)
    threadpool_limits(limits=1)  # libraries loaded already (NumPy's, with cv2)
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()


def _exit_with(parent_sentinel: int) -> None:
    """Wait until the parent process is gone (killed with ``kill -9``, say), then exit:
    otherwise the idle workers would wait for work forever."""
    multiprocessing.connection.wait([parent_sentinel])
    os._exit(1)


class ProcessPoolBatchExecutor:
    """A pool of local worker processes (started with ``spawn`` on every platform).

    At most ``IN_FLIGHT_PER_WORKER * workers`` items are submitted at a time.
    When a worker dies the pool breaks; the items that were in flight are then
    run again one at a time, each in a fresh single-worker pool, so that only
    the item that kills its worker alone is reported as :class:`WorkerLost`,
    and the rest continue on a new pool.
    """

    def __init__(self, workers: int) -> None:
        if workers < 1:
            raise BatchError(f"a process pool needs at least one worker, got {workers}")
        self.workers = workers
        self.description = f"process pool, {workers} worker{'s' if workers > 1 else ''}"
        self._context = multiprocessing.get_context("spawn")

    def _pool(self, workers: int) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers, mp_context=self._context, initializer=_init_pool_worker
        )

    def map_unordered(
        self, fn: Callable[[T], R], items: Sequence[T]
    ) -> Iterator[tuple[int, R | WorkerLost]]:
        queue = deque(range(len(items)))
        while queue:
            pool = self._pool(self.workers)
            try:
                suspects = yield from self._drain(pool, fn, items, queue)
            except BaseException:  # interrupted or closed early: drop what has not started
                pool.shutdown(wait=False, cancel_futures=True)
                raise
            pool.shutdown(wait=True)
            for position in suspects:
                yield position, self._run_alone(fn, items[position])

    def _drain(
        self,
        pool: ProcessPoolExecutor,
        fn: Callable[[T], R],
        items: Sequence[T],
        queue: deque[int],
    ) -> Generator[tuple[int, R | WorkerLost], None, list[int]]:
        """Run queued items until done or the pool breaks; return the suspects."""
        limit = IN_FLIGHT_PER_WORKER * self.workers
        in_flight: dict[Future[R], int] = {}
        while queue or in_flight:
            while queue and len(in_flight) < limit:
                position = queue.popleft()
                try:
                    in_flight[pool.submit(fn, items[position])] = position
                except BrokenProcessPool:
                    queue.appendleft(position)
                    return list(in_flight.values())
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                position = in_flight.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    return [position, *in_flight.values()]
                yield position, result
        return []

    def _run_alone(self, fn: Callable[[T], R], item: T) -> R | WorkerLost:
        pool = self._pool(1)
        try:
            return pool.submit(fn, item).result()
        except BrokenProcessPool:
            return WorkerLost(
                "the worker process died while analysing this photo "
                "(a crash in native code or out of memory)"
            )
        finally:
            pool.shutdown(wait=True)

    def close(self) -> None:
        """Pools are closed when each run ends; nothing is left to release."""


def _call_with_one_thread(fn: Callable[[T], R], item: T) -> R:
    with one_native_thread():
        return fn(item)


class DaskExecutor:
    """Runs items as tasks on a Dask distributed cluster.

    The cluster's workers must see the photos at the same paths (a shared
    file system) and have scalpmetrics installed. Dask retries a task whose
    worker dies; a task that keeps killing workers comes back as
    :class:`WorkerLost`.
    """

    def __init__(self, scheduler: Any) -> None:
        try:
            import distributed
        except ImportError:
            raise MissingExtraError("distributed", "dask") from None
        self._distributed = distributed
        if isinstance(scheduler, str):
            try:
                self._client = distributed.Client(scheduler, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                raise BatchError(
                    f"cannot reach the Dask scheduler at {scheduler} ({' '.join(str(exc).split())})"
                ) from None
            self._owned = True
        else:
            self._client = scheduler
            self._owned = False
        self.description = f"Dask cluster at {self._client.scheduler.address}"

    def map_unordered(
        self, fn: Callable[[T], R], items: Sequence[T]
    ) -> Iterator[tuple[int, R | WorkerLost]]:
        futures = {
            self._client.submit(_call_with_one_thread, fn, item, pure=False): position
            for position, item in enumerate(items)
        }
        try:
            for future in self._distributed.as_completed(list(futures), loop=self._client.loop):
                position = futures.pop(future)
                try:
                    result: R | WorkerLost = future.result()
                except self._distributed.KilledWorker:
                    result = WorkerLost(
                        "Dask workers died repeatedly while analysing this photo "
                        "(a crash in native code or out of memory)"
                    )
                future.release()
                yield position, result
        finally:
            if futures:
                self._client.cancel(list(futures))

    def close(self) -> None:
        """Disconnect from the scheduler if this executor connected to it."""
        if self._owned:
            self._client.close()
