"""Real Hive's batches run ahead, beside the rest of the suite.

Real Hive spends most of its time in one JVM thread running local MapReduce jobs, while
the suite's other tests keep the other core busy. So the module fixtures that run a
batch of Hive statements are declared with :func:`hive_batch`, and when the session's
selected tests need them, conftest.py starts them all (:func:`start_ahead`) on one
background thread (Derby admits one JVM per metastore anyway), in the order of the
tests. The fixture then waits for its batch's result, or re-raises its error. A run
that selects no test of a batch starts no JVM for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
from hive_cli import HiveCLI

_BATCHES: dict[str, Callable[[HiveCLI], Any]] = {}  # fixture name -> the batch
_AHEAD: dict[str, Future] = {}
_EXECUTOR: ThreadPoolExecutor | None = None


def hive_batch(run: Callable[[HiveCLI], Any]):
    """A module fixture named after ``run`` whose value is ``run(hive_cli)``, started
    ahead when the session needs it."""
    _BATCHES[run.__name__] = run

    @pytest.fixture(scope="module", name=run.__name__)
    def fixture(hive_cli: HiveCLI):
        ahead = _AHEAD.get(run.__name__)
        return ahead.result() if ahead is not None else run(hive_cli)

    fixture.__doc__ = run.__doc__
    return fixture


def needed(fixture_names: Iterable[Iterable[str]]) -> list[str]:
    """The batches the given tests' fixtures need, in the order the tests run."""
    names: dict[str, None] = {}
    for per_test in fixture_names:
        names.update((n, None) for n in per_test if n in _BATCHES)
    return list(names)


def start_ahead(cli: HiveCLI, names: list[str]) -> None:
    """Run the named batches, one after the other, on a background thread."""
    global _EXECUTOR
    if not names:
        return
    _EXECUTOR = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hive-ahead")
    for name in names:
        _AHEAD[name] = _EXECUTOR.submit(_BATCHES[name], cli)


def stop(cli: HiveCLI | None) -> None:
    """At the session's end: drop the batches not started and kill a JVM still running
    (an interrupted or failed-fast session)."""
    global _EXECUTOR
    if _EXECUTOR is None:
        return
    for ahead in _AHEAD.values():
        ahead.cancel()
    if cli is not None:
        cli.kill_running()
    _EXECUTOR.shutdown(wait=True)
    _EXECUTOR = None
