"""Generated multi-channel traffic end to end, checked against the generator's ground truth.

- nothing realistic is rejected;
- resolution never fuses two different people, except members of one household sharing a
  phone (the brand's sharing cap allows two emails per phone);
- statistics equal a full recompute and the sums agree to the cent.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import select

from constintel.brands import service as brands
from constintel.db.session import transaction
from constintel.ingest.generator import GeneratorConfig, generate
from constintel.ingest.models import CustomerRawEvent
from constintel.pipeline import Envelope, _dedupe_key, ingest_batch
from constintel.profiles import service as profiles


def test_generated_traffic_resolves_without_false_merges(engine, ctx) -> None:
    config = GeneratorConfig(
        orders=400, days=60, seed=11, end=datetime(2026, 1, 1, tzinfo=UTC), include_truth=True
    )
    truth: dict[str, tuple[int | None, int | None]] = {}
    envelopes: list[Envelope] = []
    for item in generate(config):
        envelope = Envelope(item["source"], item.get("topic"), item["payload"])
        truth[_dedupe_key(envelope)] = (item["truth"]["person"], item["truth"]["household"])
        envelopes.append(envelope)
    for start in range(0, len(envelopes), 250):
        with transaction(engine) as session:
            result = ingest_batch(session, ctx, envelopes[start : start + 250])
        assert result.rejections == []

    with transaction(engine) as session:
        rows = session.execute(
            select(CustomerRawEvent.dedupe_key, CustomerRawEvent.customer_profile_id).where(
                CustomerRawEvent.brand_id == ctx.brand_id
            )
        ).all()
    people: dict[str, set[tuple[int, int | None]]] = defaultdict(set)
    for key, profile_id in rows:
        person, household = truth[key]
        if profile_id is not None and person is not None:
            people[profile_id].add((person, household))
    assert len(people) > 100
    for profile_id, members in people.items():
        persons = {p for p, _ in members}
        if len(persons) > 1:
            households = {h for _, h in members}
            assert len(households) == 1, f"{profile_id} fused unrelated people {members}"
            assert None not in households, f"{profile_id} fused unrelated people {members}"

    with transaction(engine) as session:
        brand = brands.get(session, ref=ctx.brand_id)
        _, drifts = profiles.recompute_all(session, brand=brand)
        ltv_sum, net_sum = profiles.totals(session, brand=brand)
    assert drifts == []
    assert ltv_sum == net_sum
