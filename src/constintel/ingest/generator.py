"""A deterministic, streaming generator of realistic multi-channel order and event traffic.

This is the Python counterpart of the seed's ``generate-orders --orders=500 --days=90``: it
produces the raw webhook/API traffic a retail brand would send ConstIntel, in the real payload
shapes of each platform, so that ingestion, identity resolution and lifetime-value code can be
exercised end to end (and benchmarked at millions of events).

Output unit: an *envelope* ``{"source": ..., "topic": ..., "payload": {...}}`` where ``source``
is ``shopify``, ``woocommerce``, ``square``, ``pos`` or ``api`` and ``topic`` is the transport's
event name (Shopify ``X-Shopify-Topic``, WooCommerce ``X-WC-Webhook-Topic``, Square's own
``type``; ``None`` for POS and API events). With ``include_truth=True`` every envelope also
carries ``"truth": {"person": int | None, "household": int | None}`` (the generator's ground
truth, for measuring identity resolution; never part of a real payload).

The generated world
-------------------
* **Brand.** A US brand (shop currency ``USD`` by default, stores in ``America/New_York``) with a
  Shopify web shop, a legacy WooCommerce shop, six physical stores on a generic POS system and a
  few Square-powered pop-up locations. Sales tax 8.875 %, shipping 7.95 below 75.00.
* **People.** Person ``n`` is derived from ``(seed, n)`` by integer hashing, so people cost no
  memory: a name, a unique email (gmail/yahoo/... or a UK domain), a *valid* phone (US numbers
  in real area codes such as 212/646/917 with real-looking exchanges, never 555; about 8 % are UK
  ``+44 77xx`` mobiles whose billing country is ``GB``), usually a ``LOY-########`` loyalty id,
  up to three browser cookies and one app device id, a Shopify customer id (10 % of them above
  2**53), a WooCommerce customer id (0 = guest for 40 %) and a Square customer id.
  About 6 % of people live in *households* of 2-4 people (same surname) that share one phone
  but have different emails.
* **Orders.** ``orders`` purchases spread over ``days`` days ending at ``end`` with a daily
  rhythm (busy US afternoons and evenings). 35 % of orders come from a returning customer chosen
  by preferential attachment, so order counts per person follow a power law: most people buy
  once, a few buy dozens of times. Sources (default weights 50/15/25/10): about 55 % Shopify,
  14 % WooCommerce, 21 % POS, 10 % Square (UK people never buy in the US stores). Each person
  has a preferred channel used 70 % of the time, so the same person shows up through several
  channels with different identifiers:
  Shopify (email, customer id, sometimes phone), WooCommerce (billing email + phone), POS
  (phone + loyalty id, sometimes only the loyalty id), Square (customer id and/or buyer email,
  or nothing), web carts (cookie or device id; the Shopify order later carries the same
  ``cart_token`` and the email, linking the cookie to the person) and WhatsApp messages (phone).
* **Formatting noise.** Emails arrive as ``jane.doe12@gmail.com``, ``Jane.Doe12@Gmail.com``,
  ``JANE.DOE12@GMAIL.COM`` or ``"  Jane.Doe12@Gmail.com "``; phones as ``+12128675309``,
  ``+1 212-867-5309``, ``(212) 867-5309``, ``212.867.5309``, ``2128675309``,
  ``1 (212) 867-5309`` and, for UK people, ``+44 7712 345678``, ``07712 345678`` or
  ``+44 (0)7712 345678`` (national forms only where the payload carries the country ``GB``).
  2 % of Shopify orders carry an order ``email`` (a work address) different from
  ``customer.email``.
* **Lifecycle.** Shopify: ``orders/create``; for 25 % also ``orders/paid`` with a byte-identical
  body; ``orders/updated`` when fulfilled (85 %); 3 % ``orders/cancelled`` (``voided``, or
  ``refunded`` with a full refund that also arrives as ``refunds/create``); 6 % refunded
  (partial, sometimes twice, or full) as ``refunds/create`` followed by an ``orders/updated``
  that embeds the same refund ids in ``refunds[]`` and lowers ``current_total_price``.
  WooCommerce: ``order.created`` (``processing``, or ``on-hold`` until paid), ``order.updated``
  to ``completed``, ``cancelled`` or ``refunded``, with embedded refunds
  ``{"id", "reason", "total": "-10.00"}`` (newest first). POS and Square sales are final.
* **Transport noise.** 3 % of envelopes are delivered again later, byte-identical (half within
  two minutes, most of the rest within four hours, some up to two days later, i.e. after newer
  updates of the same order). About 1 % of orders carry junk identifiers (``test@test.com``,
  ``noreply@<brand_domain>``, ``none``, ``null``, ``""``, phone ``0000000000``); junk-email
  Shopify orders share one Shopify customer per junk email, exactly as Shopify does. 6 % of POS
  sales have no customer at all (key missing, ``null`` or all-null), as do 40 % of Square
  payments.
* **Browsing.** Cart adds, product and page views (``api`` source) precede most web orders;
  abandoned carts and anonymous visitors add cookie-only traffic; 8 % of orders come with a
  WhatsApp message before or after the purchase.

Money is always built from integer cents: decimal strings with two decimals for Shopify,
WooCommerce and API events (WooCommerce ``line_items[].price`` is a JSON number, as in the real
API), integer minor units for Square, and either a string or a JSON number for POS totals.
Timestamps: Shopify and POS use store-local time with an offset, Square and API events UTC
``...Z`` with milliseconds, WooCommerce ``*_gmt`` naive UTC plus naive site-local ``date_*``.

Stream properties
-----------------
* Deterministic: the same config gives byte-identical output (one ``random.Random(seed)``,
  no wall clock, no global state).
* Chronological: envelopes come in delivery-time order (the payload's own ``updated_at`` /
  ``date_modified_gmt`` / ``occurred_at`` / ``timestamp``, non-decreasing); a follow-up always
  comes after its order and a cart add before the order that uses its cart. Only redeliveries
  and ``orders/paid`` (delivered 1-8 s after ``orders/create`` with the same body) carry older
  timestamps. Nothing is emitted before ``end - days`` or after ``end``: follow-ups that would
  fall later are simply not due yet, and browsing before the window is not seen.
* Streaming: memory is bounded by what is still pending (orders with lifecycle events to come,
  about a month for late refunds, and the browsing of the next day) plus 4 bytes per order for
  the returning-customer draw. It grows with orders *per day*, never with the length of the
  stream: at 1,000,000 orders over 90 days (3.04 M envelopes) the Python heap stays flat at
  55-62 MB (tracemalloc peak 61.5 MB; process RSS 80 MB).
* Volume: with the defaults about 3.1 envelopes per order. Per 1,000 orders (seed 0): Shopify
  560 ``orders/create``, 145 ``orders/paid``, 482 ``orders/updated``, 38 ``refunds/create``,
  15 ``orders/cancelled``; WooCommerce 143 ``order.created``, 143 ``order.updated``; POS 212;
  Square 85 ``payment.created``; API 497 ``cart_add``, 389 ``product_view``, 237 ``page_view``,
  69 ``message``; plus 90 redeliveries (3,105 envelopes).
* Independent: every yielded envelope is a fresh object tree (redeliveries are decoded from a
  snapshot taken before the first delivery was yielded), so consumers may mutate them.

Use :func:`is_purchase` and :func:`purchase_key` to recognise the envelopes that create an order.
"""

from __future__ import annotations

import heapq
from array import array
from base64 import b32encode, b64encode
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from random import Random
from typing import Any, Final, NamedTuple
from zoneinfo import ZoneInfo

import orjson

__all__ = [
    "PURCHASE_TOPICS",
    "GeneratorConfig",
    "generate",
    "generate_jsonl",
    "is_purchase",
    "purchase_key",
]

