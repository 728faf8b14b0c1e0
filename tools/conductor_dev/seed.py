"""Deterministic demo data for Conductor, loaded through the same path a real POS import uses.

`generate(scale, seed, as_of)` builds a dispensary's history with the standard library's
`random.Random(seed)` only, so the same arguments always give the same rows. `load(url, ...)`
COPYs the rows as CSV into the staging tables (`conductor.staging_*`), runs
`conductor.import_all(source)` in the same transaction, then inserts messages and leads with
plain INSERTs (the messaging triggers validate them) and returns a one-paragraph report.

The shape, at scale 1 (the seeds' volumes; `scale` multiplies them):
- 10,047 members. Visit rates are gamma-distributed and customers drop out after a while
  (BG/NBD-like), so most visit a few times and a few come weekly; a handful of heavy customers
  have 200+ visit days. About 6% have no phone; phones come in mixed US formats.
- About 186,000 transactions over two years ending the evening before the load date: member
  sales, walk-in sales without a member (14%), refunds linked to the sale they refund (2.5%),
  voided sales (1.2%). Store hours and weekly rhythm at 3 locations, in America/Los_Angeles
  local time (the import reads zone-less times in the store's zone).
- About 500,000 line items over a catalogue of 3,000 products in 8 categories with Zipf-like
  popularity, brands, strains, THC/CBD and prices; each member has favourite products.
- About 50 staff; a member has a home store and often a favourite budtender.
- A few bad rows on purpose (bad phones, a missing key, a duplicated row, an impossible date, an
  unreadable amount, an unknown member, a negative quantity, an unknown sku), so the demo shows
  conductor.data_issues; `Dataset.expected_issues` lists them.
- Messages in both directions (sent, failed and cancelled outbound; read and unread inbound;
  never queued, so a bridge attached to a demo database sends nothing) and leads.
"""

from __future__ import annotations

import bisect
import csv
import functools
import hashlib
import io
import math
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import psycopg

STORE_TIME_ZONE = "America/Los_Angeles"

# Volumes at scale 1 (the seeds' numbers).
CUSTOMERS = 10_047
TRANSACTIONS = 186_000
LINE_ITEMS = 500_000
PRODUCTS = 3_000
STAFF = 50
HEAVY_CUSTOMERS = 12
HISTORY_DAYS = 730

WALK_IN_SHARE = 0.14
REFUND_SHARE = 0.025
VOID_SHARE = 0.012
NO_PHONE_SHARE = 0.06
TAX_RATE = 0.2275  # California excise plus local sales tax, roughly

LOCATIONS = [("Downtown", 0.45), ("North Park", 0.33), ("La Mesa", 0.22)]
# Weekly rhythm, Monday first: Fridays and Saturdays are busiest.
WEEKDAY_WEIGHTS = [0.82, 0.85, 0.92, 1.0, 1.22, 1.25, 0.94]

# name, share of the catalogue, share of line items, sku prefix
CATEGORIES = [
    ("Flower", 0.28, 0.33, "FLW"),
    ("Vapes", 0.18, 0.21, "VAP"),
    ("Pre-Rolls", 0.12, 0.16, "PRE"),
    ("Edibles", 0.16, 0.15, "EDI"),
    ("Concentrates", 0.12, 0.07, "CON"),
    ("Tinctures", 0.04, 0.02, "TIN"),
    ("Topicals", 0.04, 0.02, "TOP"),
    ("Accessories", 0.06, 0.04, "ACC"),
]
ZIPF_EXPONENT = 1.07

BRANDS = {
    "Flower": [
        "Coastal Cure",
        "Pacific Canopy",
        "Golden State Greens",
        "Sunset Cultivation",
        "Mesa Verde Farms",
        "Harbor Light",
        "Redwood Reserve",
        "Canyon Craft",
        "Tidewater",
        "High Desert Co.",
    ],
    "Vapes": ["Cloud Nine Labs", "Vaporwave", "Pure Drop", "Coastal Cure", "Fogline", "Lumen Extracts"],
    "Pre-Rolls": [
        "Twist & Co.",
        "Pacific Canopy",
        "Lil Sunsets",
        "Canyon Craft",
        "Roll Call",
        "Mesa Verde Farms",
    ],
    "Edibles": [
        "Sweet Leaf Kitchen",
        "Moonbeam Bites",
        "Citrus Grove",
        "Hush Chocolates",
        "Bubble Up",
        "Good Dose",
    ],
    "Concentrates": ["Lumen Extracts", "Goldline Rosin", "Crystal Cove", "Sap House", "Fogline"],
    "Tinctures": ["Good Dose", "Botanica Drops", "Calm Co.", "Harbor Light"],
    "Topicals": ["Botanica Drops", "Soothe Apothecary", "Calm Co.", "Relief Works"],
    "Accessories": ["Clipper", "Raw Cone Co.", "Grindworks", "Glasshouse", "Mota Gear"],
}
VENDORS = [
    "Coastline Distribution",
    "Golden State Supply",
    "Pacific Cannabis Distribution",
    "Southland Logistics",
    "Harbor Wholesale",
]


def words(text: str, separator: str | None = None) -> list[str]:
    """A word list written as one string (names, streets)."""
    return text.split(separator)


