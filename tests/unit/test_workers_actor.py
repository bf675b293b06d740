"""The job actor on Dramatiq's StubBroker: it runs the job by key and re-sends it delayed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker

import workers.jobs
import workers.middleware
from picloud.settings import Settings
from workers.actors import declare_actors
from workers.broker import JOB_ACTOR, QUEUE, build_broker


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[StubBroker]:
    broker = build_broker(Settings(), stub=True)
    assert isinstance(broker, StubBroker)
    # No Postgres here: the runtime is a stand-in, the job logic is tested elsewhere.
    monkeypatch.setattr(workers.middleware, "runtime", lambda: "runtime")
    yield broker
    broker.close()


def test_the_actor_runs_the_key_and_a_retry_goes_to_the_delay_queue(
    stub: StubBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a job that fails its first run and asks for a 50 ms retry
    calls: list[tuple[Any, str]] = []

    def fake_run(rt: Any, key: str, send_retry: Any) -> str:
        calls.append((rt, key))
        if len(calls) == 1:
            send_retry(key, 50)
            return "retrying"
        return "succeeded"

    monkeypatch.setattr(workers.jobs, "run_job", fake_run)
    actor = declare_actors(stub)
    assert actor.actor_name == JOB_ACTOR and actor.queue_name == QUEUE
    assert actor.options["max_retries"] == 0
    # When the key is sent and a worker runs
    actor.send("t:abc:1")
    worker = Worker(stub, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        stub.join(QUEUE, timeout=5000)
        stub.join(f"{QUEUE}.DQ", timeout=5000)
        stub.join(QUEUE, timeout=5000)
        worker.join()
    finally:
        worker.stop()
    # Then the job ran twice by key, the second time after its delayed re-send
    assert calls == [("runtime", "t:abc:1"), ("runtime", "t:abc:1")]
    assert stub.dead_letters == []


def test_declaring_twice_returns_the_same_actor(stub: StubBroker) -> None:
    assert declare_actors(stub) is declare_actors(stub)
