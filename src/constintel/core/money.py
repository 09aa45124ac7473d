"""Exact money: ``Decimal`` amounts with an ISO 4217 currency, never float.

Amounts arrive as decimal strings (Shopify, WooCommerce), JSON numbers (the seed's POS ``total``,
WooCommerce line-item ``price``) or integer minor units (Square). All of them become a
``Decimal`` quantized to the currency's minor unit; an amount that would need rounding to fit is
rejected rather than silently changed.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from constintel.core.errors import PayloadError

__all__ = [
    "CURRENCY_EXPONENTS",
    "ZERO",
    "from_minor_units",
    "normalize_currency",
    "parse_amount",
    "quantize",
    "to_minor_units",
]

ZERO = Decimal("0.00")

# Active ISO 4217 codes and their minor-unit exponents (2 unless listed otherwise).
_TWO_DECIMALS = [
    "AED",
    "AFN",
    "ALL",
    "AMD",
    "ANG",
    "AOA",
    "ARS",
    "AUD",
    "AWG",
    "AZN",
    "BAM",
    "BBD",
    "BDT",
    "BGN",
    "BMD",
    "BND",
    "BOB",
    "BRL",
    "BSD",
    "BTN",
    "BWP",
    "BYN",
    "BZD",
    "CAD",
    "CDF",
    "CHF",
    "CNY",
    "COP",
    "CRC",
    "CUP",
    "CVE",
    "CZK",
    "DKK",
    "DOP",
    "DZD",
    "EGP",
    "ERN",
    "ETB",
    "EUR",
    "FJD",
    "FKP",
    "GBP",
    "GEL",
    "GHS",
    "GIP",
    "GMD",
    "GTQ",
    "GYD",
    "HKD",
    "HNL",
    "HTG",
    "HUF",
    "IDR",
    "ILS",
    "INR",
    "IRR",
    "JMD",
    "KES",
    "KGS",
    "KHR",
    "KPW",
    "KYD",
    "KZT",
    "LAK",
    "LBP",
    "LKR",
    "LRD",
    "LSL",
    "MAD",
    "MDL",
    "MGA",
    "MKD",
    "MMK",
    "MNT",
    "MOP",
    "MRU",
    "MUR",
    "MVR",
    "MWK",
    "MXN",
    "MYR",
    "MZN",
    "NAD",
    "NGN",
    "NIO",
    "NOK",
    "NPR",
    "NZD",
    "PAB",
    "PEN",
    "PGK",
    "PHP",
    "PKR",
    "PLN",
    "QAR",
    "RON",
    "RSD",
    "RUB",
    "SAR",
    "SBD",
    "SCR",
    "SDG",
    "SEK",
    "SGD",
    "SHP",
    "SLE",
    "SOS",
    "SRD",
    "SSP",
    "STN",
    "SVC",
    "SYP",
    "SZL",
    "THB",
    "TJS",
    "TMT",
    "TOP",
    "TRY",
    "TTD",
    "TWD",
    "TZS",
    "UAH",
    "USD",
    "UYU",
    "UZS",
    "VES",
    "WST",
    "XCD",
    "YER",
    "ZAR",
    "ZMW",
    "ZWL",
]
_ZERO_DECIMALS = [
    "BIF",
    "CLP",
    "DJF",
    "GNF",
    "ISK",
    "JPY",
    "KMF",
    "KRW",
    "PYG",
    "RWF",
    "UGX",
    "UYI",
    "VND",
    "VUV",
    "XAF",
    "XOF",
    "XPF",
]
_THREE_DECIMALS = ["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]

CURRENCY_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(_TWO_DECIMALS, 2),
    **dict.fromkeys(_ZERO_DECIMALS, 0),
    **dict.fromkeys(_THREE_DECIMALS, 3),
}
_QUANTS = {exp: Decimal(1).scaleb(-exp) for exp in (0, 2, 3)}


def normalize_currency(value: object, field: str) -> str:
    """Upper-case ISO 4217 code, or a PayloadError naming ``field``."""
    if not isinstance(value, str) or not value.strip():
        raise PayloadError(field, f"expected an ISO 4217 currency code, got {value!r}")
    code = value.strip().upper()
    if code not in CURRENCY_EXPONENTS:
        raise PayloadError(field, f"unknown currency {value!r}")
    return code


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half-even to the currency's minor unit (used for derived values such as averages)."""
    return amount.quantize(_QUANTS[CURRENCY_EXPONENTS[currency]], rounding=ROUND_HALF_EVEN)


def parse_amount(
    value: object, field: str, currency: str, *, allow_negative: bool = False
) -> Decimal:
    """Parse a decimal amount exactly.

    Strings and ints are exact. A JSON float is converted through its shortest round-trip repr
    (``125.5`` -> ``Decimal("125.5")``), which is the literal that was written for any amount with
    up to 15 significant digits.
    """
    if isinstance(value, bool) or value is None:
        raise PayloadError(field, f"expected an amount, got {value!r}")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation as exc:
            raise PayloadError(field, f"not a number: {value!r}") from exc
    else:
        raise PayloadError(field, f"expected an amount, got {type(value).__name__}")
    if not amount.is_finite():
        raise PayloadError(field, f"amount must be finite, got {value!r}")
    if amount < 0 and not allow_negative:
        raise PayloadError(field, f"amount must not be negative, got {value!r}")
    exact = quantize(amount, currency)
    if exact != amount:
        raise PayloadError(field, f"{value!r} has more decimals than {currency} allows")
    return exact


def to_minor_units(amount: Decimal, currency: str) -> int:
    """Integer minor units of an exact amount (``Decimal("12.34")`` USD -> ``1234``)."""
    return int(amount.scaleb(CURRENCY_EXPONENTS[currency]))


def from_minor_units(value: object, field: str, currency: str) -> Decimal:
    """Square-style integer minor units to an exact Decimal."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(field, f"expected integer minor units, got {value!r}")
    if value < 0:
        raise PayloadError(field, f"amount must not be negative, got {value!r}")
    return quantize(Decimal(value).scaleb(-CURRENCY_EXPONENTS[currency]), currency)
