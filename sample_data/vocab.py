"""Word lists and lookup tables for the sample generator.

Everything here was written for segscope: the syllables combine into company
and person names that are synthetic (any resemblance to a real firm or person
is chance), and the figures (weights, margins, prices) are plausible round
numbers for a European B2B industrial supplier, not measurements.

Behaviour groups are indexed 0 = price-driven transactional buyers,
1 = solution / complex buyers, 2 = delivery / reliability-driven buyers. The
group is never written to the account files; only its effects are.
"""

from __future__ import annotations

GROUPS = ("price-driven", "solution", "delivery-driven")

# (country, region, weight, [(legal form, weight, is_large_company_form)])
COUNTRIES: list[tuple[str, str, float, list[tuple[str, float, bool]]]] = [
    (
        "Germany",
        "DACH",
        0.16,
        [("GmbH", 0.70, False), ("GmbH & Co. KG", 0.20, False), ("AG", 0.10, True)],
    ),
    ("Austria", "DACH", 0.04, [("GmbH", 0.85, False), ("AG", 0.15, True)]),
    ("Switzerland", "DACH", 0.04, [("AG", 0.55, True), ("GmbH", 0.45, False)]),
    ("Sweden", "Nordics", 0.04, [("AB", 0.90, False), ("AB (publ)", 0.10, True)]),
    ("Denmark", "Nordics", 0.03, [("ApS", 0.70, False), ("A/S", 0.30, True)]),
    ("Norway", "Nordics", 0.02, [("AS", 0.85, False), ("ASA", 0.15, True)]),
    ("Finland", "Nordics", 0.02, [("Oy", 0.85, False), ("Oyj", 0.15, True)]),
    ("Netherlands", "Benelux", 0.06, [("BV", 0.85, False), ("NV", 0.15, True)]),
    ("Belgium", "Benelux", 0.04, [("BV", 0.60, False), ("SRL", 0.25, False), ("NV", 0.15, True)]),
    ("Luxembourg", "Benelux", 0.01, [("SARL", 0.70, False), ("SA", 0.30, True)]),
    (
        "United Kingdom",
        "UK&I",
        0.12,
        [("Ltd", 0.82, False), ("LLP", 0.08, False), ("PLC", 0.10, True)],
    ),
    ("Ireland", "UK&I", 0.03, [("Ltd", 0.80, False), ("DAC", 0.10, False), ("PLC", 0.10, True)]),
    ("France", "France", 0.11, [("SAS", 0.55, False), ("SARL", 0.35, False), ("SA", 0.10, True)]),
    ("Spain", "Iberia", 0.06, [("SL", 0.80, False), ("SA", 0.20, True)]),
    ("Portugal", "Iberia", 0.02, [("Lda", 0.80, False), ("SA", 0.20, True)]),
    ("Italy", "Italy", 0.08, [("Srl", 0.80, False), ("SpA", 0.20, True)]),
    ("Poland", "CEE", 0.05, [("sp. z o.o.", 0.85, False), ("SA", 0.15, True)]),
    ("Czechia", "CEE", 0.03, [("s.r.o.", 0.85, False), ("a.s.", 0.15, True)]),
    ("Hungary", "CEE", 0.02, [("Kft.", 0.85, False), ("Zrt.", 0.15, True)]),
    ("Romania", "CEE", 0.02, [("SRL", 0.85, False), ("SA", 0.15, True)]),
]

