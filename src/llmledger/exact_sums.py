"""Per-customer counters kept as exact sums in process and reported by observable counters.

Series are bounded per instrument (``SERIES_LIMIT``, the OpenTelemetry SDK's default cardinality
limit of 2,000 attribute sets per instrument): past it, the SDK would fold new series into one
unlabelled ``otel.metric.overflow`` point, losing whose they are. Instead, once an instrument holds
``SERIES_LIMIT - FOLD_RESERVE`` series, a new combination keeps its labels with ``customer.id`` set
to ``_other``; when even those fill the last slots, it goes to a single series whose every label is
``_other``. Totals are always kept; nothing reaches the SDK's overflow point.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from llmledger.usage import saturated

logger = logging.getLogger("llmledger.telemetry")

OTHER = "_other"
SERIES_LIMIT = 2000
"""Series per instrument: the SDK's default ``aggregation_cardinality_limit`` (2,000)."""
FOLD_RESERVE = 200
"""Series kept free for the ``customer.id="_other"`` folds of new combinations."""
_ALL_OTHER = ("\x00all-other",)


_shared_observables: weakref.WeakKeyDictionary[Meter, dict[str, Any]] = weakref.WeakKeyDictionary()


class _Delegate:
    """An observable callback that calls the current telemetry's (see ``ExactSums.on``)."""

    def __init__(self, callback: Callable[[CallbackOptions], Iterable[Observation]]) -> None:
        self.callback = callback

    def __call__(self, options: CallbackOptions) -> Iterable[Observation]:
        return self.callback(options)


class ExactSums:
    """A monotonic counter kept as exact sums per attribute set, reported by an observable counter.

    ``add`` is a dict update under a lock (no SDK measurement per call); the values are ints or
    Decimals, so sums are exact until the export converts them to float. ``before_observe`` runs
    first at every collection (it drains the metric queue).
    """

    def __init__(self, meter: Meter, name: str, unit: str, description: str,
                 before_observe: Callable[[], None], series_limit: int = SERIES_LIMIT) -> None:
        self._name = name
        self._limit = max(series_limit, 2)
        self._folding = False
        self._sums: dict[tuple[Any, ...], list[Any]] = {}
        self._lock = threading.Lock()
        self._before_observe = before_observe
        meter.create_observable_counter(name, callbacks=[self._observe], unit=unit, description=description)

    @classmethod
    def on(cls, meter: Meter, name: str, unit: str, description: str,
           before_observe: Callable[[], None], series_limit: int = SERIES_LIMIT) -> ExactSums:
        """The one ExactSums of ``name`` on ``meter``. The SDK keeps the first observable instrument
        of a name on a meter (and its callback) for good, so a re-``init()`` on the same providers
        continues the same cumulative sums, drained by the new telemetry."""
        shared = _shared_observables.setdefault(meter, {})
        sums = shared.get(name)
        if not isinstance(sums, ExactSums):
            sums = shared[name] = cls(meter, name, unit, description, before_observe, series_limit)
        sums._before_observe = before_observe
        return sums

    def add(self, key: tuple[Any, ...], value: int | Decimal, attributes: Callable[[], dict[str, Any]]) -> None:
        with self._lock:
            entry = self._sums.get(key)
            if entry is None:
                key, attributes = self._admit(key, attributes)
                entry = self._sums.get(key)
            if entry is None:
                self._sums[key] = [attributes(), value]
            else:
                entry[1] += value

    def _admit(self, key: tuple[Any, ...], attributes: Callable[[], dict[str, Any]]
               ) -> tuple[tuple[Any, ...], Callable[[], dict[str, Any]]]:
        """The key (and labels) a new combination is counted under, within the series limit."""
        count = len(self._sums)
        if count < self._limit - min(FOLD_RESERVE, self._limit // 2):
            return key, attributes
        if not self._folding:
            self._folding = True
            logger.warning("llmledger: %s reached %d series; new combinations are counted under "
                           "customer.id=%s (raise attribution.metric_series_limit together with the "
                           "SDK's cardinality limit to keep more)", self._name, count, OTHER)
        labels = attributes()
        if "customer.id" in labels:
            folded = (OTHER, *key[1:])
            if folded in self._sums or count < self._limit - 1:
                return folded, lambda: {**labels, "customer.id": OTHER}
        return _ALL_OTHER, lambda: dict.fromkeys(labels, OTHER)

    def _observe(self, options: CallbackOptions) -> Iterable[Observation]:
        self._before_observe()
        with self._lock:
            entries = [(attrs, value) for attrs, value in self._sums.values()]
        for attrs, value in entries:
            yield Observation(float(value) if isinstance(value, Decimal) else saturated(value), attrs)


