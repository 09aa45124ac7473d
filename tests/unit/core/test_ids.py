"""new_id: UUIDv7 strings in creation order, unique across threads."""

from __future__ import annotations

import os
import threading
import uuid

import pytest

from constintel.core import ids
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


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_reuse_its_parents_random_bits() -> None:
    new_id()  # the parent's pool of random values is filled
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its next random value, to the parent
        os.write(write, str(ids._random64()).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    from_child = int(os.read(read, 64))
    os.close(read)
    assert ids._random64() != from_child
