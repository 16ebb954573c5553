"""Circuit breakers shared by every worker through Redis, and still working when Redis is away.

Two stores on one Redis stand for two gunicorn workers: what one learns about a backend, the other knows.
Plain pytest against a real Redis (skipped, saying why, when none answers)."""

from __future__ import annotations

import socket
import uuid

import pytest

from routing.breaker import (
    BreakerState,
    CircuitBreaker,
    MemoryBreakerStore,
    RedisBreakerStore,
    breaker_for,
    reset_breakers,
)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def worker_stores(redis_url):
    """Two stores of one Redis, as two worker processes have them, under a prefix of this test's own."""
    prefix = f"lantern:breaker:test-{uuid.uuid4().hex}:"
    stores = []
    for _worker in range(2):
        store = RedisBreakerStore(redis_url)
        store.prefix = prefix
        stores.append(store)
    yield stores
    stores[0].clear()


def breakers_of(stores, clock, *, failure_threshold=3, cool_down_seconds=30):
    return [
        CircuitBreaker(
            name="local",
            base_url="http://gpu-1:8000/v1",
            failure_threshold=failure_threshold,
            cool_down_seconds=cool_down_seconds,
            store=store,
            clock=clock,
        )
        for store in stores
    ]


def test_failures_seen_by_one_worker_open_the_breaker_of_every_worker(worker_stores):
    first, second = breakers_of(worker_stores, FakeClock())

    first.record_failure()
    second.record_failure()
    first.record_failure()

    assert first.state == second.state == BreakerState.OPEN
    assert not second.before_call()
    assert second.status().consecutive_failures == 3


def test_only_one_worker_makes_the_half_open_trial_and_its_success_closes_every_breaker(worker_stores):
    clock = FakeClock()
    first, second = breakers_of(worker_stores, clock, failure_threshold=1)
    first.record_failure()
    clock.now += 30

    assert second.before_call()
    assert not first.before_call()  # the trial is under way in the other worker
    second.record_success()
    assert first.state == BreakerState.CLOSED
    assert first.before_call()


def test_a_success_in_one_worker_resets_the_count_of_consecutive_failures_everywhere(worker_stores):
    first, second = breakers_of(worker_stores, FakeClock())
    first.record_failure()
    first.record_failure()
    second.record_success()
    first.record_failure()

    assert second.state == BreakerState.CLOSED
    assert second.status().consecutive_failures == 1


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_without_redis_each_worker_keeps_its_own_breaker_and_answering_goes_on(caplog):
    store = RedisBreakerStore(f"redis://127.0.0.1:{_closed_port()}/0")
    breaker = CircuitBreaker(name="local", failure_threshold=2, cool_down_seconds=30, store=store, clock=FakeClock())

    assert breaker.before_call()
    breaker.record_failure()
    breaker.record_failure()

    assert breaker.state == BreakerState.OPEN
    assert not breaker.before_call()
    assert sum("fall back" in record.getMessage() for record in caplog.records) == 1  # said once, not per call


def test_breakers_are_shared_through_redis_when_redis_url_is_set(settings, redis_url):
    settings.REDIS_URL = redis_url
    reset_breakers()
    try:
        breaker = breaker_for("local", "http://gpu-shared:8000/v1")
        assert isinstance(breaker.store, RedisBreakerStore)
        for _failure in range(breaker.failure_threshold):
            breaker.record_failure()
        another_worker = CircuitBreaker(
            name="local", base_url="http://gpu-shared:8000/v1", store=RedisBreakerStore(redis_url)
        )
        assert another_worker.state == BreakerState.OPEN

        reset_breakers()
        assert another_worker.state == BreakerState.CLOSED
    finally:
        settings.REDIS_URL = ""
        reset_breakers()


def test_without_redis_url_the_breakers_live_in_this_process(settings):
    settings.REDIS_URL = ""
    reset_breakers()

    assert isinstance(breaker_for("local", "http://gpu-2:8000/v1").store, MemoryBreakerStore)
