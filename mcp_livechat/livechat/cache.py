"""One eviction rule for every in-memory cache of the process (tokens, agent ids, regions,
e-mails): least recently used goes first, beyond a fixed number of entries.

Entries are keyed per person or per credential, so an unbounded dict would grow with every
token that ever rotated; an LRU of this size keeps the working set of a busy gateway and costs
a few MB at most.
"""

from __future__ import annotations

from typing import TypeVar

from cachetools import LRUCache

K = TypeVar("K")
V = TypeVar("V")

MAX_ENTRIES = 10_000

BoundedCache = LRUCache


def bounded_cache(maxsize: int = MAX_ENTRIES) -> LRUCache[K, V]:
    """A new cache with the process-wide eviction rule."""
    return LRUCache(maxsize=maxsize)
