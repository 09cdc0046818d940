"""Exact money: integer minor units with an ISO 4217 currency.

Amounts travel on the wire as decimal strings (``"1250000.00"``) and live in the
database as integers of the currency's minor unit (cents for USD, fils for KWD,
yen for JPY). Nothing here ever touches a float.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import cache

from iso4217 import Currency

_AMOUNT_RE = re.compile(r"^-?[0-9]{1,15}(\.[0-9]+)?\Z")
# Rates are quoted to at most 10 significant decimals by banks; more is noise.
_RATE_RE = re.compile(r"^[0-9]{1,9}(\.[0-9]{1,10})?\Z")


class MoneyError(ValueError):
    """An amount, currency or rate that cannot be taken as exact money."""


@cache
def minor_units(currency: str) -> int:
    """Return the number of decimals ISO 4217 gives ``currency``.

    Raises MoneyError for codes that are not ISO 4217 currencies, and for codes
    that have no minor unit (gold, SDR, testing codes): they are not money here.
    """
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if len(code) != 3 or code != currency:
        raise MoneyError(f"'{currency}' is not an ISO 4217 currency code (three capitals).")
    try:
        exponent = Currency(code).exponent
    except ValueError:
        raise MoneyError(f"'{currency}' is not an ISO 4217 currency code.") from None
    if exponent is None:
        raise MoneyError(f"'{currency}' has no minor unit and cannot hold money.")
    return int(exponent)


def is_currency(code: str) -> bool:
    try:
        minor_units(code)
    except MoneyError:
        return False
    return True


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An exact amount: ``minor`` units of ``currency`` (e.g. 125000 USD = 1,250.00)."""

    minor: int
    currency: str

    def __post_init__(self) -> None:
        minor_units(self.currency)  # validates the code
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise MoneyError("Money holds an integer number of minor units.")

    @classmethod
    def parse(cls, text: str, currency: str) -> Money:
        """Read a decimal string in ``currency``, refusing more decimals than it has."""
        digits = minor_units(currency)
        if not isinstance(text, str) or not _AMOUNT_RE.match(text):
            raise MoneyError('Not a decimal amount: write it as a string such as "1250.00".')
        value = Decimal(text)
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)
        if -exponent > digits:
            raise MoneyError(
                f"{currency} has {digits} decimal place{'s' if digits != 1 else ''}; "
                f"'{text}' has more."
            )
        return cls(int(value.scaleb(digits)), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(0, currency)

    @property
    def amount(self) -> Decimal:
        return Decimal(self.minor).scaleb(-minor_units(self.currency))

    def __str__(self) -> str:
        digits = minor_units(self.currency)
        return format_minor(self.minor, digits)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"Cannot combine {self.currency} with {other.currency}.")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def convert(self, rate: Decimal, currency: str) -> Money:
        """Convert at ``rate`` (units of ``currency`` per unit of this one), rounding half-even."""
        if currency == self.currency:
            return self
        target = Decimal(self.minor).scaleb(-minor_units(self.currency)) * rate
        quantum = Decimal(1).scaleb(-minor_units(currency))
        rounded = target.quantize(quantum, rounding=ROUND_HALF_EVEN)
        return Money(int(rounded.scaleb(minor_units(currency))), currency)


def format_minor(minor: int, digits: int) -> str:
    """Render ``minor`` units with ``digits`` decimals as a plain decimal string."""
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10**digits)
    return f"{sign}{whole}.{frac:0{digits}d}" if digits else f"{sign}{whole}"


def parse_rate(text: str) -> Decimal:
    """Read an exchange rate: a positive decimal string with at most 10 decimals."""
    if not isinstance(text, str) or not _RATE_RE.match(text):
        raise MoneyError('Not a rate: write a positive decimal string such as "1.0875".')
    try:
        rate = Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern already refused it
        raise MoneyError("Not a rate.") from None
    if rate <= 0:
        raise MoneyError("A rate must be greater than zero.")
    return rate.normalize() if rate == rate.to_integral() else rate
