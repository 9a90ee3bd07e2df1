"""Record ids: one policy for every batch reader and the batch job.

An id is the user's (an id column or field) or, failing that, a hash of the record's content, so
that the same row gets the same id on every run (resume depends on it). Ids already seen are kept
as 16-byte digests, so a job over millions of records remembers them in little memory; a
repeated id is reported by the job (:class:`~structkit.DuplicateIdError`), never silently merged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

__all__ = ["IdSet", "content_id", "id_digest"]


def content_id(cells: Sequence[object]) -> str:
    """sha256 over the cells (JSON-encoded, so cell boundaries count), first 16 hex digits."""
    blob = json.dumps(cells, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def id_digest(record_id: str) -> bytes:
    return hashlib.blake2b(record_id.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class IdSet:
    """A set of 16-byte id digests in ~16 bytes each: recent ones in a set, the rest sorted.

    The recent set is merged into the sorted array when it reaches ``_FLUSH`` entries or 1/32 of
    the array, so it costs at most ~20% on top of the array (a Python set is ~100 B an entry).
    """

    _FLUSH = 8192

    def __init__(self) -> None:
        import numpy as np

        self._sorted = np.empty(0, dtype="S16")
        self._recent: set[bytes] = set()

    def __contains__(self, digest: bytes) -> bool:
        if digest in self._recent:
            return True
        if not len(self._sorted):
            return False
        i = int(self._sorted.searchsorted(digest))
        # numpy strips trailing NULs when handing an S16 element back: pad before comparing.
        return i < len(self._sorted) and bytes(self._sorted[i]).ljust(16, b"\0") == digest

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    def add(self, digest: bytes) -> None:
        self._recent.add(digest)
        if len(self._recent) >= max(self._FLUSH, len(self._sorted) >> 5):
            import numpy as np

            new = np.sort(np.array(list(self._recent), dtype="S16"))
            self._sorted = np.insert(self._sorted, np.searchsorted(self._sorted, new), new)
            self._recent = set()

    def add_new(self, record_id: str) -> bool:
        """Remember ``record_id``; False if it was already there."""
        digest = id_digest(record_id)
        if digest in self:
            return False
        self.add(digest)
        return True
