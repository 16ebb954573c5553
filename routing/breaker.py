"""Circuit breakers for the answering backends: stop calling a backend that keeps failing, try it again later.

One breaker per backend name and base URL. After `failure_threshold` consecutive failures it opens and
refuses calls at once; after `cool_down_seconds` it lets one trial call through (half-open), which closes it
on success and opens it again on failure. The router reads the states through `backend_health()`.

pybreaker was considered and not used: it holds one lock for the whole guarded call, which would serialise
every answer of a backend in a process, and its half-open state admits every caller instead of one trial.

Breaker records live in a `BreakerStore`. With REDIS_URL set they are shared through Redis, so every web
and Celery worker learns at once that a backend is failing (and only one of them makes the half-open
trial); without it, or while Redis does not answer, each process keeps its own. The shared store times
breakers with the wall clock, since monotonic clocks are not comparable across processes.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

DEFAULT_FAILURE_THRESHOLD = 5
DEFAULT_COOL_DOWN_SECONDS = 30.0


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True)
class BreakerRecord:
    """What a store keeps for one breaker."""

    state: BreakerState = BreakerState.CLOSED
    consecutive_failures: int = 0
    opened_at: float = 0.0
    trial_started_at: float | None = None  # a half-open trial call is under way


@dataclass(frozen=True)
class BreakerStatus:
    """One breaker as a health page or the router sees it."""

    name: str
    base_url: str
    state: BreakerState
    consecutive_failures: int
    admits_calls: bool


@dataclass(frozen=True)
class CircuitHealth:
    """The state of every breaker in use."""

    breakers: tuple[BreakerStatus, ...]

    def is_available(self, name: str) -> bool:
        """Whether a backend of this name would take a call now (True when it has never been called)."""
        return all(status.admits_calls for status in self.breakers if status.name == name)


class BreakerStore:
    """Where breaker records live; subclasses decide whether they are shared between processes."""

    clock: Callable[[], float] = staticmethod(time.monotonic)

    def read(self, key: str) -> BreakerRecord:
        """The record under the key, or a closed one."""
        raise NotImplementedError

    def update(self, key: str, change: Callable[[BreakerRecord], BreakerRecord]) -> tuple[BreakerRecord, BreakerRecord]:
        """Apply the change atomically; returns the records before and after it."""
        raise NotImplementedError


class MemoryBreakerStore(BreakerStore):
    """Breaker records in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, BreakerRecord] = {}

    def read(self, key: str) -> BreakerRecord:
        """The record under the key, or a closed one."""
        with self._lock:
            return self._records.get(key, BreakerRecord())

    def update(self, key: str, change: Callable[[BreakerRecord], BreakerRecord]) -> tuple[BreakerRecord, BreakerRecord]:
        """Apply the change atomically; returns the records before and after it."""
        with self._lock:
            before = self._records.get(key, BreakerRecord())
            after = change(before)
            self._records[key] = after
            return before, after


class RedisBreakerStore(BreakerStore):
    """Breaker records shared by every process through Redis; this process's own while Redis is away.

    A breaker must never make answering depend on Redis: each call waits at most a quarter of a second for
    it, and when it fails the record is read and changed in a store of this process instead."""

    clock = staticmethod(time.time)
    prefix = "lantern:breaker:"
    # Records of backends no longer called expire; an open breaker's record outlives any cool-down.
    expiry_seconds = 24 * 3600

    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25)
        self.fallback = MemoryBreakerStore()
        self._unreachable_logged = False

    def read(self, key: str) -> BreakerRecord:
        """The record under the key, or a closed one."""
        from redis.exceptions import RedisError

        try:
            return _decoded(self.client.get(self.prefix + key))
        except RedisError as error:
            self._redis_failed(error)
            return self.fallback.read(key)

    def update(self, key: str, change: Callable[[BreakerRecord], BreakerRecord]) -> tuple[BreakerRecord, BreakerRecord]:
        """Apply the change in a WATCH/MULTI transaction, again if another process changed the record meanwhile."""
        from redis.exceptions import RedisError, WatchError

        name = self.prefix + key
        try:
            # Most calls change nothing (a success while closed): one read answers them without a transaction.
            before = _decoded(self.client.get(name))
            after = change(before)
            if after == before:
                return before, after
            with self.client.pipeline() as pipe:
                while True:
                    try:
                        pipe.watch(name)
                        before = _decoded(pipe.get(name))
                        after = change(before)
                        if after == before:
                            pipe.unwatch()
                            return before, after
                        pipe.multi()
                        pipe.set(name, _encoded(after), ex=self.expiry_seconds)
                        pipe.execute()
                        self._unreachable_logged = False
                        return before, after
                    except WatchError:
                        continue
        except RedisError as error:
            self._redis_failed(error)
            return self.fallback.update(key, change)

    def clear(self) -> None:
        """Remove every shared breaker record."""
        for name in self.client.scan_iter(match=self.prefix + "*"):
            self.client.delete(name)

    def _redis_failed(self, error: Exception) -> None:
        if not self._unreachable_logged:
            logger.warning("circuit breakers fall back to this process's own records: Redis failed (%s)", error)
            self._unreachable_logged = True