# name, weight, mean log(employees), turnover per employee (EUR),
# spend multiplier (how much of our kind of product the industry buys),
# behaviour group mix (price, solution, delivery), words for company names.
INDUSTRIES: list[tuple[str, float, float, float, float, tuple[float, float, float], list[str]]] = [
    (
        "Manufacturing",
        0.20,
        3.9,
        250_000,
        1.6,
        (0.30, 0.40, 0.30),
        ["Werke", "Industries", "Manufacturing", "Metalworks", "Components"],
    ),
    (
        "Wholesale",
        0.14,
        3.3,
        600_000,
        1.1,
        (0.55, 0.10, 0.35),
        ["Trading", "Distribution", "Supply", "Handel"],
    ),
    (
        "Construction",
        0.12,
        3.1,
        180_000,
        0.9,
        (0.55, 0.15, 0.30),
        ["Bau", "Construction", "Builders", "Infra"],
    ),
    (
        "Healthcare",
        0.09,
        4.0,
        120_000,
        0.7,
        (0.30, 0.35, 0.35),
        ["Care", "Clinics", "Medical", "Health"],
    ),
    (
        "IT services",
        0.10,
        3.2,
        150_000,
        0.45,
        (0.25, 0.50, 0.25),
        ["Systems", "Digital", "Software", "Data"],
    ),
    (
        "Logistics",
        0.09,
        3.6,
        160_000,
        1.0,
        (0.35, 0.15, 0.50),
        ["Logistics", "Transport", "Freight", "Cargo"],
    ),
    (
        "Retail",
        0.10,
        3.5,
        220_000,
        0.55,
        (0.60, 0.10, 0.30),
        ["Retail", "Stores", "Markets", "Shops"],
    ),
    (
        "Energy",
        0.06,
        4.5,
        700_000,
        2.2,
        (0.20, 0.50, 0.30),
        ["Energy", "Power", "Utilities", "Grid"],
    ),
    (
        "Public sector",
        0.05,
        4.7,
        90_000,
        0.5,
        (0.50, 0.20, 0.30),
        ["Regional Authority", "Municipal Services", "Public Works", "Agency"],
    ),
    (
        "Chemicals",
        0.05,
        4.3,
        400_000,
        1.8,
        (0.25, 0.45, 0.30),
        ["Chemicals", "Pharma", "Labs", "Materials"],
    ),
]

PHASES = ("start-up", "growth", "mature", "declining")
PHASE_WEIGHTS = (0.10, 0.25, 0.50, 0.15)
# company age range (years) per phase, and its shift of log(employees)
PHASE_AGE = ((0, 5), (3, 15), (10, 80), (20, 110))
PHASE_SIZE_SHIFT = (-1.2, -0.3, 0.2, 0.1)
# per-year drift of purchases per phase
PHASE_GROWTH = (0.25, 0.15, 0.0, -0.15)

OWNERSHIP = ("family-owned", "privately held", "private equity", "publicly listed", "subsidiary")
OWNERSHIP_WEIGHTS_SMALL = (0.45, 0.35, 0.08, 0.0, 0.12)
OWNERSHIP_WEIGHTS_LARGE = (0.10, 0.10, 0.15, 0.40, 0.25)

# Behaviour-group fields: probabilities per group (rows price, solution, delivery).
BUYING_DRIVERS = ("price", "performance", "delivery")
BUYING_DRIVER_P = ((0.85, 0.05, 0.10), (0.07, 0.83, 0.10), (0.10, 0.10, 0.80))
OFFER_TYPES = ("standard", "customised")
OFFER_TYPE_P = ((0.95, 0.05), (0.15, 0.85), (0.85, 0.15))
COLLABORATION = ("low", "medium", "high")
COLLABORATION_P = ((0.75, 0.20, 0.05), (0.05, 0.20, 0.75), (0.15, 0.70, 0.15))
PURCHASING_ORG = ("centralised", "decentralised")
PURCHASING_ORG_P = ((0.85, 0.15), (0.20, 0.80), (0.55, 0.45))
TOUCHPOINTS = ("web portal", "email", "phone", "field visit", "events")
TOUCHPOINT_P = (
    (0.45, 0.30, 0.15, 0.05, 0.05),
    (0.05, 0.15, 0.15, 0.45, 0.20),
    (0.20, 0.30, 0.35, 0.10, 0.05),
)
# buying-centre size: low + Binomial(n, p)  ->  price 1-3, solution 5-12, delivery 3-5
BUYING_CENTER = ((1, 2, 0.4), (5, 7, 0.45), (3, 2, 0.5))
# spend multiplier per group (solution buyers buy more per head)
GROUP_SPEND = (0.8, 1.6, 1.0)
# yearly churn probability per group (transactional buyers switch most easily)
GROUP_CHURN = (0.12, 0.04, 0.08)
# extra lines per order (Poisson mean); an order has 1 + Poisson(lambda) lines
GROUP_EXTRA_LINES = (0.6, 2.2, 1.4)
# price discount off list and margin shift (percentage points) per group
GROUP_DISCOUNT = (0.12, -0.03, 0.05)
GROUP_MARGIN_SHIFT = (-0.08, 0.05, -0.01)