# strain | type | parents | flavours | effects | terpenes
STRAIN_TABLE = """
Blue Dream | Hybrid | Blueberry, Haze | Berry, Sweet | Creative, Uplifted | Myrcene, Pinene
OG Kush | Hybrid | Chemdawg, Hindu Kush | Earthy, Pine | Relaxed, Happy | Myrcene, Limonene
Sour Diesel | Sativa | Chemdawg, Super Skunk | Diesel, Citrus | Energetic, Focused | Caryophyllene
Gelato | Hybrid | Sunset Sherbet, Thin Mint GSC | Sweet, Citrus | Euphoric, Relaxed | Limonene
Wedding Cake | Hybrid | Triangle Kush, Animal Mints | Vanilla, Earthy | Relaxed, Happy | Limonene
GSC | Hybrid | OG Kush, Durban Poison | Sweet, Earthy | Euphoric, Happy | Caryophyllene
Gorilla Glue #4 | Hybrid | Chem's Sister, Sour Dubb | Pine, Diesel | Relaxed, Sleepy | Caryophyllene
Pineapple Express | Hybrid | Trainwreck, Hawaiian | Pineapple, Tropical | Uplifted, Happy | Ocimene
Granddaddy Purple | Indica | Purple Urkle, Big Bud | Grape, Berry | Sleepy, Relaxed | Myrcene
Northern Lights | Indica | Afghani, Thai | Sweet, Pine | Sleepy, Relaxed | Myrcene, Pinene
Jack Herer | Sativa | Haze, Northern Lights #5 | Pine, Woody | Creative, Energetic | Terpinolene
Durban Poison | Sativa | African Landrace | Sweet, Anise | Energetic, Focused | Terpinolene
Zkittlez | Indica | Grape Ape, Grapefruit | Fruity, Sweet | Relaxed, Happy | Caryophyllene
Runtz | Hybrid | Zkittlez, Gelato | Sweet, Fruity | Euphoric, Giggly | Limonene
Ice Cream Cake | Indica | Wedding Cake, Gelato #33 | Vanilla, Creamy | Sleepy, Relaxed | Limonene
Purple Punch | Indica | Larry OG, Granddaddy Purple | Grape, Berry | Sleepy, Relaxed | Myrcene
Mimosa | Sativa | Clementine, Purple Punch | Citrus, Orange | Uplifted, Focused | Limonene
Tangie | Sativa | California Orange, Skunk | Citrus, Orange | Uplifted, Energetic | Myrcene
Green Crack | Sativa | Skunk #1 | Citrus, Mango | Energetic, Focused | Myrcene
Super Lemon Haze | Sativa | Lemon Skunk, Super Silver Haze | Lemon, Citrus | Energetic, Happy | Terpinolene
Cherry Pie | Hybrid | Granddaddy Purple, Durban Poison | Cherry, Sweet | Relaxed, Happy | Myrcene
Bubba Kush | Indica | OG Kush, Bubba | Coffee, Earthy | Sleepy, Relaxed | Caryophyllene
Trainwreck | Sativa | Mexican, Thai | Pine, Lemon | Euphoric, Creative | Terpinolene
White Widow | Hybrid | Brazilian, South Indian | Earthy, Woody | Euphoric, Energetic | Myrcene
Strawberry Cough | Sativa | Strawberry Fields, Haze | Strawberry, Sweet | Uplifted, Happy | Myrcene
Apple Fritter | Hybrid | Sour Apple, Animal Cookies | Apple, Sweet | Relaxed, Euphoric | Caryophyllene
Biscotti | Indica | Gelato #25, South Florida OG | Sweet, Diesel | Relaxed, Sleepy | Caryophyllene
MAC | Hybrid | Alien Cookies, Colombian x Starfighter | Citrus, Earthy | Focused, Happy | Limonene
Do-Si-Dos | Indica | Girl Scout Cookies, Face Off OG | Earthy, Sweet | Relaxed, Sleepy | Limonene
Sunset Sherbet | Indica | GSC, Pink Panties | Berry, Sweet | Relaxed, Happy | Caryophyllene
Forbidden Fruit | Indica | Cherry Pie, Tangie | Tropical, Cherry | Relaxed, Sleepy | Myrcene
Tropicana Cookies | Sativa | GSC, Tangie | Orange, Citrus | Uplifted, Energetic | Limonene
Cereal Milk | Hybrid | Y Life, Snowman | Sweet, Creamy | Relaxed, Giggly | Limonene
Gary Payton | Hybrid | The Y, Snowman | Diesel, Herbal | Focused, Relaxed | Caryophyllene
Jealousy | Hybrid | Gelato #41, Sherbert Bx1 | Sweet, Earthy | Euphoric, Relaxed | Caryophyllene
Maui Wowie | Sativa | Hawaiian Landrace | Pineapple, Tropical | Energetic, Creative | Myrcene
Lava Cake | Indica | Thin Mint GSC, Grape Pie | Chocolate, Mint | Sleepy, Relaxed | Caryophyllene
Lemon Cherry Gelato | Hybrid | Sunset Sherbet, GSC | Lemon, Cherry | Euphoric, Happy | Limonene
"""
STRAINS = [
    tuple(part if i < 2 else tuple(part.split(", ")) for i, part in enumerate(line.split(" | ")))
    for line in STRAIN_TABLE.strip().splitlines()
]
HELPS_WITH = [
    "Stress",
    "Anxiety",
    "Pain",
    "Insomnia",
    "Depression",
    "Lack of appetite",
    "Fatigue",
    "Headaches",
]
NEGATIVES = ["Dry mouth", "Dry eyes", "Dizzy", "Paranoid", "Anxious"]

FIRST_NAMES = words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan "
    "Joseph Jessica Thomas Sarah Christopher Karen Daniel Lisa Matthew Nancy Anthony Betty Mark Sandra "
    "Donald Ashley Steven Kimberly Andrew Emily Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda "
    "Brian Melissa George Deborah Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey "
    "Cynthia Ryan Dorothy Jacob Amy Gary Kathleen Nicholas Angela Eric Shirley Jonathan Emma Stephen "
    "Brenda Larry Pamela Justin Nicole Scott Anna Brandon Samantha Benjamin Katherine Samuel Christine "
    "Gregory Debra Alexander Rachel Patrick Carolyn Frank Janet Raymond Maria Jack Olivia Dennis Heather "
    "Jerry Helen Tyler Catherine Aaron Diane Jose Julie Adam Victoria Nathan Joyce Henry Lauren Zachary "
    "Kelly Douglas Christina Peter Ruth Kyle Joan Noah Virginia Ethan Judith Jeremy Evelyn Christian "
    "Hannah Walter Andrea Keith Megan Austin Cheryl Roger Jacqueline Terry Madison Sean Teresa Gerald "
    "Abigail Carl Sophia Dylan Martha Harold Sara Jordan Gloria Jesse Janice Bryan Kathryn Lawrence Ann "
    "Arthur Isabella Gabriel Judy Bruce Charlotte Logan Julia Billy Grace Alan Amber Juan Alice Elijah "
    "Jean Willie Denise Albert Frances Wayne Danielle Randy Marilyn Mason Natalie Vincent Beverly Liam "
    "Diana Roy Brittany Bobby Theresa Caleb Kayla Bradley Alexis Russell Doris Lucas Lori Luis Tiffany "
    "Carlos Ana Miguel Sofia Diego Camila Mateo Valentina Javier Ximena Alejandro Lucia Minh Mai Wei "
    "Mei Hiroshi Yuki Arjun Priya Omar Layla Malik Aaliyah Keanu Leilani"
)
LAST_NAMES = words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
    "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
    "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker "
    "Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper "
    "Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James "
    "Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster "
    "Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher "
    "Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno "
    "West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall "
    "Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb "
    "Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon "
    "Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills "
    "Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant "
    "Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight Elliott "
    "Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry Perkins "
    "Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval Amado Klare"
)
# City, zip codes, weight; San Diego County around the three stores.
CITIES = [
    ("San Diego", ["92101", "92102", "92103", "92104", "92105", "92108", "92110", "92116", "92117"], 0.55),
    ("La Mesa", ["91941", "91942"], 0.09),
    ("El Cajon", ["92019", "92020", "92021"], 0.08),
    ("Chula Vista", ["91910", "91911", "91913"], 0.08),
    ("National City", ["91950"], 0.04),
    ("Lemon Grove", ["91945"], 0.03),
    ("Santee", ["92071"], 0.03),
    ("Spring Valley", ["91977", "91978"], 0.04),
    ("Coronado", ["92118"], 0.02),
    ("Escondido", ["92025", "92027"], 0.02),
    ("Oceanside", ["92054", "92056"], 0.02),
]
STREETS = words(
    "Adams Ave|University Ave|El Cajon Blvd|Park Blvd|30th St|Fern St|Grape St|Broadway|Market St|"
    "Imperial Ave|Garnet Ave|Mission Blvd|Clairemont Dr|Genesee Ave|Balboa Ave|Fletcher Pkwy|"
    "Baltimore Dr|Spring St|Lake Murray Blvd|Palm Ave|Main St|Orange Ave|Euclid Ave|Texas St|Boundary St",
    "|",
)
AREA_CODES = (
    ["619"] * 6 + ["858"] * 3 + ["760"] * 2 + ["442", "949", "714", "213", "310", "323", "626", "909"]
)
EMAIL_DOMAINS = (
    ["gmail.com"] * 6 + ["yahoo.com"] * 2 + ["icloud.com"] * 2 + ["outlook.com", "hotmail.com", "aol.com"]
)
MARKETING_SOURCES = [
    ("Walk-in", 0.38),
    ("Google", 0.16),
    ("Weedmaps", 0.14),
    ("Referral", 0.1),
    ("Instagram", 0.08),
    ("Leafly", 0.06),
    ("Billboard", 0.04),
    ("Event", 0.04),
]
MEMBER_GROUPS = [("Standard", 0.8), ("Senior", 0.08), ("Veteran", 0.07), ("Industry", 0.05)]
PAYMENT_TYPES = [("Cash", 0.52), ("Debit", 0.4), ("CanPay", 0.08)]
STAFF_ROLES = [("Budtender", 0.8), ("Lead Budtender", 0.1), ("Shift Manager", 0.07), ("Store Manager", 0.03)]

