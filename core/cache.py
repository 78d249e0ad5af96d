"""A small LRU cache for recomputation while the analyst types.

Keys are built by the caller from a *frame version token* (anything that
changes when the per-account frame changes, e.g. the workspace's
``data_version()`` plus the analysis date) and a hash of a spec's canonical
JSON, so that changing one dimension recomputes only that dimension.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from threading import Lock
from typing import Generic, TypeVar

T = TypeVar("T")

__all__ = ["LruCache", "spec_hash"]


def spec_hash(text: str) -> str:
    """Short stable hash of a spec's canonical JSON."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


class LruCache(Generic[T]):
    """Least-recently-used cache; safe to share between a UI thread and a worker."""

    def __init__(self, maxsize: int = 64) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = Lock()
        self._computing: dict[Hashable, Lock] = {}  # keys being computed, see get_or_compute
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> T | None:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            self.misses += 1
            return None

    def put(self, key: Hashable, value: T) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value for ``key``, computing and storing it on a miss.

        The computation runs outside the cache's lock; an exception is not
        cached. A caller asking for a key that another thread is computing
        waits for that result instead of computing it again (a model fit of
        several seconds, asked for twice by quick edits in the workbench).
        """
        found = self.get(key)
        if found is not None:
            return found
        with self._lock:
            key_lock = self._computing.setdefault(key, Lock())
        with key_lock:
            with self._lock:  # computed by the thread we waited for? (one miss counted)
                if key in self._data:
                    self.hits += 1
                    return self._data[key]
            try:
                value = compute()
                self.put(key, value)
            finally:
                with self._lock:
                    self._computing.pop(key, None)
        return value

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._data
