"""Review what the model said: the source with the cited parts highlighted beside each answer,
accept / reject / correct per item, and the corrections saved as gold for ``structkit eval``.

``structkit review RESULTS.jsonl`` starts the app on 127.0.0.1; ``--static --out review.html``
writes a read-only page. See :class:`ReviewSession` for the files it writes.
"""

from ._gold import apply_decisions, build_gold
from ._items import Item, split_items
from ._server import ReviewServer, static_page
from ._session import ReviewSession

__all__ = [
    "Item",
    "ReviewServer",
    "ReviewSession",
    "apply_decisions",
    "build_gold",
    "split_items",
    "static_page",
]
