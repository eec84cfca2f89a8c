"""Money as text: integer minor units of a currency, written exactly (never through a float).

    money(-499, "USD")            -> "-4.99 USD"
    money(123456789, "JPY")       -> "123,456,789 JPY"
    money(1234, "KWD")            -> "1.234 KWD"
    money(-123456, "USD", plain=True) -> "-1234.56"   (for CSV and forms: no grouping, no code)

It is also the `money` filter and global of the Jinja templates: `{{ amount|money(currency) }}`.
"""

from __future__ import annotations

# ISO 4217 currencies with no minor unit, plus those payment providers (Stripe) treat so (MGA), and smile's
# credits ("CRD", billing.ledger.models.CREDITS), which are whole units.
ZERO_DECIMAL = frozenset(
    {
        "BIF",
        "CLP",
        "CRD",
        "DJF",
        "GNF",
        "ISK",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "UYI",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    }
)
THREE_DECIMAL = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})


def decimals(currency: str) -> int:
    """Digits after the decimal point in `currency` (0, 2 or 3)."""
    code = currency.upper()
    return 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2


def money(amount: int, currency: str, *, plain: bool = False) -> str:
    """`amount` minor units of `currency` for people ("-1,234.56 USD"), or `plain` ("-1234.56")."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise TypeError(f"money amounts are integer minor units, not {type(amount).__name__}")
    places = decimals(currency)
    whole, part = divmod(abs(amount), 10**places)
    number = f"{whole}" if plain else f"{whole:,}"
    if places:
        number += f".{part:0{places}d}"
    sign = "-" if amount < 0 else ""
    return f"{sign}{number}" if plain else f"{sign}{number} {currency.upper()}"