# --------------------------------------------------------------------------------------------
# Configuration


_KNOWN_ORDER_SOURCES: Final = ("shopify", "woocommerce", "pos", "square")


@dataclass(frozen=True, slots=True)
class GeneratorConfig:
    """Knobs of the generated world; every rate is a probability in ``[0, 1]``."""

    orders: int = 500
    days: int = 90
    seed: int = 0
    end: datetime | None = None  # aware; default 2026-01-01T00:00:00Z
    brand_domain: str = "example-shop.com"
    currency: str = "USD"
    store_timezone: str = "America/New_York"
    source_weights: tuple[tuple[str, float], ...] = (
        ("shopify", 0.50),
        ("woocommerce", 0.15),
        ("pos", 0.25),
        ("square", 0.10),
    )
    returning_share: float = 0.35  # orders placed by an already-seen customer
    fulfill_rate: float = 0.85  # online orders later marked fulfilled / completed
    cancel_rate: float = 0.03  # online orders cancelled
    refund_rate: float = 0.06  # online orders (partially) refunded
    paid_topic_rate: float = 0.25  # Shopify orders also delivered as orders/paid
    redelivery_rate: float = 0.03  # envelopes delivered a second time, byte-identical
    junk_rate: float = 0.01  # orders with junk email / phone
    anonymous_pos_rate: float = 0.06  # POS sales without any customer
    family_share: float = 0.06  # share of person blocks that are 2-4 person households
    uk_share: float = 0.08  # people with a UK mobile and GB billing country
    web_session_rate: float = 0.6  # Shopify orders preceded by tracked views and cart adds
    message_rate: float = 0.08  # orders accompanied by a WhatsApp message
    browse_noise_rate: float = 0.2  # extra anonymous / abandoned sessions per order
    include_truth: bool = False  # add {"truth": {"person", "household"}} to envelopes

    def __post_init__(self) -> None:
        if self.orders < 0:
            raise ValueError("orders must be >= 0")
        if self.days < 1:
            raise ValueError("days must be >= 1")
        if self.end is not None and self.end.utcoffset() is None:
            raise ValueError("end must be timezone-aware")
        for name in (
            "returning_share",
            "fulfill_rate",
            "cancel_rate",
            "refund_rate",
            "paid_topic_rate",
            "redelivery_rate",
            "junk_rate",
            "anonymous_pos_rate",
            "family_share",
            "uk_share",
            "web_session_rate",
            "message_rate",
            "browse_noise_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value!r}")
        if not self.source_weights or any(
            src not in _KNOWN_ORDER_SOURCES or w < 0 for src, w in self.source_weights
        ):
            raise ValueError(f"source_weights must name {_KNOWN_ORDER_SOURCES} with weights >= 0")
        if sum(w for _, w in self.source_weights) <= 0:
            raise ValueError("source_weights must not all be zero")


_DEFAULT_END: Final = datetime(2026, 1, 1, tzinfo=UTC)
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

#: (source, topic) pairs whose envelope creates an order (counted once per distinct id).
PURCHASE_TOPICS: Final[frozenset[tuple[str, str | None]]] = frozenset(
    {
        ("shopify", "orders/create"),
        ("shopify", "orders/paid"),
        ("woocommerce", "order.created"),
        ("square", "payment.created"),
        ("pos", None),
    }
)


def is_purchase(envelope: dict[str, Any]) -> bool:
    """True when ``envelope`` is a purchase (possibly a duplicate delivery of one)."""
    return (envelope["source"], envelope["topic"]) in PURCHASE_TOPICS


def purchase_key(envelope: dict[str, Any]) -> tuple[str, str]:
    """``(source, order id)`` of a purchase envelope; distinct keys == ``config.orders``."""
    source: str = envelope["source"]
    payload = envelope["payload"]
    if source == "square":
        return source, str(payload["data"]["object"]["payment"]["id"])
    if source == "pos":
        return source, str(payload["transaction_id"])
    return source, str(payload["id"])


# --------------------------------------------------------------------------------------------
# Static tables

_M64: Final = (1 << 64) - 1
_SEC: Final = 1000
_MIN: Final = 60 * _SEC
_HOUR: Final = 60 * _MIN
_DAY: Final = 24 * _HOUR
_LEAD: Final = _DAY  # how long before its order a pre-order event may happen


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_FIRST: Final = _words(
    "james mary robert patricia john jennifer michael linda david elizabeth william barbara "
    "richard susan joseph jessica thomas sarah charles karen chris lisa daniel nancy matthew "
    "sandra anthony ashley mark emily steven donna paul michelle andrew carol joshua amanda "
    "kevin melissa brian deborah priya wei carlos sofia ahmed fatima olivia liam noah emma "
    "mateo ava aisha hiro yuki diego lucia"
)
_LAST: Final = _words(
    "smith johnson williams brown jones garcia miller davis rodriguez martinez hernandez "
    "lopez gonzalez wilson anderson thomas taylor moore jackson martin lee perez thompson "
    "white harris sanchez clark ramirez lewis robinson walker young allen king wright scott "
    "torres nguyen hill flores green adams nelson baker hall rivera campbell mitchell carter "
    "roberts patel kim chen shah okafor murphy obrien kowalski rossi"
)
_US_DOMAINS: Final = _words(
    "gmail.com gmail.com gmail.com gmail.com gmail.com yahoo.com yahoo.com outlook.com "
    "hotmail.com icloud.com icloud.com aol.com comcast.net proton.me"
)
_UK_DOMAINS: Final = _words(
    "gmail.com gmail.com gmail.com btinternet.com yahoo.co.uk hotmail.co.uk outlook.com "
    "sky.com icloud.com"
)
_WORK_DOMAINS: Final = ("acme-corp.com", "globex.io", "initech.com", "umbrella.co", "hooli.xyz")
_US_CITIES: Final = (
    ("New York", "NY", "10001"),
    ("Brooklyn", "NY", "11211"),
    ("Jersey City", "NJ", "07302"),
    ("Boston", "MA", "02116"),
    ("Chicago", "IL", "60614"),
    ("San Francisco", "CA", "94103"),
    ("Austin", "TX", "78701"),
    ("Seattle", "WA", "98101"),
    ("Miami", "FL", "33131"),
    ("Denver", "CO", "80202"),
)
_UK_CITIES: Final = (
    ("London", "ENG", "SW1A 1AA"),
    ("Manchester", "ENG", "M1 1AE"),
    ("Edinburgh", "SCT", "EH1 1YZ"),
    ("Bristol", "ENG", "BS1 4DJ"),
)
# Real area codes; exchanges 200-999 except N11, 555 (fiction) and a few special ones.
_US_AREAS: Final = _words(
    "212 646 917 718 347 929 312 773 415 510 617 202 305 512 206 303 404 213 310 702 615 713 "
    "214 503"
)
_US_EXCHANGES: Final = tuple(
    f"{e:03d}" for e in range(200, 1000) if e % 100 != 11 and e not in (555, 950, 958, 959, 976)
)
_US_SLOTS: Final = len(_US_AREAS) * len(_US_EXCHANGES) * 10_000
_UK_SLOTS: Final = 70_000_000  # 0771x ... 0777x mobiles
_PHONE_MULT: Final = 2_654_435_761  # prime, so person -> phone slot is injective

