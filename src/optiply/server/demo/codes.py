"""Codes, names and amounts of a demo shop: EAN-13 and GLN with their check digits, SKUs,
product and supplier names, uuids drawn from seeded generators, cents as decimals."""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal
from random import Random

from optiply.resources import ResourceSpec

_VERSION = 0xF << 76
_VARIANT = 0x3 << 62


def check_digit(digits: str) -> str:
    """The GS1 check digit of an EAN-13 or GLN without it (12 digits): weights 1 and 3 from
    the left, then what brings the sum to a multiple of ten.

    >>> check_digit("871234567890")
    '6'
    """
    total = sum(map(int, digits[0::2])) + 3 * sum(map(int, digits[1::2]))
    return str(-total % 10)


def ean13(twelve: str) -> str:
    """``twelve`` digits with their check digit appended.

    >>> ean13("871234567890")
    '8712345678906'
    """
    assert len(twelve) == 12 and twelve.isdigit(), twelve
    return twelve + check_digit(twelve)


def is_ean13(code: str) -> bool:
    """Whether ``code`` is 13 digits whose last is the check digit of the others.

    >>> is_ean13("8712345678906"), is_ean13("8712345678907"), is_ean13("871234567890")
    (True, False, False)
    """
    return len(code) == 13 and code.isdigit() and check_digit(code[:12]) == code[12]


def uuid4(rng: Random) -> str:
    """A version-4 uuid from ``rng`` (what ``uuid.uuid4`` makes, but reproducible).

    >>> uuid4(Random(1))
    'cd613e30-d8f1-4adf-91b7-584a2265b1f5'
    """
    bits = (rng.getrandbits(128) & ~_VERSION & ~_VARIANT) | (4 << 76) | (2 << 62)
    text = f"{bits:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def uuid_stream(seed: int, account_id: int, spec: ResourceSpec) -> Random:
    """The generator of the uuids of ``spec``'s rows of a shop in an account: the seed and the
    account, so a shop loaded into two accounts has two sets of uuids."""
    return Random(f"{seed}:{account_id}:{spec.type}")  # noqa: S311 - seeded on purpose


def money(cents: int) -> Decimal:
    """Cents as the API's two-place decimal.

    >>> money(1295), money(1200)
    (Decimal('12.95'), Decimal('12.00'))
    """
    return Decimal(cents).scaleb(-2)


# Categories: (SKU prefix, nouns, variants). A product name is an adjective, a material, a
# noun and a variant: "Classic ceramic mug 350 ml".
CATEGORIES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("KIT", ("mug", "bowl", "plate", "kettle", "teapot", "jar", "pan"), ("350 ml", "1 l", "20 cm")),
    ("GRD", ("planter", "watering can", "hose", "trowel", "bird feeder"), ("small", "large")),
    ("TOY", ("puzzle", "building set", "kite", "wooden train", "board game"), ("3+", "6+", "8+")),
    ("OFF", ("notebook", "desk organiser", "pen set", "stapler", "lamp"), ("A5", "A4", "set")),
    ("BTH", ("towel", "soap dish", "bath mat", "toothbrush holder"), ("50x100", "70x140")),
    ("TXT", ("cushion", "throw", "tablecloth", "napkin set", "curtain"), ("45x45", "130x170")),
    ("PET", ("dog bowl", "cat toy", "pet bed", "leash"), ("S", "M", "L")),
    ("LGT", ("candle", "lantern", "string lights", "table lamp"), ("warm white", "10 m")),
)
_ADJECTIVES = ("Classic", "Nordic", "Essential", "Premium", "Rustic", "Urban", "Eco", "Soft")
_MATERIALS = ("ceramic", "bamboo", "steel", "cotton", "glass", "oak", "linen", "recycled")
_COLOURS = ("white", "black", "sage", "terracotta", "navy", "sand", "grey", "ochre")

_SURNAMES = (
    "De Vries", "Jansen", "Bakker", "Visser", "Smit", "Meijer", "Mulder", "De Boer", "Bos",
    "Vos", "Peters", "Hendriks", "Dekker", "Brouwer", "Van Dijk", "Koster", "Willems", "Nordic",
    "Hansen", "Schmidt", "Müller", "Weber", "Fischer", "Keller", "Dubois", "Lambert", "Rossi",
    "Bianchi", "Novak", "Horvat", "Nielsen", "Larsen", "Berg", "Lund", "Andersson", "Eriksson",
    "Moreau", "Laurent", "Costa", "Silva",
)  # fmt: skip
_TRADES = (
    "Groothandel", "Trading", "Supply", "Import", "Distributie", "Home", "Wholesale", "Goods",
    "Logistics", "Manufacturing", "Design", "Products",
)  # fmt: skip
_FORMS = ("B.V.", "GmbH", "Ltd", "S.r.l.", "A/S", "AB")
_SLUG = re.compile(r"[^a-z0-9]+")


def product_name(rng: Random, category: int) -> str:
    """A product name of a category: "Classic ceramic mug 350 ml, sage"."""
    _prefix, nouns, variants = CATEGORIES[category]
    return (
        f"{rng.choice(_ADJECTIVES)} {rng.choice(_MATERIALS)} {rng.choice(nouns)} "
        f"{rng.choice(variants)}, {rng.choice(_COLOURS)}"
    )


def sku(category: int, number: int) -> str:
    """A shop SKU: the category's prefix and a six-digit number.

    >>> sku(0, 42)
    'KIT-000042'
    """
    return f"{CATEGORIES[category][0]}-{number:06d}"


def supplier_names(rng: Random, count: int) -> list[str]:
    """``count`` distinct supplier names: "Van Dijk Groothandel B.V."."""
    combinations = [
        (surname, trade, form) for surname in _SURNAMES for trade in _TRADES for form in _FORMS
    ]
    rng.shuffle(combinations)
    names = [f"{s} {t} {f}" for s, t, f in combinations[: min(count, len(combinations))]]
    for extra in range(len(names), count):  # beyond the combinations: numbered
        names.append(f"{names[extra % len(combinations)]} {extra // len(combinations) + 1}")
    return names


def slug(name: str) -> str:
    """A name as a domain label.

    >>> slug("Van Dijk Groothandel B.V."), slug("Müller Supply GmbH")
    ('van-dijk-groothandel-b-v', 'muller-supply-gmbh')
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return _SLUG.sub("-", ascii_name.lower()).strip("-")