def _encoded(record: BreakerRecord) -> str:
    return json.dumps(
        {
            "state": record.state.value,
            "consecutive_failures": record.consecutive_failures,
            "opened_at": record.opened_at,
            "trial_started_at": record.trial_started_at,
        }
    )


def _decoded(raw: bytes | None) -> BreakerRecord:
    if raw is None:
        return BreakerRecord()
    fields = json.loads(raw)
    return BreakerRecord(
        state=BreakerState(fields["state"]),
        consecutive_failures=int(fields["consecutive_failures"]),
        opened_at=float(fields["opened_at"]),
        trial_started_at=None if fields["trial_started_at"] is None else float(fields["trial_started_at"]),
    )


class CircuitBreaker:
    """The breaker of one backend: admits or refuses calls, and learns from their outcome."""

    def __init__(
        self,
        *,
        name: str,
        base_url: str = "",
        failure_threshold: int = DEFAULT_FAILURE_THRESHOLD,
        cool_down_seconds: float = DEFAULT_COOL_DOWN_SECONDS,
        store: BreakerStore | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("a circuit breaker needs a failure threshold of at least 1")
        self.name = name
        self.base_url = base_url
        self.failure_threshold = failure_threshold
        self.cool_down_seconds = cool_down_seconds
        self.store = store or MemoryBreakerStore()
        self.clock = clock or self.store.clock
        self.key = f"{name}|{base_url}"

    @property
    def state(self) -> BreakerState:
        """Closed, open, or half-open: an open breaker whose cool-down is over reports half-open."""
        record = self.store.read(self.key)
        if record.state == BreakerState.OPEN and self._cooled_down(record, self.clock()):
            return BreakerState.HALF_OPEN
        return record.state

    def status(self) -> BreakerStatus:
        """The breaker's state for health reports."""
        record = self.store.read(self.key)
        return BreakerStatus(
            name=self.name,
            base_url=self.base_url,
            state=self.state,
            consecutive_failures=record.consecutive_failures,
            admits_calls=self._admits(record, self.clock()),
        )

    def allows_call(self) -> bool:
        """Whether a call would be admitted now, without taking a half-open trial."""
        return self._admits(self.store.read(self.key), self.clock())

    def before_call(self) -> bool:
        """Admit a call (True) or refuse it (False); past the cool-down, admits one trial call at a time."""
        now = self.clock()
        admitted = False

        def admit(record: BreakerRecord) -> BreakerRecord:
            nonlocal admitted
            admitted = self._admits(record, now)
            if not admitted or record.state == BreakerState.CLOSED:
                return record
            return replace(record, state=BreakerState.HALF_OPEN, trial_started_at=now)

        before, _ = self.store.update(self.key, admit)
        if admitted and before.state == BreakerState.OPEN:
            logger.info("circuit of the %s backend half-open: trying one call", self.name)
        return admitted

    def record_success(self) -> None:
        """A call finished well: a trial closes the breaker; a success in closed state resets the count."""

        def succeed(record: BreakerRecord) -> BreakerRecord:
            if record.state == BreakerState.OPEN:
                return record  # a call that started before the breaker opened proves little
            return BreakerRecord()

        before, _ = self.store.update(self.key, succeed)
        if before.state == BreakerState.HALF_OPEN:
            logger.info("circuit of the %s backend closed: the trial call succeeded", self.name)

    def record_failure(self) -> None:
        """A call failed: counts towards opening, and a failed trial opens the breaker again."""
        now = self.clock()

        def fail(record: BreakerRecord) -> BreakerRecord:
            failures = record.consecutive_failures + 1
            if record.state == BreakerState.OPEN:
                return replace(record, consecutive_failures=failures)
            if record.state == BreakerState.HALF_OPEN or failures >= self.failure_threshold:
                return BreakerRecord(state=BreakerState.OPEN, consecutive_failures=failures, opened_at=now)
            return replace(record, consecutive_failures=failures)

        before, after = self.store.update(self.key, fail)
        if before.state != BreakerState.OPEN and after.state == BreakerState.OPEN:
            logger.warning(
                "circuit of the %s backend opened after %d consecutive failures; next try in %.0f s",
                self.name,
                after.consecutive_failures,
                self.cool_down_seconds,
            )

    def record_cancelled(self) -> None:
        """A call was abandoned before it finished: frees the trial slot without judging the backend."""

        def cancel(record: BreakerRecord) -> BreakerRecord:
            if record.state == BreakerState.HALF_OPEN:
                return replace(record, trial_started_at=None)
            return record

        self.store.update(self.key, cancel)

    def _admits(self, record: BreakerRecord, now: float) -> bool:
        if record.state == BreakerState.CLOSED:
            return True
        if record.state == BreakerState.OPEN:
            return self._cooled_down(record, now)
        # A trial whose caller vanished without reporting must not keep the breaker half-open for ever.
        return record.trial_started_at is None or now - record.trial_started_at >= self.cool_down_seconds

    def _cooled_down(self, record: BreakerRecord, now: float) -> bool:
        return now - record.opened_at >= self.cool_down_seconds


_registry_lock = threading.Lock()
_breakers: dict[tuple[str, str], CircuitBreaker] = {}
_store: BreakerStore | None = None


def _configured_store() -> BreakerStore:
    """Redis when REDIS_URL is set, so all workers share their breakers; this process's memory otherwise."""
    url = getattr(settings, "REDIS_URL", "") if settings.configured else ""
    return RedisBreakerStore(url) if url else MemoryBreakerStore()


def breaker_for(name: str, base_url: str = "") -> CircuitBreaker:
    """The breaker of the backend with this name and base URL, created with the settings on first use."""
    global _store
    with _registry_lock:
        breaker = _breakers.get((name, base_url))
        if breaker is None:
            if _store is None:
                _store = _configured_store()
            breaker = CircuitBreaker(
                name=name,
                base_url=base_url,
                failure_threshold=_setting("LANTERN_BREAKER_FAILURE_THRESHOLD", DEFAULT_FAILURE_THRESHOLD),
                cool_down_seconds=_setting("LANTERN_BREAKER_COOL_DOWN_SECONDS", DEFAULT_COOL_DOWN_SECONDS),
                store=_store,
            )
            _breakers[(name, base_url)] = breaker
        return breaker


def backend_health() -> CircuitHealth:
    """The state of every backend breaker used in this process so far."""
    with _registry_lock:
        breakers = list(_breakers.values())
    return CircuitHealth(breakers=tuple(breaker.status() for breaker in breakers))


def reset_breakers() -> None:
    """Forget every breaker of this process and, in a shared store, every record."""
    global _store
    with _registry_lock:
        _breakers.clear()
        if isinstance(_store, RedisBreakerStore):
            _store.clear()
        _store = None


def _setting(name: str, default: float) -> float:
    try:
        return getattr(settings, name, default)
    except ImproperlyConfigured:  # used outside a Django project, e.g. by a load-test script
        return default