_STORES: Final = (
    ("STORE-001", "SoHo Flagship"),
    ("STORE-002", "Brooklyn Williamsburg"),
    ("STORE-003", "Hudson Yards"),
    ("STORE-004", "Boston Newbury St"),
    ("STORE-005", "Chicago Wicker Park"),
    ("STORE-006", "Outlet Secaucus"),
)
_POS_PAYMENTS: Final = ("card", "card", "card", "apple_pay", "google_pay", "cash", "gift_card")
_JUNK_EMAILS_FIXED: Final = ("test@test.com", "none", "null", "", "TEST@TEST.COM", "n/a")
_JUNK_PHONES: Final = ("0000000000", "0000000000", "1234567890", "000-000-0000", "N/A")
_REFUND_NOTES: Final = ("Wrong size", "Damaged in transit", "Price adjustment", "Changed my mind")
_PRODUCT_SPECS: Final = (
    ("Linen Shirt", 6800),
    ("Oxford Shirt", 7400),
    ("Merino Crew Sweater", 12800),
    ("Cashmere Beanie", 5800),
    ("Selvedge Denim Jeans", 14800),
    ("Chino Pants", 8900),
    ("Wool Overshirt", 16500),
    ("Classic Tee", 2800),
    ("Pocket Tee 3-Pack", 6900),
    ("Hoodie", 9800),
    ("Rain Jacket", 19800),
    ("Puffer Vest", 15900),
    ("Canvas Tote", 3500),
    ("Leather Belt", 5500),
    ("Wool Socks", 1800),
    ("Baseball Cap", 3200),
    ("Silk Scarf", 7900),
    ("Linen Dress", 13800),
    ("Slip Skirt", 8800),
    ("Cardigan", 11900),
    ("Running Shorts", 4800),
    ("Swim Trunks", 5900),
    ("Leather Sneakers", 16800),
    ("Chelsea Boots", 23900),
    ("Sunglasses", 9500),
    ("Gift Card $50", 5000),
    ("Gift Card $100", 10000),
    ("Candle - Fig", 3900),
    ("Ceramic Mug", 2400),
    ("Weekender Bag", 21500),
    ("Travel Kit", 4400),
    ("Bandana", 1500),
)
_PAGES: Final = (
    "/",
    "/collections/new-arrivals",
    "/collections/sale",
    "/collections/men",
    "/collections/women",
    "/pages/stores",
    "/pages/shipping",
    "/blogs/journal",
)
_CHANNELS: Final = ("online", "app")
_B32: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Share of a day's orders per UTC hour (busy during US afternoons and evenings).
_HOURLY: Final = (
    6, 5, 4, 3, 2, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7,
)  # fmt: skip

# Envelope kinds in the schedule.
_K_API: Final = 0  # an API event; a = payload, b = truth
_K_REDELIVER: Final = 1  # orjson bytes of an earlier envelope
_K_SHOPIFY: Final = 2  # Shopify order webhook; b = (topic, state)
_K_SHOPIFY_REFUND: Final = 3  # Shopify refunds/create; b = refund tuple
_K_WOO: Final = 4  # WooCommerce order webhook; b = (topic, state)
_K_SQUARE: Final = 5  # Square payment.created
_K_POS: Final = 6  # POS transaction

_BASKETS: Final = 4096  # distinct basket templates per world
_FREE_SHIPPING: Final = 7500
_SHIPPING: Final = 795
_SHIPPING_S: Final = "7.95"
_ALNUM: Final = str.maketrans({"+": "x", "/": "Q", "=": "7"})
_MMSS: Final = tuple(f"{m:02d}:{s:02d}" for m in range(60) for s in range(60))  # by second
_MS_Z: Final = tuple(f".{ms:03d}Z" for ms in range(1000))


