"""The one process-wide engine cache: one engine per kind, replaced (and closed) on a new model."""

from structkit.engines._shared import shared_engine


class _Closable:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_one_engine_per_kind_and_key_replaced_and_closed_on_a_new_key():
    first = shared_engine("test-kind", "model-a", _Closable)
    assert shared_engine("test-kind", "model-a", _Closable) is first
    other_kind = shared_engine("test-other", "model-a", _Closable)
    assert other_kind is not first and not first.closed
    second = shared_engine("test-kind", "model-b", _Closable)
    assert second is not first and first.closed and not second.closed
