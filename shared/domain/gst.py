"""What a sale costs the buyer, what it earns the seller, and the GST on it (pure).

Who supplies what. We are a marketplace: the seller supplies the goods to the buyer, and the
platform supplies its own service (the platform fee) to the seller. So:

- The buyer's invoice is the seller's. Its lines are the item at the hammer price and the
  buyer's premium (`BUYERS_PREMIUM_PCT` of the hammer price). The premium is a charge the buyer
  pays for the very same supply of goods, an incidental charge that belongs in the value of
  that supply, so it is taxed with the goods, under the goods' HSN.
- When the seller has a GSTIN, both lines are taxable at `GST_RATE_PCT`: CGST + SGST (half the
  rate each; UTGST for SGST in a union territory without a legislature) when the seller's
  state is the place of supply, else IGST at the whole rate. An unregistered seller charges no
  GST and issues a plain invoice.
- The platform fee (`PLATFORM_FEE_PCT` of the hammer price) is the platform's own supply to
  the seller: deducted on the seller's statement, never on the buyer's invoice, and never
  lowering the taxable value of the seller's sale.

Rounding: every line amount (a premium, a fee, one tax on one line) is rounded half-up to the
paisa once (`percent_of`); every total is the sum of rounded lines. So a document adds up
exactly, row by row and column by column, and CGST always equals SGST.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from shared.domain.india import IndianState
from shared.domain.money import percent_of

ZERO = Decimal("0.00")

# -- HSN and SAC --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaxCode:
    """An HSN heading (goods) or a SAC (services), as printed on the invoice line."""

    kind: str  # "HSN" | "SAC"
    code: str
    description: str

    def __str__(self) -> str:
        return f"{self.kind} {self.code}"


def _hsn(code: str, description: str) -> TaxCode:
    return TaxCode("HSN", code, description)


# Category slugs are free text, so the table is keyed by the words a slug is made of
# ("vintage-watches" -> "watches"); the first word of the slug the table knows decides, singular
# or plural. Four-digit headings: what an invoice of a business under 5 crore turnover prints.
HSN_BY_WORD: dict[str, TaxCode] = {
    "paintings": _hsn("9701", "Paintings, drawings and pastels executed by hand"),
    "art": _hsn("9701", "Paintings, drawings and pastels executed by hand"),
    "drawings": _hsn("9701", "Paintings, drawings and pastels executed by hand"),
    "prints": _hsn("9702", "Original engravings, prints and lithographs"),
    "sculptures": _hsn("9703", "Original sculptures and statuary"),
    "stamps": _hsn("9704", "Postage or revenue stamps, used or not current"),
    "coins": _hsn("9705", "Collectors' pieces of numismatic interest"),
    "memorabilia": _hsn("9705", "Collectors' pieces of historical interest"),
    "collectibles": _hsn("9705", "Collections and collectors' pieces"),
    "antiques": _hsn("9706", "Antiques of an age exceeding one hundred years"),
    "watches": _hsn("9102", "Wrist-watches, pocket-watches and other watches"),
    "clocks": _hsn("9105", "Clocks"),
    "lamps": _hsn("9405", "Lamps and lighting fittings"),
    "lighting": _hsn("9405", "Lamps and lighting fittings"),
    "compasses": _hsn("9014", "Direction-finding compasses and navigational instruments"),
    "jewellery": _hsn("7113", "Articles of jewellery of precious metal"),
    "jewelry": _hsn("7113", "Articles of jewellery of precious metal"),
    "silverware": _hsn("7114", "Articles of goldsmiths' or silversmiths' wares"),
    "books": _hsn("4901", "Printed books"),
    "furniture": _hsn("9403", "Furniture"),
    "carpets": _hsn("5701", "Carpets, knotted"),
    "rugs": _hsn("5701", "Carpets, knotted"),
    "sarees": _hsn("5007", "Woven fabrics of silk"),
    "saris": _hsn("5007", "Woven fabrics of silk"),
    "ceramics": _hsn("6913", "Ornamental ceramic articles"),
    "pottery": _hsn("6913", "Ornamental ceramic articles"),
    "glassware": _hsn("7013", "Glassware for table, kitchen or decoration"),
    "cameras": _hsn("9006", "Photographic cameras"),
    "toys": _hsn("9503", "Toys, scale models and puzzles"),
    "sports": _hsn("9506", "Articles and equipment for sports"),
    "cricket": _hsn("9506", "Articles and equipment for sports"),
}
# Unknown or no category: the marketplace sells collectibles, so "collectors' pieces" is the
# nearest truthful heading; a seller whose goods have another one picks a category the table
# knows.
DEFAULT_HSN = _hsn("9705", "Collections and collectors' pieces")
# The platform fee: a support service to the seller (other support services n.e.c.).
PLATFORM_FEE_SAC = TaxCode("SAC", "998599", "Other support services")


def hsn_by_code(code: str) -> TaxCode:
    """The heading an invoice recorded at its sale (so a later change of the table never
    changes an invoice already issued)."""
    for tax_code in HSN_BY_WORD.values():
        if tax_code.code == code:
            return tax_code
    return DEFAULT_HSN if code == DEFAULT_HSN.code else _hsn(code, "")


def hsn_for_category(category: str | None) -> TaxCode:
    for word in (category or "").lower().split("-"):
        for form in (word, f"{word}s", f"{word}es"):  # "clock", "watch": the table is plural
            if form in HSN_BY_WORD:
                return HSN_BY_WORD[form]
    return DEFAULT_HSN


# -- which GST -------------------------------------------------------------------------------


class Levy(enum.Enum):
    """How a line is taxed."""

    NONE = "none"  # the seller is not registered: no GST
    INTRA = "intra"  # CGST + SGST (or UTGST): the place of supply is the seller's state
    INTER = "inter"  # IGST: another state


def place_of_supply(supplier: IndianState, delivery: IndianState | None) -> IndianState:
    """Goods that travel are supplied where the journey ends: the state of the delivery
    address. Goods handed over where they are (pickup), or with no delivery address yet, are
    supplied in the seller's state."""
    return delivery if delivery is not None else supplier


