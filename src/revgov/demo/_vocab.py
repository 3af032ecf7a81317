"""Word lists and reference tables the demo generator draws from (no logic here)."""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "BAD_COUNTRY",
    "BUYING_ROLES",
    "CAMPAIGN_COST",
    "CHANNELS",
    "CONTENTS",
    "COUNTRIES",
    "DESCRIPTORS",
    "FIRST_NAMES",
    "INDUSTRIES",
    "LAST_NAMES",
    "NAME_PREFIXES",
    "NAME_ROOTS",
    "REGION_TIMEZONE",
    "TERMS",
    "TITLES",
    "UNKNOWN_STAGE",
    "UNTAGGED_SOURCES",
    "Channel",
    "Country",
]


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


class Country(NamedTuple):
    code: str
    region: str
    weight: float
    dial: str
    tld: str


COUNTRIES: tuple[Country, ...] = (
    Country("US", "NA", 0.32, "1", "com"),
    Country("CA", "NA", 0.05, "1", "ca"),
    Country("GB", "EMEA", 0.08, "44", "co.uk"),
    Country("DE", "EMEA", 0.06, "49", "de"),
    Country("FR", "EMEA", 0.04, "33", "fr"),
    Country("NL", "EMEA", 0.03, "31", "nl"),
    Country("SE", "EMEA", 0.02, "46", "se"),
    Country("ES", "EMEA", 0.02, "34", "es"),
    Country("IT", "EMEA", 0.02, "39", "it"),
    Country("IE", "EMEA", 0.02, "353", "ie"),
    Country("CH", "EMEA", 0.01, "41", "ch"),
    Country("DK", "EMEA", 0.01, "45", "dk"),
    Country("NO", "EMEA", 0.01, "47", "no"),
    Country("BE", "EMEA", 0.01, "32", "be"),
    Country("PL", "EMEA", 0.01, "48", "pl"),
    Country("AE", "EMEA", 0.01, "971", "ae"),
    Country("ZA", "EMEA", 0.01, "27", "co.za"),
    Country("IL", "EMEA", 0.01, "972", "co.il"),
    Country("AU", "APAC", 0.05, "61", "com.au"),
    Country("NZ", "APAC", 0.01, "64", "co.nz"),
    Country("JP", "APAC", 0.03, "81", "co.jp"),
    Country("SG", "APAC", 0.02, "65", "com.sg"),
    Country("IN", "APAC", 0.04, "91", "in"),
    Country("KR", "APAC", 0.01, "82", "co.kr"),
    Country("HK", "APAC", 0.01, "852", "com.hk"),
    Country("BR", "LATAM", 0.04, "55", "com.br"),
    Country("MX", "LATAM", 0.02, "52", "com.mx"),
    Country("AR", "LATAM", 0.01, "54", "com.ar"),
    Country("CL", "LATAM", 0.01, "56", "cl"),
    Country("CO", "LATAM", 0.01, "57", "com.co"),
)

#: How people type a country when the form has a free-text field (none is an ISO code).
BAD_COUNTRY: dict[str, tuple[str, ...]] = {
    "US": ("USA", "United States", "U.S.A."),
    "CA": ("Canada",),
    "GB": ("United Kingdom", "England", "Great Britain"),
    "DE": ("Germany", "Deutschland"),
    "FR": ("France",),
    "NL": ("Netherlands", "Holland"),
    "SE": ("Sweden",),
    "ES": ("Spain", "Espana"),
    "IT": ("Italy",),
    "IE": ("Ireland",),
    "CH": ("Switzerland",),
    "DK": ("Denmark",),
    "NO": ("Norway",),
    "BE": ("Belgium",),
    "PL": ("Poland",),
    "AE": ("United Arab Emirates", "UAE"),
    "ZA": ("South Africa",),
    "IL": ("Israel",),
    "AU": ("Australia",),
    "NZ": ("New Zealand",),
    "JP": ("Japan",),
    "SG": ("Singapore",),
    "IN": ("India",),
    "KR": ("South Korea",),
    "HK": ("Hong Kong",),
    "BR": ("Brazil", "Brasil"),
    "MX": ("Mexico",),
    "AR": ("Argentina",),
    "CL": ("Chile",),
    "CO": ("Colombia",),
}

REGION_TIMEZONE = {
    "NA": "America/New_York",
    "EMEA": "Europe/London",
    "APAC": "Asia/Singapore",
    "LATAM": "America/Sao_Paulo",
}

INDUSTRIES = (
    "Software",
    "Financial Services",
    "Healthcare",
    "Manufacturing",
    "Retail",
    "Education",
    "Media",
    "Logistics",
    "Telecommunications",
    "Energy",
    "Professional Services",
    "Hospitality",
)


class Channel(NamedTuple):
    """A marketing channel: the campaign-name token, the lead source and its UTM tags."""

    token: str
    lead_source: str
    weight: float
    sources: tuple[str, ...]
    medium: str
    offers: tuple[str, ...]
    has_term: bool
    has_content: bool