INBOUND_TEXTS = [
    "Hi, do you have {strain} in stock?",
    "What time do you close tonight?",
    "Are you open on Sunday?",
    "Is the deal from your text still going?",
    "Thanks!",
    "Can I place an order for pickup?",
    "Do you have any {category} on sale this week?",
    "Which location has the best selection of {category}?",
    "How many points do I have?",
    "Thank you, see you soon",
]
REPLY_TEXTS = [
    "Hi {first}! Yes, we have it at {location} today. Want us to hold one for you?",
    "Hi {first}, we're open until 10pm every day. See you soon!",
    "Hey {first}, the deal runs through Sunday at all three stores.",
    "You're welcome {first}!",
    "Hi {first}, you can order for pickup on our menu page; ready in about 15 minutes.",
    "Hi {first}, {category} are 15% off this week at {location}.",
]
CAMPAIGN_TEXTS = [
    "Hi {first}, it's been a while! Enjoy $10 off your next visit to MoTa {location}. Reply STOP to opt out.",
    "{first}, new {category} just landed at MoTa {location}. Come take a look! Reply STOP to opt out.",
    "Happy weekend {first}! 20% off vapes through Sunday at MoTa. Reply STOP to opt out.",
    "{first}, thanks for being a regular. Double points on your next visit. Reply STOP to opt out.",
]
LEAD_TEXTS = [
    "Hi, is this the dispensary on {street}?",
    "Do you take walk-ins? First time here",
    "What are your prices on eighths?",
    "Do you have first-time customer deals?",
    "Saw your ad on Weedmaps, are you open now?",
]

STAGING_COLUMNS = {
    "products": [
        "product_id",
        "sku",
        "name",
        "brand",
        "category",
        "strain",
        "flower_type",
        "vendor",
        "thc_content",
        "cbd_content",
        "retail_price",
        "cost",
        "is_active",
        "leafly_strain_type",
        "leafly_description",
        "leafly_rating",
        "leafly_review_count",
        "effects",
        "helps_with",
        "negatives",
        "flavors",
        "terpenes",
        "parent_strains",
        "lineage",
        "image_url",
        "leafly_url",
        "leafly_data_updated",
    ],
    "customers": [
        "member_id",
        "name",
        "phone",
        "email",
        "loyalty_points",
        "customer_type",
        "member_group",
        "marketing_source",
        "street_address",
        "city",
        "state",
        "zip_code",
        "time_zone",
        "registered_on",
    ],
    "staff": ["staff_name", "shop_location", "employee_id", "role", "is_active", "hire_date"],
    "transactions": [
        "transaction_id",
        "customer_id",
        "date",
        "shop_location",
        "staff_name",
        "terminal",
        "payment_type",
        "transaction_type",
        "status",
        "refunded_transaction_id",
        "total_amount",
        "total_tax",
        "discounts",
        "loyalty_points_earned",
        "loyalty_points_spent",
    ],
    "transaction_items": [
        "transaction_id",
        "line_number",
        "product_sku",
        "product_name",
        "brand",
        "category",
        "strain",
        "flower_type",
        "quantity",
        "unit_price",
        "discount",
        "total_price",
        "thc_content",
        "cbd_content",
    ],
}
ENTITIES = list(STAGING_COLUMNS)

Row = tuple[str | None, ...]


@dataclass
class ExpectedIssue:
    """A bad value the generator put in on purpose, and what the import must do with it."""

    entity: str
    business_key: str | None
    field: str
    action: str  # rejected | field_cleared


@dataclass
class Dataset:
    """Everything `generate` produced: staging rows per entity (text, in STAGING_COLUMNS order),
    messages and leads (for plain INSERTs), and facts the tests and the report use."""

    scale: float
    seed: int
    as_of: date
    first_day: date
    last_day: date
    rows: dict[str, list[Row]]
    messages: list[tuple]
    leads: list[tuple]
    heavy_member_ids: list[str]
    expected_issues: list[ExpectedIssue] = field(default_factory=list)

    @property
    def source(self) -> str:
        return f"demo:seed={self.seed}:scale={self.scale:g}:as_of={self.as_of.isoformat()}"


# ----------------------------------------------------------------------------------------------
# Small helpers


@functools.lru_cache(maxsize=65536)
def money(cents: int) -> str:
    """Dollars as the POS prints them: -12.50."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


class Weighted:
    """Draws from a fixed population by weight in O(log n) (cumulative weights and bisect)."""

    def __init__(self, items: Sequence, weights: Sequence[float]):
        self.items = list(items)
        self.cumulative: list[float] = []
        total = 0.0
        for w in weights:
            total += w
            self.cumulative.append(total)
        self.total = total

    def draw(self, rng: random.Random):
        return self.items[bisect.bisect_right(self.cumulative, rng.random() * self.total)]


def weighted(pairs: Sequence[tuple]) -> Weighted:
    return Weighted([p[0] for p in pairs], [p[1] for p in pairs])


def scaled(base: float, scale: float, minimum: int = 0) -> int:
    return max(minimum, round(base * scale))


def phone_formats(digits: str, rng: random.Random) -> str:
    """One US number written the way people type it into a POS."""
    a, b, c = digits[:3], digits[3:6], digits[6:]
    style = rng.random()
    if style < 0.3:
        return f"({a}) {b}-{c}"
    if style < 0.55:
        return f"{a}-{b}-{c}"
    if style < 0.7:
        return digits
    if style < 0.8:
        return f"+1{digits}"
    if style < 0.88:
        return f"{a}.{b}.{c}"
    if style < 0.95:
        return f"+1 {a} {b} {c}"
    return f"1-{a}-{b}-{c}"


class PhoneBook:
    """Unique, valid North American numbers (exchange 2-9xx, never 555)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def new(self) -> str:
        rng = self.rng
        while True:
            exchange = rng.randint(200, 999)
            if exchange == 555:
                continue
            digits = f"{rng.choice(AREA_CODES)}{exchange}{rng.randint(0, 9999):04d}"
            if digits not in self.used:
                self.used.add(digits)
                return digits


def e164(digits: str) -> str:
    return "+1" + digits


# ----------------------------------------------------------------------------------------------
# Catalogue


@dataclass
class Product:
    product_id: str
    sku: str
    name: str
    brand: str
    category: str
    strain: str | None
    flower_type: str | None
    thc: str | None
    cbd: str | None
    price_cents: int
    launch_day: int
    retire_day: int  # exclusive; HISTORY_DAYS when still sold
    max_quantity: int