def levy_for(supplier: IndianState, place: IndianState) -> Levy:
    return Levy.INTRA if supplier.code == place.code else Levy.INTER


def state_tax_name(supplier: IndianState) -> str:
    """SGST in a state (and in Delhi, Puducherry, Jammu and Kashmir, which have legislatures);
    UTGST in the other union territories."""
    return "UTGST" if supplier.ut_without_legislature else "SGST"


def rate_text(pct: Decimal) -> str:
    """`18%`, `9%`, `6.125%`, `12.5%`: as few digits as the rate has."""
    text = f"{pct.normalize():f}"
    return f"{text}%"


# -- the buyer's invoice -------------------------------------------------------------------------


@dataclass(frozen=True)
class ChargeLine:
    """One line of a buyer's invoice: its taxable value and each tax on it, rounded."""

    description: str
    code: TaxCode | None
    value: Decimal
    central: Decimal = ZERO  # CGST
    state: Decimal = ZERO  # SGST or UTGST
    integrated: Decimal = ZERO  # IGST

    @property
    def tax(self) -> Decimal:
        return self.central + self.state + self.integrated

    @property
    def total(self) -> Decimal:
        return self.value + self.tax


@dataclass(frozen=True)
class Charges:
    """What the buyer owes for a sale: lines, and totals that are the sums of the lines."""

    lines: tuple[ChargeLine, ...]
    levy: Levy
    rate_pct: Decimal

    @property
    def value(self) -> Decimal:
        return sum((line.value for line in self.lines), ZERO)

    @property
    def central(self) -> Decimal:
        return sum((line.central for line in self.lines), ZERO)

    @property
    def state(self) -> Decimal:
        return sum((line.state for line in self.lines), ZERO)

    @property
    def integrated(self) -> Decimal:
        return sum((line.integrated for line in self.lines), ZERO)

    @property
    def tax(self) -> Decimal:
        return self.central + self.state + self.integrated

    @property
    def total(self) -> Decimal:
        return self.value + self.tax

    @property
    def half_rate_pct(self) -> Decimal:
        return self.rate_pct / 2


def premium_text(pct: Decimal) -> str:
    return f"Buyer's premium ({rate_text(pct)} of the hammer price)"


SHIPPING_TEXT = "Shipping"


def buyer_charges(
    *,
    item: str,
    hammer: Decimal,
    premium_pct: Decimal,
    code: TaxCode | None = None,
    levy: Levy = Levy.NONE,
    rate_pct: Decimal = ZERO,
    shipping: Decimal = ZERO,
) -> Charges:
    """The buyer's lines: the item at the hammer price, the premium and the seller's shipping
    charge when there are any, each taxed by `levy` at `rate_pct` (CGST and SGST at half the
    rate each). Shipping is charged for the same supply (the goods delivered), so like the
    premium it is taxed with the goods, under their HSN."""
    values = [(item, hammer)]
    premium = percent_of(hammer, premium_pct)
    if premium > 0:
        values.append((premium_text(premium_pct), premium))
    if shipping > 0:
        values.append((SHIPPING_TEXT, shipping))
    lines = []
    for description, value in values:
        if levy is Levy.INTRA:
            half = percent_of(value, rate_pct / 2)
            line = ChargeLine(description, code, value, central=half, state=half)
        elif levy is Levy.INTER:
            line = ChargeLine(description, code, value, integrated=percent_of(value, rate_pct))
        else:
            line = ChargeLine(description, code, value)
        lines.append(line)
    return Charges(tuple(lines), levy, rate_pct if levy is not Levy.NONE else ZERO)


# -- the seller's statement --------------------------------------------------------------------


@dataclass(frozen=True)
class Proceeds:
    """What the sale earns the seller: the hammer price and the shipping the seller charged
    (the seller pays the carrier), less the platform fee (on the hammer price alone)."""

    hammer: Decimal
    fee_pct: Decimal
    fee: Decimal
    shipping: Decimal = ZERO

    @property
    def net(self) -> Decimal:
        return self.hammer + self.shipping - self.fee


def seller_proceeds(hammer: Decimal, fee_pct: Decimal, shipping: Decimal = ZERO) -> Proceeds:
    return Proceeds(hammer, fee_pct, percent_of(hammer, fee_pct), shipping)