TECHNOLOGIES = ("ERP", "CRM", "EDI", "e-procurement", "PLM", "MES", "IoT platform", "BI", "WMS")
# probability an account uses each technology, per group
TECHNOLOGY_P = (
    (0.70, 0.30, 0.45, 0.55, 0.05, 0.10, 0.05, 0.15, 0.20),
    (0.90, 0.75, 0.25, 0.20, 0.55, 0.45, 0.45, 0.60, 0.20),
    (0.85, 0.45, 0.70, 0.35, 0.10, 0.25, 0.20, 0.30, 0.60),
)

CHANNELS = ("field sales", "inside sales", "web shop", "EDI", "partner")
CHANNEL_P = (
    (0.05, 0.20, 0.45, 0.20, 0.10),
    (0.55, 0.25, 0.05, 0.05, 0.10),
    (0.10, 0.30, 0.15, 0.40, 0.05),
)

# Product lines: name, code, base margin, log mean list price (EUR),
# four product nouns (each sold in three variants).
PRODUCT_LINES: list[tuple[str, str, float, float, list[str]]] = [
    ("Fasteners", "FX", 0.24, 2.5, ["hex bolt set", "anchor kit", "washer pack", "threaded rod"]),
    ("Hydraulics", "HY", 0.31, 5.0, ["hose assembly", "pressure valve", "gear pump", "coupling"]),
    ("Electrical", "EL", 0.27, 4.0, ["cable drum", "circuit breaker", "terminal block", "relay"]),
    ("Automation", "AU", 0.36, 6.0, ["proximity sensor", "PLC module", "servo drive", "HMI panel"]),
    ("Tools", "TL", 0.30, 4.0, ["torque wrench", "drill set", "cutting disc", "crimping tool"]),
    ("Safety", "SF", 0.33, 3.2, ["safety gloves", "ear protection", "hard hat", "harness"]),
    ("Packaging", "PK", 0.18, 2.2, ["stretch film", "carton box", "pallet strap", "void fill"]),
    ("Spare parts", "SP", 0.40, 4.5, ["bearing", "drive belt", "filter cartridge", "seal kit"]),
    (
        "Engineering services",
        "ES",
        0.45,
        4.8,
        ["design hour", "commissioning hour", "maintenance visit", "training day"],
    ),
]
PRODUCT_VARIANTS = ("standard", "heavy-duty", "compact")

# Affinity of each industry (rows, INDUSTRIES order) for each product line
# (columns, PRODUCT_LINES order).
INDUSTRY_LINE_AFFINITY = (
    (3, 3, 2, 3, 3, 2, 1, 3, 2),  # manufacturing
    (3, 1, 2, 1, 2, 2, 3, 1, 0.5),  # wholesale
    (3, 2, 3, 1, 3, 3, 1, 1, 1),  # construction
    (1, 0.5, 2, 1, 1, 3, 2, 2, 1),  # healthcare
    (1, 0.5, 3, 2, 1, 1, 1, 2, 3),  # IT services
    (2, 2, 1, 1, 2, 2, 3, 3, 1),  # logistics
    (1, 0.5, 2, 1, 1, 2, 3, 1, 0.5),  # retail
    (2, 3, 3, 3, 2, 2, 0.5, 3, 3),  # energy
    (2, 1, 2, 1, 2, 3, 1, 2, 2),  # public sector
    (2, 3, 2, 3, 1, 3, 2, 3, 2),  # chemicals
)
# Affinity of each behaviour group for each product line.
GROUP_LINE_AFFINITY = (
    (3, 1, 2, 0.5, 2, 2, 3, 1, 0.2),  # price-driven: commodities
    (1, 2, 2, 3, 1, 1, 0.5, 2, 3),  # solution: automation, services
    (2, 2, 2, 1, 2, 2, 2, 3, 0.5),  # delivery: spare parts, steady supply
)