def _mix(x: int) -> int:
    """SplitMix64 finaliser: a fast, well-mixed 64-bit hash of an integer."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _money(cents: int) -> str:
    """Exact two-decimal string from integer cents (``-1050`` -> ``"-10.50"``)."""
    if cents < 0:
        return "-" + _money(-cents)
    return f"{cents // 100}.{cents % 100:02d}"


def _number(cents: int) -> int | float:
    """A JSON number for an amount: an int when whole, else the float whose shortest repr is the
    exact two-decimal value (``1250`` -> ``12.5``), as WooCommerce and POS systems send them."""
    return cents // 100 if cents % 100 == 0 else cents / 100


def _uuid(a: int, b: int) -> str:
    """A version-4-shaped UUID string from two 64-bit integers."""
    return (
        f"{a >> 32:08x}-{(a >> 16) & 0xFFFF:04x}-4{a & 0xFFF:03x}-"
        f"a{(b >> 52) & 0xFFF:03x}-{b & 0xFFFFFFFFFFFF:012x}"
    )


def _base(x: int, alphabet: str, width: int) -> str:
    n = len(alphabet)
    out = []
    for _ in range(width):
        x, r = divmod(x, n)
        out.append(alphabet[r])
    return "".join(out)


@dataclass(frozen=True, slots=True)
class _Product:
    title: str
    sku: str
    shop_product_id: int
    shop_product_key: str  # the Shopify product id as a string (API events)
    shop_variant_id: int
    woo_product_id: int
    cents: int
    price: str
    number: int | float


_PRODUCTS: Final = tuple(
    _Product(
        title=title,
        sku=f"{''.join(w[0] for w in title.replace('-', ' ').split()).upper()}-{i:03d}",
        shop_product_id=7_400_000_000_000 + 7919 * i,
        shop_product_key=str(7_400_000_000_000 + 7919 * i),
        shop_variant_id=42_100_000_000_000 + 104_729 * i,
        woo_product_id=80 + i,
        cents=cents,
        price=_money(cents),
        number=_number(cents),
    )
    for i, (title, cents) in enumerate(_PRODUCT_SPECS)
)


def _popular_product(u: float) -> _Product:
    """A product, skewed towards the first (best-selling) ones, from ``u`` in ``[0, 1)``."""
    return _PRODUCTS[int(len(_PRODUCTS) * u * u)]  # exact IEEE arithmetic, no libm


@dataclass(frozen=True, slots=True)
class _Basket:
    """A precomputed basket: line items (product, quantity), amounts in cents and as strings."""

    lines: tuple[tuple[_Product, int, str], ...]  # (product, quantity, line total string)
    sub: int
    tax: int
    sub_s: str
    tax_s: str


def _make_basket(rng: Random) -> _Basket:
    r = rng.random()
    n = 1 if r < 0.6 else 2 if r < 0.85 else 3 if r < 0.95 else 4 + rng.randrange(2)
    lines = []
    sub = 0
    for _ in range(n):
        prod = _popular_product(rng.random())
        qty = 1 if rng.random() < 0.85 else 2 + rng.randrange(2)
        lines.append((prod, qty, _money(prod.cents * qty)))
        sub += prod.cents * qty
    tax = (sub * 8875 + 50_000) // 100_000  # 8.875 % NYC sales tax, rounded half up
    return _Basket(tuple(lines), sub, tax, _money(sub), _money(tax))


class _Person:
    """Everything about person ``pid`` that payloads need, derived from the world's salts.

    Nothing about a person is stored between orders: the same ``pid`` always derives the
    same person.
    """

    __slots__ = (
        "city",
        "email",
        "first",
        "first_cap",
        "h",
        "household",
        "last",
        "last_cap",
        "loyalty",
        "phone",
        "pid",
        "pref",
        "uk",
    )

    def __init__(self, w: _World, pid: int) -> None:
        self.pid = pid
        self.h = h = _mix(w.s_person ^ pid)
        head = pid
        hh = h
        if w.family_thr:
            hb = _mix(w.s_family ^ (pid >> 2))
            if (hb & 0xFFFF) < w.family_thr and (pid & 3) < 2 + (hb >> 16) % 3:
                head = pid & ~3  # households are blocks of 4 consecutive person ids
                hh = _mix(w.s_person ^ head)
        self.household = head
        self.uk = uk = ((hh >> 8) & 0xFFFF) < w.uk_thr
        self.first = first = _FIRST[(h >> 32) % len(_FIRST)]
        self.last = last = _LAST[(hh >> 24) % len(_LAST)]
        self.first_cap = first.capitalize()
        self.last_cap = last.capitalize()
        style = (h >> 40) & 3
        n = pid + 1
        if style == 0:
            local = f"{first}.{last}{n}"
        elif style == 1:
            local = f"{first}{last}{n}"
        elif style == 2:
            local = f"{first[0]}{last}{n}"
        else:
            local = f"{first}_{last}{n}"
        if uk:
            self.email = f"{local}@{_UK_DOMAINS[(h >> 44) % len(_UK_DOMAINS)]}"
            slot = (head * _PHONE_MULT + w.s_phone) % _UK_SLOTS
            self.phone = f"77{1 + slot // 10_000_000}{slot % 10_000_000:07d}"
            self.loyalty: str | None = None
            self.city = _UK_CITIES[(hh >> 4) % len(_UK_CITIES)]
        else:
            self.email = f"{local}@{_US_DOMAINS[(h >> 44) % len(_US_DOMAINS)]}"
            slot = (head * _PHONE_MULT + w.s_phone) % _US_SLOTS
            area = _US_AREAS[slot % len(_US_AREAS)]
            slot //= len(_US_AREAS)
            exch = _US_EXCHANGES[slot % len(_US_EXCHANGES)]
            self.phone = f"{area}{exch}{slot // len(_US_EXCHANGES):04d}"
            self.loyalty = (
                f"LOY-{(pid * 7_654_321 + 1_234_567) % 100_000_000:08d}"
                if (h >> 58) % 10 < 6
                else None
            )
            self.city = _US_CITIES[(hh >> 4) % len(_US_CITIES)]
        self.pref = ((h >> 12) & 0xFFFF) / 65536  # where this person's preferred channel lies

    @property
    def e164(self) -> str:
        return f"+44{self.phone}" if self.uk else f"+1{self.phone}"

    @property
    def shopify_customer_id(self) -> int:
        if (self.h >> 50) % 10 == 0:  # 10 % above 2**53, like real Shopify ids
            return (1 << 56) + self.pid * 104_729 + 17
        return 6_100_000_000_000 + self.pid * 13 + self.h % 13

    @property
    def woo_customer_id(self) -> int:
        return 100 + self.pid if (self.h >> 54) % 10 < 6 else 0  # 0 = guest checkout


class _Order(NamedTuple):
    """The fixed facts of one order while its lifecycle events are pending.

    It holds plain values only and is scheduled as a plain ``tuple(order)``: CPython's cyclic
    garbage collector stops tracking exact tuples of untracked values (and the schedule entries
    holding them), so a long schedule costs the collector nothing. (NamedTuple instances
    themselves always stay tracked.)
    """

    t: int
    oid: int | str  # platform order / payment / transaction id
    basket: int  # index into _World.baskets
    ship: int
    total: int
    total_s: str
    first: str  # capitalised, as the platforms store names
    last: str
    city: tuple[str, str, str]
    uk: bool
    truth: dict[str, int | None] | None
    num: int = 0  # Shopify order number
    line_base: int = 0  # line item ids are line_base + 1, + 2, ...
    key: str = ""  # WooCommerce order_key, Square order id
    event_id: str = ""  # Square event id
    created: str = ""  # formatted creation time (store-local)
    created_gmt: str = ""  # WooCommerce date_created_gmt
    email: str | None = None
    cust_email: str | None = None
    cust_phone: str | None = None
    phone: str | None = None
    bill_phone: str | None = None
    cart: str | None = None
    # Shopify customer.id / WooCommerce customer_id / Square customer_id / POS customer object
    # (False: no "customer" key at all).
    customer: Any = None
    pay_method: str = ""
    store: int = 0
    flag: bool = False  # POS: amounts as JSON numbers


# --------------------------------------------------------------------------------------------
# The generator


class _World:
    def __init__(self, config: GeneratorConfig) -> None:
        self.c = config
        self.rng = Random(config.seed)
        self.rand = self.rng.random
        base = config.seed & _M64
        (
            self.s_person,
            self.s_family,
            self.s_phone,
            self.s_cookie,
            self.s_device,
            self.s_square,
            self.s_visitor,
            self.s_misc,
        ) = (_mix(base * 16 + i + 1) for i in range(8))
        end = (config.end or _DEFAULT_END).astimezone(UTC)
        self.end_ms = (end - _EPOCH) // timedelta(milliseconds=1)
        self.start_ms = self.end_ms - config.days * _DAY
        self.tz = ZoneInfo(config.store_timezone)
        self.cur = config.currency
        self.domain = config.brand_domain
        self.truth = config.include_truth
        self.redelivery_rate = config.redelivery_rate
        self.family_thr = int(config.family_share * 65536)
        self.uk_thr = int(config.uk_share * 65536)
        srcs = [(s, w) for s, w in config.source_weights if w > 0]
        total_w = sum(w for _, w in srcs)
        acc = 0.0
        self.src_cum: list[tuple[float, str]] = []
        for s, w in srcs:
            acc += w / total_w
            self.src_cum.append((acc, s))
        self.src_cum[-1] = (1.0, self.src_cum[-1][1])
        online = [s for s, _ in srcs if s in ("shopify", "woocommerce")]
        self.online_fallback = online[0] if online else "shopify"
        # Hour-of-day warp, rotated so that index 0 is the start's UTC hour.
        rot = (self.start_ms // _HOUR) % 24
        weights = [_HOURLY[(h + rot) % 24] for h in range(24)]
        tw = sum(weights)
        self.hour_cum: list[float] = []
        run = 0.0
        for w in weights:
            self.hour_cum.append(run)
            run += w / tw
        self.hour_w = [w / tw for w in weights]
        # Basket templates come from their own stream so the main stream stays cheap.
        basket_rng = Random(_mix(self.s_misc ^ 0xBA5CE7))
        self.baskets = tuple(_make_basket(basket_rng) for _ in range(_BASKETS))
        # Caches for fast timestamp formatting.
        self._local: dict[int, tuple[str, int, str]] = {}
        self._utc: dict[int, str] = {}
        # Counters and the schedule.
        self.seq = 0
        self.next_pid = 0
        self.buyers = array("I")
        self.shop_n = 0
        self.shop_line = 13_600_000_000_000
        self.shop_refund = 0
        self.woo_post = 1200
        self.woo_line = 300
        self.pos_n = 0
        self.visitor_n = 0
        self.merchant_id = _base(self.s_misc, _B32, 13)
        self.square_locations = tuple(_base(_mix(self.s_misc + i), _B32, 13) for i in range(1, 4))
        self.junk_emails = (*_JUNK_EMAILS_FIXED, f"noreply@{self.domain}", f"orders@{self.domain}")
        self.junk_customer_ids = {
            email: 5_000_000_000_000 + i for i, email in enumerate(self.junk_emails)
        }
        self.heap: list[tuple[int, int, int, Any, Any]] = []

    # ---- time formatting ---------------------------------------------------------------

    def _local_block(self, block: int) -> tuple[str, int, str]:
        """(local ``YYYY-MM-DDTHH:`` prefix, seconds into that local hour at the block start,
        offset string) for the 15-minute UTC block ``block``.

        Real UTC offsets are multiples of 15 minutes, so a 15-minute UTC block lies within one
        local hour and has one offset.
        """
        hit = self._local.get(block)
        if hit is None:
            if len(self._local) > 50_000:
                self._local.clear()
            start = block * 900
            local = datetime.fromtimestamp(start, self.tz)
            secs = int((local.utcoffset() or timedelta(0)).total_seconds())
            sign = "-" if secs < 0 else "+"
            hh, mm = divmod(abs(secs) // 60, 60)
            hit = (
                local.strftime("%Y-%m-%dT%H:"),
                (start + secs) % 3600,
                f"{sign}{hh:02d}:{mm:02d}",
            )
            self._local[block] = hit
        return hit

    def _utc_hour(self, hour: int) -> str:
        hit = self._utc.get(hour)
        if hit is None:
            if len(self._utc) > 50_000:
                self._utc.clear()
            hit = datetime.fromtimestamp(hour * 3600, UTC).strftime("%Y-%m-%dT%H:")
            self._utc[hour] = hit
        return hit

    def local_iso(self, t: int) -> str:
        """Store-local time with offset: ``2025-11-03T09:14:05-05:00``."""
        s = t // 1000
        hit = self._local.get(s // 900) or self._local_block(s // 900)
        return hit[0] + _MMSS[hit[1] + s % 900] + hit[2]

    def local_naive(self, t: int) -> str:
        """Store-local time without offset (WooCommerce ``date_*``)."""
        s = t // 1000
        hit = self._local.get(s // 900) or self._local_block(s // 900)
        return hit[0] + _MMSS[hit[1] + s % 900]

    def utc_naive(self, t: int) -> str:
        """UTC without offset (WooCommerce ``date_*_gmt``)."""
        s = t // 1000
        return (self._utc.get(s // 3600) or self._utc_hour(s // 3600)) + _MMSS[s % 3600]

    def utc_ms(self, t: int) -> str:
        """UTC with milliseconds: ``2025-11-03T14:14:05.123Z``."""
        s = t // 1000
        prefix = self._utc.get(s // 3600) or self._utc_hour(s // 3600)
        return prefix + _MMSS[s % 3600] + _MS_Z[t % 1000]

    def order_time(self, k: int) -> int:
        """Time of order ``k``: non-decreasing in ``k``, with a daily rhythm."""
        x = (k + self.rand()) * self.c.days / self.c.orders
        day = int(x)
        frac = x - day
        cum = self.hour_cum
        h = 23
        while cum[h] > frac:
            h -= 1
        within = min((frac - cum[h]) / self.hour_w[h], 0.999_999)
        return min(self.start_ms + day * _DAY + int((h + within) * _HOUR), self.end_ms - 1)

    # ---- identifiers -------------------------------------------------------------------

    def rr(self, lo: int, hi: int) -> int:
        """A random int in ``[lo, hi)`` (much cheaper than ``Random.randrange``)."""
        return lo + int(self.rand() * (hi - lo))

    def token(self) -> str:
        """A 32-hex-digit token (Shopify ``cart_token`` style)."""
        return f"{self.rng.getrandbits(128):032x}"

    def cookie(self, pid: int, slot: int) -> str:
        x = _mix(self.s_cookie ^ (pid * 4 + slot))
        return _uuid(x, _mix(x))

    def device(self, pid: int) -> str:
        x = _mix(self.s_device ^ pid)
        return _uuid(x, _mix(x)).upper()

    def square_id(self) -> str:
        """A 29-character alphanumeric Square object id."""
        return b64encode(self.rng.randbytes(22)).decode()[:29].translate(_ALNUM)

    def square_customer_id(self, p: _Person) -> str:
        x = _mix(self.s_square ^ p.pid)
        return b32encode(x.to_bytes(8, "big") + _mix(x).to_bytes(8, "big")).decode()[:26]

    def email_variant(self, email: str) -> str:
        r = self.rand()
        if r < 0.6:
            return email
        local, _, dom = email.partition("@")
        nice = f"{local.title()}@{dom.capitalize()}"
        if r < 0.8:
            return nice
        if r < 0.9:
            return email.upper()
        return f"  {nice} "

    def phone_variant(self, p: _Person, *, national_ok: bool) -> str:
        """One of the ways people and systems write ``p``'s phone.

        UK national forms (``07712 345678``) only when ``national_ok``: the payload then carries
        the country ``GB`` to parse them with.
        """
        d = p.phone
        r = int(self.rand() * 7)
        if p.uk:
            if not national_ok or r < 2:
                return f"+44{d}"
            if r < 4:
                return f"+44 {d[:4]} {d[4:]}"
            if r < 5:
                return f"+44 (0){d[:4]} {d[4:]}"
            if r < 6:
                return f"0{d[:4]} {d[4:]}"
            return f"0{d}"
        if r == 0:
            return f"+1{d}"
        if r == 1:
            return f"+1 {d[:3]}-{d[3:6]}-{d[6:]}"
        if r == 2:
            return f"({d[:3]}) {d[3:6]}-{d[6:]}"
        if r == 3:
            return f"{d[:3]}.{d[3:6]}.{d[6:]}"
        if r == 4:
            return f"{d[:3]}-{d[3:6]}-{d[6:]}"
        if r == 5:
            return d
        return f"1 ({d[:3]}) {d[3:6]}-{d[6:]}"

    def junk_email(self) -> str:
        return self.junk_emails[int(self.rand() * len(self.junk_emails))]

    def junk_phone(self) -> str:
        return _JUNK_PHONES[int(self.rand() * len(_JUNK_PHONES))]

    # ---- scheduling --------------------------------------------------------------------

    def push(self, t: int, kind: int, a: Any, b: Any = None) -> None:
        """Schedule an envelope at time ``t``; outside ``[start, end]`` it never happens."""
        if self.start_ms <= t <= self.end_ms:
            self.seq += 1
            heapq.heappush(self.heap, (t, self.seq, kind, a, b))

    def truth_of(self, p: _Person | None) -> dict[str, int | None] | None:
        if not self.truth:
            return None
        if p is None:
            return {"person": None, "household": None}
        return {"person": p.pid, "household": p.household}

    def api(self, t: int, payload: dict[str, Any], truth: dict[str, int | None] | None) -> None:
        # Only the payload waits in the schedule: a dict of plain values is not tracked by the
        # cyclic garbage collector, which keeps long schedules cheap.
        self.push(t, _K_API, payload, truth)

    def emit(self, item: tuple[int, int, int, Any, Any]) -> dict[str, Any]:
        t, _, kind, a, b = item
        if kind == _K_API:
            if self.truth:
                env: dict[str, Any] = {"source": "api", "topic": None, "payload": a, "truth": b}
            else:
                env = {"source": "api", "topic": None, "payload": a}
        elif kind == _K_REDELIVER:
            redelivered: dict[str, Any] = orjson.loads(a)
            return redelivered
        else:
            a = _Order._make(a)
            if kind == _K_SHOPIFY:
                source, topic, payload = "shopify", b[0], self.shopify_order(a, b[1])
            elif kind == _K_SHOPIFY_REFUND:
                source, topic, payload = "shopify", "refunds/create", self.shopify_refund(a, b)
            elif kind == _K_WOO:
                source, topic, payload = "woocommerce", b[0], self.woo_order(a, b[1])
            elif kind == _K_SQUARE:
                source, topic, payload = "square", "payment.created", self.square_payment(a)
            else:
                source, topic, payload = "pos", None, self.pos_sale(a)
            if self.truth:
                env = {"source": source, "topic": topic, "payload": payload, "truth": a.truth}
            else:
                env = {"source": source, "topic": topic, "payload": payload}
        if self.rand() < self.redelivery_rate:
            r = self.rand()
            if r < 0.5:  # the receiver timed out; immediate retry
                delay = self.rr(1 * _SEC, 120 * _SEC)
            elif r < 0.9:  # the platform's retry schedule
                delay = self.rr(5 * _MIN, 4 * _HOUR)
            else:  # a manual replay, after newer updates of the same order
                delay = self.rr(4 * _HOUR, 48 * _HOUR)
            self.push(t + delay, _K_REDELIVER, orjson.dumps(env))
        return env

    def run(self) -> Iterator[dict[str, Any]]:
        heap = self.heap
        pop = heapq.heappop
        emit = self.emit
        plan = self.plan
        order_time = self.order_time
        for k in range(self.c.orders):
            t = order_time(k)
            # Everything planned from now on happens at or after t - _LEAD.
            horizon = t - _LEAD
            while heap and heap[0][0] <= horizon:
                yield emit(pop(heap))
            plan(t)
        while heap:
            yield emit(pop(heap))

    # ---- planning one order ------------------------------------------------------------

    def plan(self, t: int) -> None:
        rand = self.rand
        c = self.c
        buyers = self.buyers
        if buyers and rand() < c.returning_share:
            # Preferential attachment: a uniformly chosen past order's buyer, so frequent
            # buyers are chosen more often (power-law order counts).
            pid = buyers[int(rand() * len(buyers))]
        else:
            pid = self.next_pid
            self.next_pid += 1
        buyers.append(pid)
        p = _Person(self, pid)
        u = p.pref if rand() < 0.7 else rand()
        src = self.src_cum[-1][1]
        for edge, name in self.src_cum:
            if u < edge:
                src = name
                break
        if p.uk and (src == "pos" or src == "square"):
            src = self.online_fallback
        junk = rand() < c.junk_rate
        if src == "shopify":
            self.plan_shopify(t, p, junk)
        elif src == "woocommerce":
            self.plan_woo(t, p, junk)
        elif src == "pos":
            self.plan_pos(t, p, junk)
        else:
            self.plan_square(t, p)
        if rand() < c.message_rate:
            self.plan_message(t, p, src)
        if rand() < c.browse_noise_rate:
            self.plan_noise(t)

    def basket(self, *, shipping: bool) -> tuple[int, _Basket, int, int]:
        """A random basket: (index, basket, shipping in cents, order total in cents)."""
        i = int(self.rand() * _BASKETS)
        b = self.baskets[i]
        ship = _SHIPPING if shipping and b.sub < _FREE_SHIPPING else 0
        return i, b, ship, b.sub + b.tax + ship

    def plan_shopify(self, t: int, p: _Person, junk: bool) -> None:
        rand = self.rand
        rr = self.rr
        c = self.c
        bi, b, ship, total = self.basket(shipping=True)
        self.shop_n += 1
        line_base = self.shop_line
        self.shop_line += len(b.lines)
        phone = cust_phone = bill_phone = None
        if junk:
            email = cust_email = self.junk_email()
            bill_phone = self.junk_phone()
            customer = self.junk_customer_ids[email]
        else:
            cust_email = p.email
            if rand() < 0.02:
                email = f"{p.first}.{p.last}{p.pid}@{_WORK_DOMAINS[p.pid % 5]}"
            else:
                email = self.email_variant(p.email)
            if rand() < 0.1:
                phone = p.e164
            if rand() < 0.4:
                cust_phone = p.e164
            if rand() < 0.55:
                bill_phone = self.phone_variant(p, national_ok=True)
            customer = p.shopify_customer_id
        cart = self.token()
        o = _Order(
            t,
            4_500_000_000_000 + self.shop_n * 37 + int(rand() * 37),
            bi,
            ship,
            total,
            _money(total),
            p.first_cap,
            p.last_cap,
            p.city,
            p.uk,
            self.truth_of(p),
            num=1000 + self.shop_n,
            line_base=line_base,
            created=self.local_iso(t),
            email=email,
            cust_email=cust_email,
            cust_phone=cust_phone,
            phone=phone,
            bill_phone=bill_phone,
            cart=cart,
            customer=customer,
        )
        # Scheduled as a plain tuple: see _Order.
        raw = tuple(o)
        if rand() < c.web_session_rate:
            self.plan_session(t, p, cart)
        st: tuple[Any, ...] = (t, "paid", None, None, (), None)
        self.push(t, _K_SHOPIFY, raw, ("orders/create", st))
        if rand() < c.paid_topic_rate:
            self.push(t + rr(1 * _SEC, 8 * _SEC), _K_SHOPIFY, raw, ("orders/paid", st))
        if rand() < c.cancel_rate:
            tc = t + rr(10 * _MIN, 36 * _HOUR)
            if rand() < 0.5:
                st = (tc, "voided", None, tc, (), tc)
                self.push(tc, _K_SHOPIFY, raw, ("orders/cancelled", st))
            else:
                rf = self.shopify_refund_tuple(tc, o.total, "Order canceled")
                self.push(tc, _K_SHOPIFY_REFUND, raw, rf)
                tu = tc + rr(1 * _SEC, 5 * _SEC)
                st = (tu, "refunded", None, tc, (rf,), tc)
                self.push(tu, _K_SHOPIFY, raw, ("orders/cancelled", st))
            return
        steps: list[tuple[int, bool]] = []  # (time, is_refund)
        if rand() < c.fulfill_rate:
            steps.append((t + rr(6 * _HOUR, 5 * _DAY), False))
        if rand() < c.refund_rate:
            steps.append((t + rr(2 * _DAY, 20 * _DAY), True))
            if rand() < 0.15:
                steps.append((t + rr(5 * _DAY, 30 * _DAY), True))
        if not steps:
            return
        steps.sort()
        fin = "paid"
        ful: str | None = None
        closed: int | None = None
        refunds: tuple[tuple[int, int, int, int, str], ...] = ()
        refunded = 0
        for ts, is_refund in steps:
            if not is_refund:
                ful, closed = "fulfilled", ts
                self.push(
                    ts, _K_SHOPIFY, raw, ("orders/updated", (ts, fin, ful, None, refunds, ts))
                )
                continue
            left = o.total - refunded
            if left <= 0:
                continue
            amount = self.refund_amount(left, o.total, 0.25)
            rf = self.shopify_refund_tuple(ts, amount, _REFUND_NOTES[int(rand() * 4)])
            refunded += amount
            refunds = (*refunds, rf)
            fin = "refunded" if refunded >= o.total else "partially_refunded"
            self.push(ts, _K_SHOPIFY_REFUND, raw, rf)
            tu = ts + rr(1 * _SEC, 30 * _SEC)
            self.push(
                tu, _K_SHOPIFY, raw, ("orders/updated", (tu, fin, ful, None, refunds, closed))
            )

    def refund_amount(self, left: int, total: int, full_share: float) -> int:
        """All of ``left`` with probability ``full_share``, else 10-49 % of ``total`` (capped)."""
        if self.rand() < full_share:
            return left
        return max(1, min(left, total * self.rr(10, 50) // 100))

    def shopify_refund_tuple(self, t: int, cents: int, note: str) -> tuple[int, int, int, int, str]:
        """(refund id, transaction id, time, amount in cents, note)."""
        self.shop_refund += 1
        rid = 880_000_000_000 + self.shop_refund * 11
        return (rid, 5_300_000_000_000 + self.shop_refund * 7, t, cents, note)

    def plan_session(self, t: int, p: _Person, cart: str | None) -> None:
        """Views and cart adds shortly before ``t`` (an abandoned cart when ``cart`` is None).

        Every event lies in ``(t - 6h, t)``, so within ``_LEAD`` of ``t``.
        """
        rand = self.rand
        app = rand() < 0.2
        if app:
            key, ident = "device_id", self.device(p.pid)
        else:
            key, ident = "cookie_id", self.cookie(p.pid, 0 if rand() < 0.6 else int(rand() * 3))
        email = self.email_variant(p.email) if rand() < 0.25 else None
        if cart is None and rand() < 0.5:
            cart = self.token()
        views = int(rand() * 3)
        n = views + (0 if cart is None else 2 if rand() < 0.3 else 1)
        if n == 0:
            return
        gaps = [10 * _SEC + int(rand() * (8 * _MIN)) for _ in range(n)]
        ts = t - sum(gaps) - _MIN - int(rand() * (5 * _HOUR))
        truth = self.truth_of(p) if self.truth else None
        channel = _CHANNELS[app]
        for i in range(n):
            prod = _popular_product(rand())
            if i < views:
                payload: dict[str, Any] = {
                    "event_type": "product_view",
                    "occurred_at": self.utc_ms(ts),
                    key: ident,
                    "product_id": prod.shop_product_key,
                    "product_name": prod.title,
                    "price": prod.price,
                }
            else:
                payload = {
                    "event_type": "cart_add",
                    "occurred_at": self.utc_ms(ts),
                    key: ident,
                    "cart_token": cart,
                    "product_id": prod.shop_product_key,
                    "product_name": prod.title,
                    "price": prod.price,
                    "quantity": 1,
                    "channel": channel,
                }
                if email is not None:
                    payload["email"] = email
            self.api(ts, payload, truth)
            ts += gaps[i]

    def plan_noise(self, t: int) -> None:
        """A known customer browsing / abandoning a cart, or an anonymous visitor."""
        rand = self.rand
        ts = t - int(rand() * (_LEAD - 6 * _HOUR))
        if self.buyers and rand() < 0.4:
            pid = self.buyers[int(rand() * len(self.buyers))]
            self.plan_session(ts, _Person(self, pid), None)
            return
        self.visitor_n += 1
        x = _mix(self.s_visitor ^ self.visitor_n)
        cookie = _uuid(x, _mix(x))
        truth = self.truth_of(None)
        for _ in range(1 + int(rand() * 3)):
            payload = {
                "event_type": "page_view",
                "occurred_at": self.utc_ms(ts),
                "cookie_id": cookie,
                "url": f"https://{self.domain}{_PAGES[int(rand() * len(_PAGES))]}",
            }
            self.api(ts, payload, truth)
            ts += 5 * _SEC + int(rand() * (3 * _MIN))

    def plan_message(self, t: int, p: _Person, src: str) -> None:
        """A WhatsApp message before (a product question) or after (order support) ``t``."""
        rand = self.rand
        if rand() < 0.5:
            ts = t - self.rr(30 * _MIN, _LEAD)
            prod = _PRODUCTS[int(rand() * len(_PRODUCTS))]
            text = f"Hi! Is the {prod.title} available in a medium?"
        else:
            ts = t + self.rr(1 * _DAY, 6 * _DAY)
            text = (
                "Hi, I bought something in store, can I return it online?"
                if src in ("pos", "square")
                else "Hi, any update on my order? It has not arrived yet."
            )
        payload = {
            "event_type": "message",
            "occurred_at": self.utc_ms(ts),
            "channel": "whatsapp",
            "phone": p.e164,
            "text": text,
            "direction": "inbound",
        }
        self.api(ts, payload, self.truth_of(p))

    def plan_woo(self, t: int, p: _Person, junk: bool) -> None:
        rand = self.rand
        rr = self.rr
        c = self.c
        bi, b, ship, total = self.basket(shipping=True)
        self.woo_post += 1 + int(rand() * 3)  # posts are shared with other content types
        line_base = self.woo_line
        self.woo_line += len(b.lines)
        if junk:
            email = self.junk_email()
            bill_phone = self.junk_phone()
            customer = 0
        else:
            email = self.email_variant(p.email)
            bill_phone = self.phone_variant(p, national_ok=True) if rand() < 0.8 else ""
            customer = p.woo_customer_id
        bacs = rand() < 0.1
        o = _Order(
            t,
            self.woo_post,
            bi,
            ship,
            total,
            _money(total),
            p.first_cap,
            p.last_cap,
            p.city,
            p.uk,
            self.truth_of(p),
            line_base=line_base,
            key=f"wc_order_{self.rng.getrandbits(44):011x}",
            created=self.local_naive(t),
            created_gmt=self.utc_naive(t),
            email=email,
            bill_phone=bill_phone,
            customer=customer,
            pay_method="bacs" if bacs else "stripe",
        )
        # Scheduled as a plain tuple: see _Order.
        raw = tuple(o)
        status = "on-hold" if bacs else "processing"
        paid = None if bacs else t
        self.push(t, _K_WOO, raw, ("order.created", (t, status, paid, None, ())))
        ts = t
        if bacs:
            ts = t + rr(2 * _HOUR, 2 * _DAY)
            status, paid = "processing", ts
            self.push(ts, _K_WOO, raw, ("order.updated", (ts, status, paid, None, ())))
        if rand() < c.cancel_rate:
            tc = ts + rr(10 * _MIN, 2 * _DAY)
            self.push(tc, _K_WOO, raw, ("order.updated", (tc, "cancelled", paid, None, ())))
            return
        done = None
        if rand() < c.fulfill_rate:
            done = ts + rr(6 * _HOUR, 5 * _DAY)
            self.push(done, _K_WOO, raw, ("order.updated", (done, "completed", paid, done, ())))
            status = "completed"
        if rand() < c.refund_rate:
            tr = (done or ts) + rr(1 * _DAY, 15 * _DAY)
            refunds: tuple[tuple[int, str, int], ...] = ()
            left = o.total
            for _ in range(2 if rand() < 0.15 else 1):
                amount = self.refund_amount(left, o.total, 0.3)
                left -= amount
                self.woo_post += 1
                refunds = (*refunds, (self.woo_post, _REFUND_NOTES[int(rand() * 4)], amount))
                if left == 0:
                    status = "refunded"
                self.push(tr, _K_WOO, raw, ("order.updated", (tr, status, paid, done, refunds)))
                if left == 0:
                    break
                tr += rr(1 * _HOUR, 5 * _DAY)

    def plan_pos(self, t: int, p: _Person, junk: bool) -> None:
        rand = self.rand
        bi, _, ship, total = self.basket(shipping=False)
        self.pos_n += 1
        home = (p.h >> 36) % len(_STORES)
        store = home if rand() < 0.8 else int(rand() * len(_STORES))
        customer: Any
        r = rand()
        if rand() < self.c.anonymous_pos_rate:
            # Guest sale: no "customer" key (False), null, or an all-null object.
            customer = (False, None, {"phone": None, "loyalty_id": None})[int(rand() * 3)]
        elif junk:
            customer = {"phone": self.junk_phone(), "loyalty_id": None}
        elif p.loyalty is not None and r < 0.25:
            customer = {"loyalty_id": p.loyalty}
        elif p.loyalty is not None and r < 0.85:
            customer = {"phone": self.phone_variant(p, national_ok=False), "loyalty_id": p.loyalty}
        else:
            customer = {"phone": self.phone_variant(p, national_ok=False)}
        o = _Order(
            t,
            f"TXN-{self.pos_n:08d}",
            bi,
            ship,
            total,
            _money(total),
            p.first_cap,
            p.last_cap,
            p.city,
            p.uk,
            self.truth_of(p),
            customer=customer,
            pay_method=_POS_PAYMENTS[int(rand() * len(_POS_PAYMENTS))],
            store=store,
            flag=rand() < 0.5,
        )
        # Scheduled as a plain tuple: see _Order.
        raw = tuple(o)
        self.push(t, _K_POS, raw)

    def plan_square(self, t: int, p: _Person) -> None:
        bi, _, ship, total = self.basket(shipping=False)
        oid = self.square_id()  # payment id
        key = self.square_id()  # order id
        event_id = _uuid(self.rng.getrandbits(64), self.rng.getrandbits(64))
        r = self.rand()
        customer = self.square_customer_id(p) if r < 0.6 else None
        email = self.email_variant(p.email) if 0.35 < r < 0.6 or 0.8 < r < 0.85 else None
        o = _Order(
            t,
            oid,
            bi,
            ship,
            total,
            _money(total),
            p.first_cap,
            p.last_cap,
            p.city,
            p.uk,
            self.truth_of(p),
            key=key,
            event_id=event_id,
            email=email,
            customer=customer,
            store=int(self.rand() * len(self.square_locations)),
        )
        # Scheduled as a plain tuple: see _Order.
        raw = tuple(o)
        self.push(t, _K_SQUARE, raw)

    # ---- payload builders (called when an envelope is due) -----------------------------

    def shopify_refund(self, o: _Order, rf: tuple[int, int, int, int, str]) -> dict[str, Any]:
        rid, txid, t, cents, note = rf
        ts = self.local_iso(t)
        return {
            "id": rid,
            "order_id": o.oid,
            "created_at": ts,
            "processed_at": ts,
            "note": note,
            "restock": False,
            "transactions": [
                {
                    "id": txid,
                    "order_id": o.oid,
                    "kind": "refund",
                    "gateway": "shopify_payments",
                    "status": "success",
                    "amount": _money(cents),
                    "currency": self.cur,
                    "created_at": ts,
                    "test": False,
                }
            ],
            "refund_line_items": [],
            "order_adjustments": [],
        }

    def shopify_order(self, o: _Order, st: tuple[Any, ...]) -> dict[str, Any]:
        upd, fin, ful, cancelled, refunds, closed = st
        b = self.baskets[o.basket]
        cur = self.cur
        refunded = sum(rf[3] for rf in refunds) if refunds else 0
        upd_s = o.created if upd == o.t else self.local_iso(upd)
        city, region, zip_code = o.city
        line_id = o.line_base
        line_items = []
        for prod, qty, _ in b.lines:
            line_id += 1
            line_items.append(
                {
                    "id": line_id,
                    "product_id": prod.shop_product_id,
                    "variant_id": prod.shop_variant_id,
                    "title": prod.title,
                    "quantity": qty,
                    "price": prod.price,
                    "sku": prod.sku,
                }
            )
        return {
            "id": o.oid,
            "name": f"#{o.num}",
            "order_number": o.num,
            "email": o.email,
            "contact_email": o.email,
            "phone": o.phone,
            "created_at": o.created,
            "updated_at": upd_s,
            "processed_at": o.created,
            "closed_at": None
            if closed is None
            else upd_s
            if closed == upd
            else self.local_iso(closed),
            "cancelled_at": None if cancelled is None else self.local_iso(cancelled),
            "cancel_reason": None if cancelled is None else "customer",
            "currency": cur,
            "presentment_currency": cur,
            "total_line_items_price": b.sub_s,
            "subtotal_price": b.sub_s,
            "total_discounts": "0.00",
            "total_tax": b.tax_s,
            "total_price": o.total_s,
            "current_total_price": _money(o.total - refunded) if refunded else o.total_s,
            "financial_status": fin,
            "fulfillment_status": ful,
            "confirmed": True,
            "test": False,
            "source_name": "web",
            "cart_token": o.cart,
            "customer": {
                "id": o.customer,
                "email": o.cust_email,
                "phone": o.cust_phone,
                "first_name": o.first,
                "last_name": o.last,
            },
            "billing_address": {
                "first_name": o.first,
                "last_name": o.last,
                "city": city,
                "province_code": region,
                "zip": zip_code,
                "country_code": "GB" if o.uk else "US",
                "phone": o.bill_phone,
            },
            "shipping_lines": [
                {
                    "code": "STANDARD",
                    "title": "Standard",
                    "price": (_SHIPPING_S if o.ship else "0.00"),
                },
            ],
            "line_items": line_items,
            "refunds": [self.shopify_refund(o, rf) for rf in refunds],
        }

    def woo_order(self, o: _Order, st: tuple[Any, ...]) -> dict[str, Any]:
        modified, status, paid, completed, refunds = st
        b = self.baskets[o.basket]
        city, region, zip_code = o.city
        line_id = o.line_base
        line_items = []
        for prod, qty, line_total in b.lines:
            line_id += 1
            line_items.append(
                {
                    "id": line_id,
                    "name": prod.title,
                    "product_id": prod.woo_product_id,
                    "variation_id": 0,
                    "quantity": qty,
                    "subtotal": line_total,
                    "total": line_total,
                    "sku": prod.sku,
                    "price": prod.number,
                }
            )
        first = modified == o.t
        return {
            "id": o.oid,
            "parent_id": 0,
            "number": str(o.oid),
            "order_key": o.key,
            "created_via": "checkout",
            "status": status,
            "currency": self.cur,
            "date_created": o.created,
            "date_created_gmt": o.created_gmt,
            "date_modified": o.created if first else self.local_naive(modified),
            "date_modified_gmt": o.created_gmt if first else self.utc_naive(modified),
            "discount_total": "0.00",
            "shipping_total": (_SHIPPING_S if o.ship else "0.00"),
            "cart_tax": b.tax_s,
            "total": o.total_s,
            "total_tax": b.tax_s,
            "prices_include_tax": False,
            "customer_id": o.customer,
            "billing": {
                "first_name": o.first,
                "last_name": o.last,
                "company": "",
                "city": city,
                "state": region,
                "postcode": zip_code,
                "country": "GB" if o.uk else "US",
                "email": o.email,
                "phone": o.bill_phone,
            },
            "payment_method": o.pay_method,
            "date_paid": None if paid is None else self.local_naive(paid),
            "date_paid_gmt": None if paid is None else self.utc_naive(paid),
            "date_completed": None if completed is None else self.local_naive(completed),
            "date_completed_gmt": None if completed is None else self.utc_naive(completed),
            "line_items": line_items,
            "refunds": [
                {"id": rid, "reason": reason, "total": _money(-cents)}
                for rid, reason, cents in reversed(refunds)  # newest first, as WooCommerce
            ],
        }

    def pos_sale(self, o: _Order) -> dict[str, Any]:
        store_id, store_name = _STORES[o.store]
        b = self.baskets[o.basket]
        payload: dict[str, Any] = {
            "transaction_id": o.oid,
            "store_id": store_id,
            "store_name": store_name,
        }
        if o.customer is not False:
            payload["customer"] = o.customer
        if o.flag:  # amounts as JSON numbers, as the seed's example
            payload["subtotal"] = _number(b.sub)
            payload["tax"] = _number(b.tax)
            payload["total"] = _number(o.total)
        else:
            payload["subtotal"] = b.sub_s
            payload["tax"] = b.tax_s
            payload["total"] = o.total_s
        payload["currency"] = self.cur
        payload["items"] = [
            {
                "product_id": prod.sku,
                "product_name": prod.title,
                "price": prod.number if o.flag else prod.price,
                "quantity": qty,
            }
            for prod, qty, _ in b.lines
        ]
        payload["payment_method"] = o.pay_method
        payload["timestamp"] = self.local_iso(o.t)
        return payload

    def square_payment(self, o: _Order) -> dict[str, Any]:
        cur = self.cur
        payment: dict[str, Any] = {
            "id": o.oid,
            "created_at": self.utc_ms(o.t),
            "updated_at": self.utc_ms(o.t + 187),
            "amount_money": {"amount": o.total, "currency": cur},
            "total_money": {"amount": o.total, "currency": cur},
            "status": "COMPLETED",
            "source_type": "CARD",
            "location_id": self.square_locations[o.store],
            "order_id": o.key,
            "receipt_number": str(o.oid)[:4],
        }
        if o.customer is not None:
            payment["customer_id"] = o.customer
        if o.email is not None:
            payment["buyer_email_address"] = o.email
        return {
            "merchant_id": self.merchant_id,
            "type": "payment.created",
            "event_id": o.event_id,
            "created_at": self.utc_ms(o.t + 412),
            "data": {"type": "payment", "id": o.oid, "object": {"payment": payment}},
        }


def generate(config: GeneratorConfig) -> Iterator[dict[str, Any]]:
    """Stream the envelopes of the world described by ``config`` (see the module docstring)."""
    return _World(config).run()


def generate_jsonl(config: GeneratorConfig) -> Iterator[bytes]:
    """The same stream as :func:`generate`, one orjson-encoded line (ending in ``\\n``) each."""
    dumps = orjson.dumps
    option = orjson.OPT_APPEND_NEWLINE
    for envelope in generate(config):
        yield dumps(envelope, option=option)
