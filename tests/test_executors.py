"""Executors: in-process, local process pool (crash isolation, one OpenCV thread, clean
stdout) and the Dask path."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest

from scalpmetrics.errors import BatchError, MissingExtraError
from scalpmetrics.executors import (
    DaskExecutor,
    InProcessExecutor,
    ProcessPoolBatchExecutor,
    WorkerLost,
    make_executor,
)


def square_and_threads(x):
    """Module level, so worker processes can import it. Returns x squared and the
    largest thread count of OpenCV and the BLAS/OpenMP libraries, SciPy's included."""
    import scipy.linalg  # noqa: F401  (loads SciPy's own BLAS, after the worker started)
    from threadpoolctl import threadpool_info

    return x * x, max([cv2.getNumThreads()] + [i["num_threads"] for i in threadpool_info()])


def crash_on_three(x):
    if x == 3:
        os._exit(7)  # a worker dying in native code looks like this to the pool
    return x * x


def talk_on_stdout(x):
    print(f"worker chatter {x}")
    sys.stdout.flush()
    return x


def write_pid_and_wait(path):
    Path(path).write_text(str(os.getpid()))
    time.sleep(600)


def test_make_executor_choices():
    assert isinstance(make_executor(workers=0), InProcessExecutor)
    pool = make_executor(workers=2)
    assert isinstance(pool, ProcessPoolBatchExecutor) and pool.workers == 2
    assert make_executor().workers >= 1
    with pytest.raises(BatchError, match="not both"):
        make_executor(workers=2, scheduler="tcp://127.0.0.1:1")
    for bad in (-1, 1.5, True):
        with pytest.raises(BatchError, match="whole number"):
            make_executor(workers=bad)


def test_in_process_limits_threads_only_while_running():
    square_and_threads(0)  # load every library first: only loaded ones can be limited here
    before = square_and_threads(0)[1]
    results = dict(InProcessExecutor().map_unordered(square_and_threads, [1, 2, 3]))
    assert results == {0: (1, 1), 1: (4, 1), 2: (9, 1)}
    assert square_and_threads(0)[1] == before


def test_pool_returns_every_item_with_one_native_thread():
    items = list(range(7))
    results = dict(ProcessPoolBatchExecutor(2).map_unordered(square_and_threads, items))
    assert results == {i: (i * i, 1) for i in items}


def test_pool_survives_a_worker_crash_and_blames_only_its_item():
    items = list(range(8))
    results = dict(ProcessPoolBatchExecutor(2).map_unordered(crash_on_three, items))
    assert sorted(results) == items
    assert isinstance(results[3], WorkerLost)
    assert "died" in results[3].message
    assert {i: r for i, r in results.items() if i != 3} == {i: i * i for i in items if i != 3}


def test_pool_workers_never_write_to_stdout(capfd):
    results = dict(ProcessPoolBatchExecutor(1).map_unordered(talk_on_stdout, [5]))
    assert results == {0: 5}
    captured = capfd.readouterr()
    assert "worker chatter" not in captured.out
    assert "worker chatter 5" in captured.err


def test_dask_without_distributed_is_a_missing_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingExtraError, match=r"scalpmetrics\[dask\]"):
        DaskExecutor("tcp://127.0.0.1:8786")


def test_dask_unreachable_scheduler_is_one_line():
    pytest.importorskip("distributed")
    import dask

    with (dask.config.set({"distributed.comm.timeouts.connect": "1s"}),
          pytest.raises(BatchError, match="cannot reach the Dask scheduler") as info):
        DaskExecutor("tcp://127.0.0.1:9")
    assert "\n" not in str(info.value)


def test_dask_local_cluster_runs_every_item_with_one_native_thread():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        executor = DaskExecutor(cluster.scheduler_address)
        try:
            results = dict(executor.map_unordered(square_and_threads, list(range(6))))
        finally:
            executor.close()
    assert results == {i: (i * i, 1) for i in range(6)}


def test_pool_workers_exit_when_the_parent_is_killed(tmp_path):
    psutil = pytest.importorskip("psutil")
    pid_file = tmp_path / "worker.pid"
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import test_executors; "
        "from scalpmetrics.executors import ProcessPoolBatchExecutor; "
        "pool = ProcessPoolBatchExecutor(1); "
        "list(pool.map_unordered(test_executors.write_pid_and_wait, [sys.argv[2]]))"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script, str(Path(__file__).parent), str(pid_file)])
    try:
        for _ in range(600):
            if pid_file.exists() and pid_file.read_text():
                break
            time.sleep(0.1)
        worker = psutil.Process(int(pid_file.read_text()))
    finally:
        parent.send_signal(signal.SIGKILL)
        parent.wait()
    try:
        gone, _ = psutil.wait_procs([worker], timeout=30)
        assert gone or worker.status() == psutil.STATUS_ZOMBIE
    finally:
        if worker.is_running() and worker.status() != psutil.STATUS_ZOMBIE:
            worker.kill()