def make_products(rng: random.Random, count: int, days: int, as_of: date) -> tuple[list[Product], list[Row]]:
    products: list[Product] = []
    rows: list[Row] = []
    index = 0
    for category, catalogue_share, _sales_share, prefix in CATEGORIES:
        n = max(6, round(count * catalogue_share))
        for _ in range(n):
            index += 1
            product_id = f"P{100000 + index}"
            sku = f"{prefix}-{20000 + index}"
            brand = rng.choice(BRANDS[category])
            strain_row = (
                rng.choice(STRAINS) if category in ("Flower", "Vapes", "Pre-Rolls", "Concentrates") else None
            )
            strain = strain_row[0] if strain_row else None
            flower_type = strain_row[1] if strain_row else None
            thc = cbd = None
            max_quantity = 1
            if category == "Flower":
                size, factor = rng.choices(
                    [("1g", 0.35), ("3.5g", 1.0), ("7g", 1.8), ("14g", 3.2), ("28g", 5.8)],
                    weights=[10, 55, 20, 10, 5],
                )[0]
                price = round(rng.uniform(25, 60) * factor)
                name = f"{brand} {strain} {size}"
                thc = f"{rng.uniform(17, 33):.1f}"
                cbd = f"{rng.uniform(0, 1):.2f}"
            elif category == "Vapes":
                kind = rng.choice(["Cartridge", "Cartridge", "Disposable", "Live Resin Cartridge"])
                size = rng.choice(["0.5g", "1g", "1g"])
                price = round(rng.uniform(25, 45) * (1.6 if size == "1g" else 1.0))
                name = f"{brand} {strain} {size} {kind}"
                thc = f"{rng.uniform(70, 92):.1f}"
                cbd = f"{rng.uniform(0, 2):.2f}"
            elif category == "Pre-Rolls":
                kind, price = rng.choice(
                    [
                        ("1g Pre-Roll", rng.uniform(8, 15)),
                        ("5pk 0.5g Pre-Rolls", rng.uniform(25, 40)),
                        ("Infused 1g Pre-Roll", rng.uniform(14, 25)),
                    ]
                )
                price = round(price)
                name = f"{brand} {strain} {kind}"
                thc = f"{rng.uniform(18, 40 if 'Infused' in kind else 30):.1f}"
                cbd = f"{rng.uniform(0, 1):.2f}"
                max_quantity = 3
            elif category == "Edibles":
                flavour = rng.choice(
                    [
                        "Watermelon",
                        "Blood Orange",
                        "Sour Cherry",
                        "Mango",
                        "Mint",
                        "Dark Chocolate",
                        "Lemonade",
                        "Blueberry",
                        "Peach",
                        "Pomegranate",
                    ]
                )
                form = rng.choice(["Gummies", "Gummies", "Chocolate Bar", "Mints", "Chews", "Seltzer"])
                flower_type = rng.choice(["Indica", "Sativa", "Hybrid", None])
                price = round(rng.uniform(12, 30))
                name = f"{brand} {flavour} {form} 100mg"
                thc = "100"
                cbd = rng.choice(["0", "0", "0", "20", "100"])
                max_quantity = 2
            elif category == "Concentrates":
                kind = rng.choice(["Live Resin", "Badder", "Shatter", "Live Rosin", "Diamonds", "Sauce"])
                price = round(rng.uniform(25, 80))
                name = f"{brand} {strain} {kind} 1g"
                thc = f"{rng.uniform(60, 90):.1f}"
                cbd = f"{rng.uniform(0, 1):.2f}"
            elif category == "Tinctures":
                ratio, thc, cbd = rng.choice(
                    [("1:1 THC:CBD", "500", "500"), ("20:1 CBD", "50", "1000"), ("THC 1000mg", "1000", "0")]
                )
                price = round(rng.uniform(30, 70))
                name = f"{brand} {ratio} Tincture 30ml"
            elif category == "Topicals":
                kind = rng.choice(
                    ["Relief Balm", "Cooling Lotion", "Bath Soak", "Transdermal Patch", "Roll-On"]
                )
                price = round(rng.uniform(15, 50))
                name = f"{brand} {kind}"
                thc = rng.choice(["0", "50", "100"])
                cbd = rng.choice(["100", "250", "500"])
            else:
                item, price = rng.choice(
                    [
                        ("Lighter", 3),
                        ("Grinder", 18),
                        ("Rolling Papers", 3),
                        ("510 Battery", 22),
                        ("Glass Pipe", 30),
                        ("Rolling Tray", 15),
                        ("Stash Jar", 12),
                        ("Hemp Wick", 5),
                    ]
                )
                name = f"{brand} {item}"
                max_quantity = 2
            launch_day = 0 if rng.random() < 0.8 else rng.randrange(0, days - 30)
            retire_day = days
            if rng.random() < 0.08 and launch_day < days - 120:
                retire_day = rng.randrange(launch_day + 60, days - 30)
            product = Product(
                product_id,
                sku,
                name,
                brand,
                category,
                strain,
                flower_type,
                thc,
                cbd,
                price * 100,
                launch_day,
                retire_day,
                max_quantity,
            )
            products.append(product)
            cost = money(round(price * 100 * rng.uniform(0.42, 0.58)))
            leafly: list[str | None] = [None] * 10
            if strain_row:
                _, kind, parents, flavors, effects, terpenes = strain_row
                slug = strain.lower().replace(" ", "-").replace("#", "").replace("'", "")
                leafly = [
                    kind,
                    f"{strain} is a {kind.lower()} strain known for {effects[0].lower()} effects "
                    f"and a {flavors[0].lower()} flavour.",
                    f"{rng.uniform(3.8, 4.9):.1f}",
                    str(int(math.exp(rng.uniform(3, 8.3)))),
                    ", ".join(effects),
                    ", ".join(rng.sample(HELPS_WITH, 3)),
                    ", ".join(rng.sample(NEGATIVES, 2)),
                    ", ".join(flavors),
                    ", ".join(terpenes),
                    ", ".join(parents),
                ]
                lineage = " x ".join(parents)
                leafly_url = f"https://www.leafly.com/strains/{slug}"
                updated = (as_of - timedelta(days=rng.randint(1, 60))).isoformat() + " 03:00:00"
            else:
                lineage = leafly_url = updated = None
            rows.append(
                (
                    product_id,
                    sku,
                    name,
                    brand,
                    category,
                    strain,
                    flower_type,
                    rng.choice(VENDORS),
                    thc,
                    cbd,
                    money(price * 100),
                    cost,
                    "true" if retire_day == days else "false",
                    *leafly,
                    lineage,
                    f"https://images.example.com/products/{product_id}.jpg",
                    leafly_url,
                    updated,
                )
            )
    return products, rows


# ----------------------------------------------------------------------------------------------
# The generator