CHANNELS: tuple[Channel, ...] = (
    Channel(
        "search", "Paid Search", 0.25, ("google", "bing"), "cpc", ("demo", "trial"), True, False
    ),
    Channel(
        "social",
        "Paid Social",
        0.20,
        ("linkedin", "facebook"),
        "paid-social",
        ("ebook", "report", "demo"),
        False,
        True,
    ),
    Channel(
        "display", "Display", 0.08, ("g2", "capterra"), "display", ("demo", "trial"), False, True
    ),
    Channel(
        "email", "Email", 0.17, ("newsletter",), "email", ("newsletter", "promo"), False, False
    ),
    Channel("webinar", "Webinar", 0.10, ("zoom",), "webinar", ("webinar",), False, False),
    Channel("event", "Event", 0.07, ("conference",), "event", ("event", "demo"), False, False),
    Channel(
        "content",
        "Content Syndication",
        0.08,
        ("techtarget",),
        "content",
        ("ebook", "report", "guide"),
        False,
        False,
    ),
    Channel("partner", "Partner", 0.05, ("partner",), "referral", ("demo", "trial"), False, False),
)

#: Quarterly cost of one campaign at scale 1, by channel token.
CAMPAIGN_COST = {
    "search": 30_000.0,
    "social": 24_000.0,
    "display": 12_000.0,
    "email": 4_000.0,
    "webinar": 8_000.0,
    "event": 40_000.0,
    "content": 15_000.0,
    "partner": 6_000.0,
}

#: Lead sources of people who carry no UTM tags, with their weights.
UNTAGGED_SOURCES = (
    ("Organic Search", 0.43),
    ("Direct", 0.2),
    ("Outbound", 0.28),
    ("Referral", 0.09),
)

TERMS = (
    "revenue analytics",
    "crm data quality",
    "pipeline dashboard",
    "sales forecasting",
    "revops software",
    "lead routing",
)
CONTENTS = ("carousel-a", "carousel-b", "video-15s", "single-image", "banner-300x250", "lead-form")

#: Spellings of an open stage from a retired pipeline (none is a configured stage).
UNKNOWN_STAGE = ("Discovery", "Qualified", "Proposal/Price Quote", "Negotiation/Review")

FIRST_NAMES = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Sandra Mark Margaret Donald Ashley Steven Kimberly Andrew Emily "
    "Paul Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah "
    "Timothy Stephanie Ronald Rebecca Jason Sharon Edward Laura Jeffrey Cynthia Ryan Amy "
    "Jacob Kathleen Gary Angela Nicholas Shirley Eric Brenda Jonathan Emma Stephen Anna Larry "
    "Pamela Justin Nicole Scott Samantha Brandon Katherine Benjamin Christine Samuel Helen "
    "Gregory Debra Alexander Rachel Patrick Carolyn Frank Janet Raymond Maria Jack Olivia "
    "Dennis Heather Jerry Diane Tyler Julie Aaron Joyce Jose Victoria Adam Ruth Nathan "
    "Virginia Henry Lauren Zachary Kelly Douglas Christina Peter Joan Kyle Evelyn Noah Judith "
    "Ethan Andrea Jeremy Hannah Walter Megan Christian Cheryl Keith Jacqueline Roger Martha "
    "Terry Madison Austin Teresa Sean Gloria Gerald Sara Carl Janice Harold Ann Dylan Kathryn "
    "Arthur Abigail Lawrence Sophia Jordan Frances Jesse Jean Bryan Alice Billy Judy Bruce "
    "Isabella Gabriel Julia Joe Grace Logan Amber Alan Denise Juan Danielle Albert Marilyn "
    "Willie Beverly Elijah Charlotte Wayne Natalie Randy Theresa Vincent Diana Mateo Lucia "
    "Hugo Ines Lars Freya Kenji Yuki Arjun Priya Wei Mei Omar Layla Tomas Elena"
)

LAST_NAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
    "Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed "
    "Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray "
    "Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez "
    "Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales "
    "Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds "
    "Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar "
    "Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington "
    "Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson "
    "Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer "
    "Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza "
    "Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne Grant Dunn Kelley "
    "Spencer Hawkins Arnold Pierce Hansen Larsen Tanaka Suzuki Sato Singh Kumar Wang Zhang "
    "Muller Schneider Rossi Bianchi Dubois Moreau Jansen Dekker Novak Kowalski"
)

NAME_PREFIXES = _words(
    "North Blue Apex Bright Silver Iron Cedar Summit Harbor Stone Clear Swift Red Green Nova "
    "Prime True Bold Quantum Vertex Atlas Lumen Polar Crest Pine River Orbit Sky Echo Terra "
    "Core Delta Signal Zen Alpine Coastal Golden Rapid Open Meridian Beacon Pioneer Granite "
    "Solar Wild Maple Falcon Vista Hyper Urban Cobalt Amber Onyx Ember Aurora Nimbus Kinetic "
    "Sterling Arc"
)

NAME_ROOTS = _words(
    "wave peak field point bridge works stack forge path line gate tree loop grid mark shift "
    "view sphere scale cloud base leaf light wind spring rock bay ridge hub vault port mind "
    "beam frame flow yard craft sense bit"
)

DESCRIPTORS = _words(
    "Systems Analytics Health Labs Logistics Capital Media Software Foods Energy Partners "
    "Group Retail Robotics Networks Financial Insurance Learning Studios Dynamics Bio "
    "Manufacturing Consulting Telecom Security Travel Markets Solutions Industries Holdings"
)

TITLES = (
    "VP Marketing",
    "Director of Demand Generation",
    "Marketing Operations Manager",
    "Head of Revenue Operations",
    "Sales Operations Analyst",
    "VP Sales",
    "Chief Revenue Officer",
    "CFO",
    "Data Analyst",
    "Head of Growth",
    "Account Director",
    "CEO",
)

#: Buying-group roles of contacts.
BUYING_ROLES = ("champion", "decision maker", "influencer", "evaluator", "user")
