"""new_id: UUIDv7 strings in creation order, unique across threads."""

from __future__ import annotations

import threading
import uuid

from constintel.core.ids import new_id


def test_ids_are_uuid7_in_creation_order() -> None:
    ids = [new_id() for _ in range(3000)]  # more than one batch of random values
    parsed = [uuid.UUID(i) for i in ids]
    assert all(p.version == 7 and p.variant == uuid.RFC_4122 for p in parsed)
    assert [str(p) for p in parsed] == ids  # canonical lower-case form
    assert ids == sorted(ids)
    # The random tail (rand_b) differs from id to id, batch boundaries included.
    assert len({p.int & ((1 << 62) - 1) for p in parsed}) == len(ids)


def test_ids_from_many_threads_are_unique() -> None:
    made: list[list[str]] = [[] for _ in range(4)]

    def make(out: list[str]) -> None:
        out.extend(new_id() for _ in range(5000))

    threads = [threading.Thread(target=make, args=(out,)) for out in made]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [i for out in made for i in out]
    assert len(set(every)) == len(every) == 20_000