def generate(scale: float = 1.0, seed: int = 42, as_of: date | None = None) -> Dataset:
    """Build the demo data set. Same (scale, seed, as_of), same rows."""
    if scale <= 0:
        raise ValueError(f"scale: must be > 0, not {scale}")
    if as_of is None:
        as_of = store_today()
    rng = random.Random(seed)
    days = HISTORY_DAYS
    first_day = as_of - timedelta(days=days)
    last_day = as_of - timedelta(days=1)
    day_text = [(first_day + timedelta(days=d)).isoformat() for d in range(days)]
    first_weekday = first_day.weekday()
    max_weekday = max(WEEKDAY_WEIGHTS)

    def day_ok(d: int) -> bool:
        return rng.random() * max_weekday < WEEKDAY_WEIGHTS[(first_weekday + d) % 7]

    def time_of_day() -> int:
        """Seconds after midnight: open 09:00-21:59, busiest in the late afternoon."""
        return int(rng.triangular(9 * 3600, 22 * 3600 - 1, 17.5 * 3600))

    def stamp(d: int, seconds: int) -> str:
        return f"{day_text[d]} {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"

    # Catalogue and its popularity: category share of lines, Zipf within the category.
    products, product_rows = make_products(rng, scaled(PRODUCTS, scale, 120), days, as_of)
    by_category: dict[str, list[Product]] = {}
    for p in products:
        by_category.setdefault(p.category, []).append(p)
    category_pick = weighted([(c[0], c[2]) for c in CATEGORIES])
    within: dict[str, Weighted] = {}
    for category, members in by_category.items():
        order = members[:]
        rng.shuffle(order)
        within[category] = Weighted(order, [1 / (rank + 1) ** ZIPF_EXPONENT for rank in range(len(order))])

    def popular_product(d: int, category: str | None = None) -> Product:
        for _ in range(6):
            p = within[category or category_pick.draw(rng)].draw(rng)
            if p.launch_day <= d < p.retire_day:
                return p
        return p

    # Staff: about 50 at 3 locations; a few left, a few joined during the history.
    staff_rows: list[Row] = []
    staff_by_location: dict[str, list[tuple[str, int, int, float]]] = {loc: [] for loc, _ in LOCATIONS}
    staff_count = scaled(STAFF, scale, 9)
    location_pick = weighted(LOCATIONS)
    used_names: set[str] = set()
    for i in range(staff_count):
        location = LOCATIONS[i % len(LOCATIONS)][0] if i < 3 * 3 else location_pick.draw(rng)
        while True:
            name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)[0]}."
            if name not in used_names:
                used_names.add(name)
                break
        start = 0 if rng.random() < 0.7 else rng.randrange(0, days - 90)
        end = days
        if i >= 9 and rng.random() < 0.12:
            end = rng.randrange(start + 60, days)
        hire = first_day + timedelta(days=start) - timedelta(days=rng.randint(0, 900) if start == 0 else 0)
        staff_by_location[location].append((name, start, end, rng.uniform(0.5, 1.5)))
        staff_rows.append(
            (
                name,
                location,
                f"E{1001 + i}",
                weighted(STAFF_ROLES).draw(rng),
                "true" if end == days else "false",
                hire.isoformat(),
            )
        )
    staff_pick = {
        loc: Weighted(members, [m[3] for m in members]) for loc, members in staff_by_location.items()
    }

    def staff_on(location: str, d: int, favourite: str | None = None) -> str:
        if favourite is not None and rng.random() < 0.5:
            return favourite
        for _ in range(6):
            name, start, end, _w = staff_pick[location].draw(rng)
            if start <= d < end:
                return name
        return name

    # Customers.
    phones = PhoneBook(rng)
    n_customers = scaled(CUSTOMERS, scale, 20)
    n_heavy = scaled(HEAVY_CUSTOMERS, scale, 2)
    sales_total = TRANSACTIONS * scale / (1 + REFUND_SHARE)
    member_sales_target = round(sales_total * (1 - WALK_IN_SHARE))
    city_pick = weighted([(c, c[2]) for c in CITIES])
    source_pick = weighted(MARKETING_SOURCES)
    group_pick = weighted(MEMBER_GROUPS)
    payment_pick = weighted(PAYMENT_TYPES)

    @dataclass
    class Member:
        join_day: int
        active_days: int
        raw_visits: float
        heavy: bool
        first: str = ""
        last: str = ""
        digits: str | None = None
        member_id: str = ""
        visits: int = 0

    members: list[Member] = []
    for i in range(n_customers):
        heavy = i < n_heavy
        if heavy:
            join = rng.randrange(0, 45)
            members.append(Member(join, days - join, 0, True))
            continue
        join = rng.randrange(0, 30) if rng.random() < 0.25 else rng.randrange(0, days)
        lifetime = 0 if rng.random() < 0.25 else rng.expovariate(1 / 300)
        active = min(days - 1 - join, int(lifetime))
        rate = rng.gammavariate(0.7, 1 / 20)  # visits a day; mean about one every 4 weeks
        members.append(Member(join, active, rate * active, False))

    heavy_visits = [rng.randint(210, 360) for _ in range(n_heavy)]
    others = [m for m in members if not m.heavy]
    wanted_repeats = max(0, member_sales_target - sum(heavy_visits) - len(others))
    factor = wanted_repeats / (sum(m.raw_visits for m in others) or 1.0)
    # Scale the drawn rates to the target volume; nobody visits more than every other day, and
    # what the cap cuts off is spread over the others (a few passes converge).
    for _ in range(4):
        for m in others:
            m.visits = 1 + min(round(m.raw_visits * factor), int(m.active_days * 0.5))
        got = sum(m.visits for m in others) - len(others)
        if got == 0 or abs(got - wanted_repeats) <= 1:
            break
        factor *= wanted_repeats / got
    for m, v in zip([m for m in members if m.heavy], heavy_visits, strict=True):
        m.visits = v

    # Member ids in registration order, like a POS numbers its members.
    members.sort(key=lambda m: (m.join_day, rng.random()))
    heavy_ids: list[str] = []
    customer_rows: list[Row] = []
    for i, m in enumerate(members):
        m.member_id = f"M{100001 + i}"
        m.first = rng.choice(FIRST_NAMES)
        m.last = rng.choice(LAST_NAMES)
        m.digits = None if (not m.heavy and rng.random() < NO_PHONE_SHARE) else phones.new()
        if m.heavy:
            heavy_ids.append(m.member_id)

    # Visits, baskets and transactions.
    transactions: list[list] = []  # [sort_key, local time, member index or -1, location, staff, payment,
    #                                  type, status, refunded (list) or None, lines, tax, points earned]

    def basket(d: int, favourites: list[Product] | None, favourite_category: str | None) -> list[list]:
        lines: list[list] = []
        seen: dict[str, list] = {}
        count = 1
        while rng.random() < 0.68 and count < 12:
            count += 1
        for _ in range(count):
            r = rng.random()
            if favourites and r < 0.5:
                p = rng.choice(favourites)
                if not p.launch_day <= d < p.retire_day:
                    p = popular_product(d, p.category)
            elif favourite_category and r < 0.7:
                p = popular_product(d, favourite_category)
            else:
                p = popular_product(d)
            if p.sku in seen:
                seen[p.sku][1] += 1
                continue
            quantity = 1 if p.max_quantity == 1 or rng.random() < 0.7 else rng.randint(2, p.max_quantity)
            if p.max_quantity == 1 and rng.random() < 0.04:
                quantity = 2
            gross = quantity * p.price_cents
            discount = 0
            if rng.random() < 0.12:
                discount = min(gross, rng.choice([round(gross * 0.1), round(gross * 0.2), 500]))
            line = [p, quantity, discount]
            seen[p.sku] = line
            lines.append(line)
        return lines

    for index, m in enumerate(members):
        home = location_pick.draw(rng)
        favourite_staff = staff_on(home, m.join_day) if rng.random() < 0.6 else None
        favourite_category = category_pick.draw(rng)
        favourites = [popular_product(m.join_day, favourite_category) for _ in range(rng.randint(1, 3))]
        favourites += [popular_product(m.join_day) for _ in range(rng.randint(1, 3))]
        end = m.join_day + m.active_days
        if m.heavy:
            visit_days = sorted(rng.sample(range(m.join_day, end), m.visits))
        else:
            visit_days = [m.join_day]
            for _ in range(m.visits - 1):
                for _try in range(4):
                    d = rng.randint(m.join_day, end)
                    if day_ok(d):
                        break
                visit_days.append(d)
            visit_days.sort()
        for d in visit_days:
            location = home if rng.random() < 0.85 else location_pick.draw(rng)
            seconds = time_of_day()
            staff = staff_on(location, d, favourite_staff if location == home else None)
            lines = basket(d, favourites, favourite_category)
            status = "voided" if rng.random() < VOID_SHARE else "completed"
            transactions.append(
                [
                    d * 86400 + seconds,
                    stamp(d, seconds),
                    index,
                    location,
                    staff,
                    payment_pick.draw(rng),
                    "sale",
                    status,
                    None,
                    lines,
                ]
            )

    # Walk-ins: the store's own traffic pattern, busier on Fridays, Saturdays and April 20.
    walk_in_days = Weighted(
        range(days),
        [
            WEEKDAY_WEIGHTS[(first_weekday + d) % 7]
            * (2.5 if (first_day + timedelta(days=d)).strftime("%m-%d") == "04-20" else 1.0)
            * (0.8 + 0.4 * d / days)
            for d in range(days)
        ],
    )
    for _ in range(round(sales_total * WALK_IN_SHARE)):
        d = walk_in_days.draw(rng)
        location = location_pick.draw(rng)
        seconds = time_of_day()
        transactions.append(
            [
                d * 86400 + seconds,
                stamp(d, seconds),
                -1,
                location,
                staff_on(location, d),
                payment_pick.draw(rng),
                "sale",
                "voided" if rng.random() < VOID_SHARE else "completed",
                None,
                basket(d, None, None),
            ]
        )

    # Refunds: a few percent of completed sales, some days later, at the same store.
    refunds = []
    for sale in transactions:
        if sale[7] != "completed" or rng.random() >= REFUND_SHARE / (1 - VOID_SHARE):
            continue
        d = sale[0] // 86400 + min(rng.choice([0, 0, 1, 2, 3, 5, 7, 10]), days - 1 - sale[0] // 86400)
        seconds = time_of_day()
        if d * 86400 + seconds <= sale[0]:
            seconds = min(sale[0] % 86400 + 600, 22 * 3600 - 1)
        sale_lines = sale[9]
        returned = sale_lines if rng.random() < 0.2 else [rng.choice(sale_lines)]
        refunds.append(
            [
                d * 86400 + seconds,
                stamp(d, seconds),
                sale[2],
                sale[3],
                staff_on(sale[3], d),
                sale[5],
                "refund",
                "completed",
                sale,
                [[p, q, disc] for p, q, disc in returned],
            ]
        )
    transactions.extend(refunds)
    transactions.sort(key=lambda t: t[0])

    # Ids, totals, loyalty, rows.
    transaction_rows: list[Row] = []
    item_rows: list[Row] = []
    balances = [0] * len(members)
    id_of: dict[int, str] = {}
    for n, t in enumerate(transactions, start=1):
        transaction_id = f"TX{n:08d}"
        id_of[id(t)] = transaction_id
        sign = -1 if t[6] == "refund" else 1
        subtotal = 0
        discounts = 0
        for line_number, (p, quantity, discount) in enumerate(t[9], start=1):
            line_total = quantity * p.price_cents - discount
            subtotal += line_total
            discounts += discount
            item_rows.append(
                (
                    transaction_id,
                    str(line_number),
                    p.sku,
                    p.name,
                    p.brand,
                    p.category,
                    p.strain,
                    p.flower_type,
                    str(quantity),
                    money(p.price_cents),
                    money(discount),
                    money(sign * line_total),
                    p.thc,
                    p.cbd,
                )
            )
        tax = round(subtotal * TAX_RATE)
        total = sign * (subtotal + tax)
        earned = spent = 0
        member = t[2]
        if member >= 0 and t[7] == "completed":
            if sign > 0:
                earned = total // 100
                if balances[member] >= 200 and rng.random() < 0.25:
                    spent = 200
                balances[member] += earned - spent
            else:
                # A refund takes back the points its dollars earned.
                balances[member] -= min(balances[member], -total // 100)
        transaction_rows.append(
            (
                transaction_id,
                members[member].member_id if member >= 0 else None,
                t[1],
                t[3],
                t[4],
                f"{t[3][:2].upper()}-{1 + (t[0] // 3600) % 3}",
                t[5],
                t[6],
                t[7],
                id_of[id(t[8])] if t[8] is not None else None,
                money(total),
                money(sign * tax),
                money(sign * discounts),
                str(earned),
                str(spent),
            )
        )

    for i, m in enumerate(members):
        city, zips, _w = city_pick.draw(rng)
        registered = first_day + timedelta(days=m.join_day)
        if m.join_day < 30 and rng.random() < 0.8:
            registered -= timedelta(days=rng.randint(30, 1400))
        elif rng.random() < 0.1:
            registered -= timedelta(days=rng.randint(1, 20))
        email = None
        if rng.random() < 0.7:
            email = f"{m.first}.{m.last}{rng.randint(1, 99)}@{rng.choice(EMAIL_DOMAINS)}".lower()
        customer_rows.append(
            (
                m.member_id,
                f"{m.first} {m.last}",
                phone_formats(m.digits, rng) if m.digits else None,
                email,
                str(balances[i]),
                "Medical" if rng.random() < 0.15 else "Recreational",
                group_pick.draw(rng),
                source_pick.draw(rng),
                f"{rng.randint(100, 9999)} {rng.choice(STREETS)}",
                city,
                "CA",
                rng.choice(zips),
                rng.choice(["America/Phoenix", "America/New_York"]) if rng.random() < 0.02 else None,
                registered.isoformat(),
            )
        )

    rows = {
        "products": product_rows,
        "customers": customer_rows,
        "staff": staff_rows,
        "transactions": transaction_rows,
        "transaction_items": item_rows,
    }
    dataset = Dataset(scale, seed, as_of, first_day, last_day, rows, [], [], heavy_ids)
    add_bad_rows(dataset, rng, members_by_id={m.member_id: m for m in members})
    add_messages_and_leads(dataset, rng, members, phones, transactions, id_of)
    return dataset


def add_bad_rows(dataset: Dataset, rng: random.Random, members_by_id: dict) -> None:
    """A few rows a real export would have, that the import must reject or repair."""
    rows = dataset.rows
    scale = dataset.scale
    expected = dataset.expected_issues
    heavy = set(dataset.heavy_member_ids)
    real_items = list(rows["transaction_items"])

    # Customers whose phone cannot be a phone: imported without it.
    bad_phones = ["555-0123", "619-97-3020", "n/a", "(000) 555-1234", "+1 619 977 30201", "call me", "0"]
    candidates = [i for i, r in enumerate(rows["customers"]) if r[2] is not None and r[0] not in heavy]
    for n, i in enumerate(rng.sample(candidates, min(len(candidates), scaled(25, scale, 2)))):
        r = list(rows["customers"][i])
        r[2] = bad_phones[n % len(bad_phones)]
        rows["customers"][i] = tuple(r)
        expected.append(ExpectedIssue("customers", r[0], "phone", "field_cleared"))
    # A registration date that does not exist: imported without it.
    i = rng.choice(candidates)
    r = list(rows["customers"][i])
    r[13] = f"{dataset.first_day.year}-02-30"
    rows["customers"][i] = tuple(r)
    expected.append(ExpectedIssue("customers", r[0], "registered_on", "field_cleared"))
    # Rows without member id: rejected.
    for _ in range(scaled(3, scale, 1)):
        rows["customers"].append(
            (
                None,
                f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
                None,
                None,
                "0",
                "Recreational",
                "Standard",
                "Walk-in",
                None,
                "San Diego",
                "CA",
                "92101",
                None,
                dataset.last_day.isoformat(),
            )
        )
        expected.append(ExpectedIssue("customers", None, "member_id", "rejected"))
    # The same member exported twice: the earlier row is rejected, the later one imported.
    twice = rows["customers"][rng.choice(candidates)]
    rows["customers"].insert(rng.randrange(0, len(rows["customers"]) // 2), twice)
    expected.append(ExpectedIssue("customers", twice[0], "member_id", "rejected"))

    # A product with an unreadable price: imported without it.
    i = rng.randrange(len(rows["products"]))
    r = list(rows["products"][i])
    r[10] = "call for price"
    rows["products"][i] = tuple(r)
    expected.append(ExpectedIssue("products", r[0], "retail_price", "field_cleared"))

    # Transactions the import must reject, each with one line (rejected in turn: unknown transaction).
    template = rows["transactions"][len(rows["transactions"]) // 2]
    item_template = next(r for r in rows["transaction_items"] if r[0] == template[0])
    bad = []
    for n in range(scaled(4, scale, 1)):
        bad.append(("date", f"{dataset.last_day.year - 1}-02-30 13:{10 + n}:00"))
        bad.append(("total_amount", "12..50"))
        bad.append(("customer_id", f"M{900001 + n}"))
    for n, (fieldname, value) in enumerate(bad, start=1):
        r = list(template)
        r[0] = f"TXBAD{n:04d}"
        r[{"date": 2, "total_amount": 10, "customer_id": 1}[fieldname]] = value
        rows["transactions"].append(tuple(r))
        expected.append(ExpectedIssue("transactions", r[0], fieldname, "rejected"))
        item = list(item_template)
        item[0] = r[0]
        rows["transaction_items"].append(tuple(item))
        expected.append(ExpectedIssue("transaction_items", f"{r[0]} #1", "transaction_id", "rejected"))

    # Lines the import must reject, on real transactions: negative quantity, unknown sku.
    lines_per_tx = Counter(r[0] for r in real_items)
    sample = rng.sample(real_items, scaled(20, scale, 2))
    for n, template_line in enumerate(sample):
        r = list(template_line)
        lines_per_tx[r[0]] += 1
        r[1] = str(lines_per_tx[r[0]] + 50)
        if n % 2 == 0:
            r[8] = "-1"
            fieldname = "quantity"
        else:
            r[2] = f"SKU-GONE-{n:03d}"
            fieldname = "product_sku"
        rows["transaction_items"].append(tuple(r))
        expected.append(ExpectedIssue("transaction_items", f"{r[0]} #{r[1]}", fieldname, "rejected"))
    # A line exported twice: the earlier copy is rejected.
    twice = real_items[rng.randrange(len(real_items) // 2)]
    rows["transaction_items"].insert(rng.randrange(0, len(rows["transaction_items"]) // 4), twice)
    expected.append(ExpectedIssue("transaction_items", f"{twice[0]} #{twice[1]}", "line_number", "rejected"))


def add_messages_and_leads(dataset, rng, members, phones: PhoneBook, transactions, id_of) -> None:
    """SMS history (campaigns, questions and answers) and leads, over the last months."""
    days = HISTORY_DAYS
    last = days - 1
    scale = dataset.scale
    messages: list[tuple] = []
    last_visit: dict[int, tuple[int, str]] = {}
    for t in transactions:
        if t[2] >= 0:
            last_visit[t[2]] = (t[0] // 86400, t[3])
    textable = [i for i, m in enumerate(members) if m.digits and i in last_visit]
    sequence = 0

    def message(
        phone: str,
        text: str,
        d: int,
        seconds: int,
        direction: str,
        status: str,
        kind: str,
        member: int | None,
        reply_to: str | None = None,
    ) -> str:
        nonlocal sequence
        sequence += 1
        digest = hashlib.sha256(f"{dataset.seed}:{sequence}:{phone}:{text}".encode()).hexdigest()[:32]
        message_hash = f"demo:{digest}"
        day = (dataset.first_day + timedelta(days=d)).isoformat()
        local = f"{day} {seconds // 3600:02d}:{seconds // 60 % 60:02d}"
        messages.append(
            (
                e164(phone),
                text,
                local,
                direction,
                status,
                kind,
                message_hash,
                members[member].member_id if member is not None else None,
                reply_to,
                "CMS:500" if status == "failed" else None,
                "network rejected the message" if status == "failed" else None,
            )
        )
        return message_hash

    # Campaigns: one every few weeks over the last six months, each to a slice of the members
    # who can be texted (at most one marketing message a week per number).
    campaign_days = sorted({last - 7 * k - rng.randint(0, 3) for k in range(1, 26, 3)})
    for d in campaign_days:
        audience = rng.sample(textable, min(len(textable), scaled(600, scale, 3)))
        template = rng.choice(CAMPAIGN_TEXTS)
        for i in audience:
            m = members[i]
            status = rng.choices(["sent", "failed", "cancelled"], weights=[93, 5, 2])[0]
            text = template.format(
                first=m.first, location=last_visit[i][1], category=rng.choice(CATEGORIES)[0]
            )
            message(m.digits, text, d, rng.randint(11 * 3600, 18 * 3600), "outbound", status, "marketing", i)

    # Conversations: a member asks, the shop answers a few minutes later (most of the time).
    for _ in range(scaled(1500, scale, 6)):
        i = rng.choice(textable)
        m = members[i]
        d = rng.randint(last - 150, last)
        seconds = rng.randint(9 * 3600, 21 * 3600)
        strain = rng.choice(STRAINS)[0]
        category = rng.choice(CATEGORIES)[0]
        question = rng.choice(INBOUND_TEXTS).format(strain=strain, category=category.lower())
        status = "unread" if d >= last - 1 and rng.random() < 0.6 else "read"
        asked = message(m.digits, question, d, seconds, "inbound", status, "reply", i)
        if status == "read" and rng.random() < 0.9:
            answer = rng.choice(REPLY_TEXTS).format(
                first=m.first, location=last_visit[i][1], category=category
            )
            message(
                m.digits,
                answer,
                d,
                min(seconds + rng.randint(60, 900), 22 * 3600),
                "outbound",
                "sent",
                "reply",
                i,
                asked,
            )

    # Leads: people who texted and are not members yet, and members who came in from a lead.
    leads: list[tuple] = []
    for _ in range(scaled(450, scale, 4)):
        digits = phones.new()
        d = rng.randint(last - 120, last)
        text = rng.choice(LEAD_TEXTS).format(street=rng.choice(STREETS))
        seconds = rng.randint(9 * 3600, 21 * 3600)
        asked = message(digits, text, d, seconds, "inbound", "read", "reply", None)
        message(
            digits,
            "Hi! We're open 9am-10pm daily at three San Diego locations. First visit? Ask for 15% off.",
            d,
            seconds + rng.randint(60, 600),
            "outbound",
            "sent",
            "reply",
            None,
            asked,
        )
        status = rng.choices(["new", "warm", "hot", "cold", "lost"], weights=[35, 25, 10, 20, 10])[0]
        stage = {
            "new": "initial",
            "warm": "engaged",
            "hot": "ready_to_visit",
            "cold": "no_reply",
            "lost": "closed",
        }
        leads.append((e164(digits), status, stage[status], text, d, "sms", None))
    for i in rng.sample(textable, min(len(textable), scaled(150, scale, 2))):
        m = members[i]
        d = max(m.join_day - rng.randint(1, 10), 0)
        leads.append(
            (
                e164(m.digits),
                "converted",
                "customer",
                "Do you have first-time customer deals?",
                d,
                rng.choice(["sms", "web", "event"]),
                m.member_id,
            )
        )
    dataset.messages = messages
    dataset.leads = leads


# ----------------------------------------------------------------------------------------------
# Loading


def store_today() -> date:
    """Today at the store (the generator's default as_of)."""
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo(STORE_TIME_ZONE)).date()


def csv_text(rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue()


def stage(conn: psycopg.Connection, dataset: Dataset) -> None:
    """COPY every entity into its staging table, as CSV, with row numbers in file order."""
    source = dataset.source
    with conn.cursor() as cur:
        for entity, columns in STAGING_COLUMNS.items():
            cur.execute(f"delete from conductor.staging_{entity} where source = %s", (source,))
            numbered = [(source, n, *row) for n, row in enumerate(dataset.rows[entity], start=1)]
            column_list = ", ".join(["source", "row_number", *columns])
            with cur.copy(
                f"copy conductor.staging_{entity} ({column_list}) from stdin with (format csv)"
            ) as copy:
                chunk = 20_000
                for start in range(0, len(numbered), chunk):
                    copy.write(csv_text(numbered[start : start + chunk]))


def insert_messages_and_leads(conn: psycopg.Connection, dataset: Dataset) -> tuple[int, int]:
    """Plain INSERTs into public.messages and public.leads; rows already there are kept."""
    with conn.cursor() as cur:
        columns = [list(c) for c in zip(*dataset.messages, strict=True)] if dataset.messages else [[]] * 11
        cur.execute(
            """
            with m as (
                select * from unnest(
                    %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                    %s::text[], %s::text[], %s::text[], %s::text[]
                ) as m (phone, content, local_time, direction, status, kind, hash, member_id, reply_to,
                        error_code, error_message)
            ),
            stamped as (
                select m.*, (m.local_time::timestamp at time zone conductor.store_time_zone()) as at
                from m
            ),
            first_pass as (
                insert into public.messages (
                    phone_number, content, timestamp, direction, status, message_kind, message_hash,
                    customer_id, error_code, error_message, read_at, parts
                )
                select phone, content, at, direction, status, kind, hash, member_id, error_code,
                    error_message, case when status = 'read' then at + interval '20 minutes' end, 1
                from stamped
                where reply_to is null
                order by at, hash
                on conflict (message_hash) do nothing
                returning 1
            )
            select count(*) from first_pass
            """,
            columns,
        )
        inserted = cur.fetchone()[0]
        cur.execute(
            """
            with m as (
                select * from unnest(
                    %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],
                    %s::text[], %s::text[]
                ) as m (phone, content, local_time, direction, status, kind, hash, member_id, reply_to)
            ),
            replies as (
                insert into public.messages (
                    phone_number, content, timestamp, direction, status, message_kind, message_hash,
                    customer_id, in_reply_to, parts
                )
                select m.phone, m.content, m.local_time::timestamp at time zone conductor.store_time_zone(),
                    m.direction, m.status, m.kind, m.hash, m.member_id, q.id, 1
                from m
                join public.messages as q on q.message_hash = m.reply_to
                where m.reply_to is not null
                order by m.local_time, m.hash
                on conflict (message_hash) do nothing
                returning 1
            )
            select count(*) from replies
            """,
            columns[:9],
        )
        inserted += cur.fetchone()[0]
        lead_columns = [list(c) for c in zip(*dataset.leads, strict=True)] if dataset.leads else [[]] * 7
        cur.execute(
            """
            with l as (
                select * from unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::int[], %s::text[],
                    %s::text[]) as l (phone, status, stage, last_message, day, source, member_id)
            ),
            added as (
                insert into public.leads (
                    phone_number, lead_status, conversation_stage, last_message, last_message_at, source,
                    customer_id
                )
                select phone, status, stage, last_message,
                    (%s::date + day + time '14:00') at time zone conductor.store_time_zone(),
                    source, member_id
                from l
                order by phone
                on conflict (phone_number) do nothing
                returning 1
            )
            select count(*) from added
            """,
            [*lead_columns, dataset.first_day],
        )
        leads = cur.fetchone()[0]
    return inserted, leads


def load(url: str, scale: float = 1.0, seed: int = 42, *, as_of: date | None = None) -> str:
    """Generate the demo data and load it through the import path; returns a one-paragraph report.

    Everything happens in one transaction: staging, conductor.import_all, messages and leads, and
    the refresh of the materialized views (so the win-back queue is full at once). Loading the
    same (scale, seed, as_of) again changes no row."""
    started = time.monotonic()
    dataset = generate(scale=scale, seed=seed, as_of=as_of)
    generated = time.monotonic()
    with psycopg.connect(url) as conn:
        stage(conn, dataset)
        staged = time.monotonic()
        result = conn.execute("select conductor.import_all(%s)", (dataset.source,)).fetchone()[0]
        imported = time.monotonic()
        messages, leads = insert_messages_and_leads(conn, dataset)
        # import_all refreshed the win-back queue and the activity timeline; the texts (and the
        # opt-outs they cause) and leads just added reach them too before the commit.
        conn.execute("select conductor.refresh_materialized_views()")
        conn.commit()
    finished = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "analyze public.customers, public.products, public.staff, public.transactions, "
            "public.transaction_items, public.messages, public.leads"
        )
    return report(
        dataset,
        result,
        messages,
        leads,
        timings=(generated - started, staged - generated, imported - staged, finished - imported),
    )


def report(dataset: Dataset, result: dict, messages: int, leads: int, timings: tuple[float, ...]) -> str:
    def stored(entity: str) -> int:
        r = result[entity]
        return r["inserted"] + r["updated"] + r["unchanged"]

    def changed(entity: str) -> int:
        r = result[entity]
        return r["inserted"] + r["updated"]

    transactions = dataset.rows["transactions"]
    refunds = sum(1 for r in transactions if r[7] == "refund")
    voided = sum(1 for r in transactions if r[8] == "voided")
    walk_ins = sum(1 for r in transactions if r[1] is None and r[7] == "sale")
    no_phone = sum(1 for r in dataset.rows["customers"] if r[0] is not None and r[2] is None)
    rejected = sum(result[e]["rejected"] for e in ENTITIES)
    cleared = sum(result[e]["fields_cleared"] for e in ENTITIES)
    written = sum(changed(e) for e in ENTITIES)
    generate_s, stage_s, import_s, rest_s = timings
    heavy = len(dataset.heavy_member_ids)
    return (
        f"Demo data (seed {dataset.seed}, scale {dataset.scale:g}, history {dataset.first_day} to "
        f"{dataset.last_day}, {STORE_TIME_ZONE}) loaded through conductor.import_all('{dataset.source}'): "
        f"{stored('customers'):,} customers ({no_phone:,} without phone, {heavy} with "
        f"200+ visits), {stored('products'):,} products, {stored('staff'):,} staff at {len(LOCATIONS)} "
        f"locations, {stored('transactions'):,} transactions ({refunds:,} refunds, {voided:,} voided, "
        f"{walk_ins:,} walk-in sales), {stored('transaction_items'):,} line items, {messages:,} new messages "
        f"and {leads:,} new leads; {written:,} rows inserted or updated, the rest unchanged. On purpose the "
        f"import rejected {rejected:,} bad rows and cleared {cleared:,} bad fields "
        "(see conductor.data_issues). "
        f"Took {sum(timings):.1f} s: generate {generate_s:.1f} s, COPY {stage_s:.1f} s, "
        f"import {import_s:.1f} s, "
        f"messages and leads {rest_s:.1f} s."
    )