# Syllables for company names (prefix + suffix) and person names.
COMPANY_PREFIX = (
    "Vel",
    "Nor",
    "Kast",
    "Bren",
    "Tal",
    "Mer",
    "Or",
    "Sil",
    "Dra",
    "Fen",
    "Gal",
    "Hav",
    "Il",
    "Jor",
    "Kel",
    "Lum",
    "Mor",
    "Nev",
    "Ost",
    "Pra",
    "Quin",
    "Ros",
    "Sar",
    "Tor",
    "Ul",
    "Var",
    "Wes",
    "Zel",
    "Aur",
    "Bel",
    "Cor",
    "Del",
)
COMPANY_SUFFIX = (
    "ora",
    "tek",
    "vana",
    "lux",
    "mont",
    "dale",
    "ix",
    "aro",
    "well",
    "stad",
    "lin",
    "ova",
    "rex",
    "tura",
    "heim",
    "ford",
    "ano",
    "via",
    "tron",
    "ssen",
)
FIRST_A = (
    "An",
    "Ma",
    "Lu",
    "El",
    "Jo",
    "Ka",
    "Ti",
    "Sa",
    "Ro",
    "Fe",
    "Mi",
    "Da",
    "Ha",
    "Li",
    "Be",
    "No",
)
FIRST_B = (
    "na",
    "ra",
    "lia",
    "rik",
    "to",
    "mon",
    "las",
    "ven",
    "ja",
    "rin",
    "da",
    "nus",
    "tje",
    "ko",
)
LAST_A = (
    "Ber",
    "Hol",
    "Kar",
    "Lind",
    "Mor",
    "Sten",
    "Val",
    "Dre",
    "Fal",
    "Gor",
    "Wes",
    "Tor",
    "Bran",
    "Kess",
    "Mar",
    "Ost",
)
LAST_B = (
    "mann",
    "berg",
    "son",
    "ini",
    "ez",
    "ova",
    "sky",
    "elli",
    "ard",
    "ens",
    "holm",
    "ier",
    "ska",
    "ton",
    "dahl",
    "vik",
)

DECISION_ROLES = ("decision maker", "influencer", "user", "buyer", "gatekeeper")
# role mix of contacts beyond the first two (who are a decision maker and a buyer)
ROLE_P = (
    (0.05, 0.15, 0.30, 0.35, 0.15),
    (0.15, 0.40, 0.30, 0.05, 0.10),
    (0.10, 0.30, 0.30, 0.20, 0.10),
)
SENIORITIES = ("C-level", "director", "manager", "specialist")
# seniority mix per decision role
SENIORITY_P = (
    (0.45, 0.45, 0.10, 0.00),
    (0.05, 0.45, 0.40, 0.10),
    (0.00, 0.05, 0.35, 0.60),
    (0.00, 0.10, 0.45, 0.45),
    (0.00, 0.00, 0.30, 0.70),
)
FUNCTIONS = (
    "management",
    "finance",
    "procurement",
    "operations",
    "engineering",
    "IT",
    "quality",
    "logistics",
    "administration",
)
# function mix per decision role
FUNCTION_P = (
    (0.45, 0.20, 0.05, 0.20, 0.05, 0.05, 0.00, 0.00, 0.00),
    (0.00, 0.10, 0.05, 0.20, 0.30, 0.15, 0.15, 0.05, 0.00),
    (0.00, 0.00, 0.00, 0.35, 0.25, 0.10, 0.10, 0.20, 0.00),
    (0.00, 0.05, 0.90, 0.00, 0.00, 0.00, 0.00, 0.05, 0.00),
    (0.00, 0.00, 0.30, 0.00, 0.00, 0.00, 0.00, 0.10, 0.60),
)
# title per (function, seniority)
TITLES = {
    "management": (
        "Managing Director",
        "General Manager",
        "Business Unit Manager",
        "Management Associate",
    ),
    "finance": ("CFO", "Head of Finance", "Controller", "Financial Analyst"),
    "procurement": (
        "Chief Procurement Officer",
        "Head of Procurement",
        "Purchasing Manager",
        "Buyer",
    ),
    "operations": ("COO", "Plant Director", "Operations Manager", "Production Planner"),
    "engineering": ("CTO", "Head of Engineering", "Engineering Manager", "Design Engineer"),
    "IT": ("CIO", "IT Director", "IT Manager", "Systems Administrator"),
    "quality": ("Chief Quality Officer", "Head of Quality", "Quality Manager", "Quality Inspector"),
    "logistics": (
        "Chief Supply Chain Officer",
        "Head of Logistics",
        "Logistics Manager",
        "Warehouse Coordinator",
    ),
    "administration": (
        "Chief of Staff",
        "Office Director",
        "Office Manager",
        "Executive Assistant",
    ),
}
CONTACT_CHANNELS = ("email", "phone", "in person", "video call", "web portal")
CONTACT_CHANNEL_P = (
    (0.45, 0.25, 0.05, 0.05, 0.20),
    (0.25, 0.15, 0.35, 0.20, 0.05),
    (0.35, 0.35, 0.10, 0.15, 0.05),
)
