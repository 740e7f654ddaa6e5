"""Seeded generator of (verbatim transcript, subtitle) sentence pairs for Flemish Dutch.

Every pair describes one utterance twice:

* the **verbatim** transcript says what was spoken: lowercase, no
  punctuation, numbers spelled out, with fillers (``euh``, ``uh``, ``eh``),
  repeated words, false starts, discourse words (``allee``, ``zo``, ``hé``)
  and Flemish colloquial forms (``goeie avond``, ``zijne gsm``, ``ge zijt``);
* the **subtitle** is what a broadcaster's subtitler would write: standard
  written Dutch, sentence case, names capitalised, punctuation, digits, and
  condensed phrasing (``op dit moment`` becomes ``nu``).

Sentences come from hand-written templates (news, weather, sports, daily
life, greetings) filled from a lexicon of Flemish places, people, clubs and
numbers. The template text is written as the subtitle, with a small markup
for what the speaker may say differently:

``[standard|colloquial|...]``
    The subtitle writes the first form; the speaker says one of the others
    with probability :attr:`PhenomenaConfig.colloquial`.
``<long|colloquial long=>short>``
    The speaker usually says the long form (probability
    :attr:`PhenomenaConfig.long_form`), the subtitle always writes the short
    form, which may be empty (a dropped word).
``{slot}`` or ``{slot:arg:...}``
    A lexicon or number slot (see :data:`SLOTS`).
``^``
    A place where a discourse particle (``eigenlijk``, ``hé``, ...) fits.

Lowercase literal words in :data:`AUTO_COLLOQUIAL` (``niet``, ``dat``,
``het``, ...) also get their colloquial form in the verbatim text with
probability ``colloquial * 0.5``. Templates are tagged *formal* (a news
reader) or *spontaneous* (an interview); in formal ones the probabilities of
fillers, repetitions, false starts, discourse words and colloquial forms are
multiplied by :attr:`PhenomenaConfig.formal_scale`.

Example
-------
>>> spell_year(1996)
'negentienhonderdzesennegentig'
>>> pairs = generate_pairs(2, seed=3)
>>> [len(pair.subtitle) > 0 for pair in pairs]
[True, True]
"""

import hashlib
import random
import re
from dataclasses import asdict, dataclass, field

from speechbrain_subtitle.metrics import spell_number_nl, spell_ordinal_nl

# Version 1: the original templates and vocabulary. Version 2: more templates
# and vocabulary, four new domains, and held-out templates and vocabulary for a
# test split the training never sees.
GENERATOR_VERSIONS = {1: "1.0", 2: "2.0"}
GENERATOR_VERSION = GENERATOR_VERSIONS[2]

# ---------------------------------------------------------------------------
# Dutch number speller
# ---------------------------------------------------------------------------

# Spelled the same way as the scorer normalizes digits (speechbrain_subtitle.metrics).


def spell_number(n, hundreds=False, stressed_one=False):
    """Spells a non-negative integer in Dutch words.

    Words are written together up to ``duizend``; after ``duizend`` and
    ``miljoen`` a space follows, as the Dutch spelling rules ask
    (``tweeduizend acht``, ``twee miljoen vijfhonderdduizend``).

    Arguments
    ---------
    n : int
        The number, 0 to 999 999 999.
    hundreds : bool
        Say 1100..9999 (except numbers whose hundreds digit is 0) in hundreds,
        as speakers often do: ``vijftienhonderd`` instead of ``duizend vijfhonderd``.
    stressed_one : bool
        Write a lone 1 as ``één`` (the numeral, not the article ``een``).

    Returns
    -------
    str
        The spelled number.

    Example
    -------
    >>> spell_number(22), spell_number(250), spell_number(2008)
    ('tweeëntwintig', 'tweehonderdvijftig', 'tweeduizend acht')
    >>> spell_number(1500, hundreds=True)
    'vijftienhonderd'
    """
    n = int(n)
    if n == 1 and stressed_one:
        return "één"
    if hundreds and 1100 <= n <= 9999 and n % 1000 >= 100:
        head, rest = divmod(n, 100)
        return spell_number_nl(head) + "honderd" + (spell_number_nl(rest) if rest else "")
    return spell_number_nl(n)


def spell_year(year):
    """Spells a year the way it is said: hundreds from 1100 to 1999.

    Example
    -------
    >>> spell_year(1996), spell_year(1900), spell_year(2024)
    ('negentienhonderdzesennegentig', 'negentienhonderd', 'tweeduizend vierentwintig')
    """
    return spell_number_nl(year, year_style=True)


def spell_ordinal(n):
    """Spells a Dutch ordinal number (``derde``, ``twintigste``, ``honderdeerste``).

    Example
    -------
    >>> spell_ordinal(3), spell_ordinal(82), spell_ordinal(101), spell_ordinal(100)
    ('derde', 'tweeëntachtigste', 'honderdeerste', 'honderdste')
    """
    return spell_ordinal_nl(n)


def format_number(n):
    """Writes an integer in digits; from 10 000 on with a dot per thousand.

    Arguments
    ---------
    n : int
        A non-negative integer.

    Returns
    -------
    str
        The digits (``1996``, ``350.000``).

    Example
    -------
    >>> format_number(1996), format_number(350000)
    ('1996', '350.000')
    """
    if n < 10000:
        return str(n)
    return f"{n:,}".replace(",", ".")


# ---------------------------------------------------------------------------
# Lexicon
# ---------------------------------------------------------------------------

PLACES = (
    "Antwerpen Gent Brugge Leuven Mechelen Hasselt Kortrijk Oostende Aalst Genk Sint-Niklaas "
    "Roeselare Turnhout Lier Ieper Dendermonde Geel Tienen Vilvoorde Brussel Lokeren Beveren "
    "Waregem Herentals Mol Tongeren Diest Aarschot Ninove Deinze Eeklo Knokke Blankenberge "
    "Poperinge Tielt Izegem Maasmechelen Lommel Bilzen Zaventem Halle Asse Mortsel Schoten "
    "Kapellen Boom Wetteren Zottegem Oudenaarde Menen Diksmuide Veurne Torhout Harelbeke "
    "Heist-op-den-Berg Bornem Temse Sint-Truiden Beringen Houthalen Edegem Brasschaat"
).split()
REGIONS = (
    "Vlaanderen",
    "Limburg",
    "West-Vlaanderen",
    "Oost-Vlaanderen",
    "Vlaams-Brabant",
    "de provincie Antwerpen",
    "de Kempen",
    "het Waasland",
    "de Westhoek",
    "het Pajottenland",
    "de Vlaamse Ardennen",
    "het Meetjesland",
)
FIRST_NAMES = (
    "Jan Pieter An Els Lieve Tom Koen Bart Sofie Griet Wouter Jef Lotte Jonas Ruben Nele Hanne "
    "Dirk Marc Kristof Wim Annelies Hilde Lien Arne Seppe Jolien Fien Stijn Joris Lander "
    "Katrien Sarah Thomas Bram Jens Ine Veerle Geert Luc Rita Mieke Karel Warre Ellen Dries "
    "Femke Tine Jasper Lore"
).split()
LAST_NAMES = (
    "Peeters",
    "Janssens",
    "Maes",
    "Jacobs",
    "Mertens",
    "Willems",
    "Claes",
    "Goossens",
    "Wouters",
    "De Smet",
    "Vermeulen",
    "Hermans",
    "Aerts",
    "Michiels",
    "Verhoeven",
    "Van Damme",
    "Declercq",
    "Verstraete",
    "Lambrechts",
    "Van de Velde",
    "Coppens",
    "Smets",
    "De Vos",
    "Van den Broeck",
    "Claeys",
    "Martens",
    "Pauwels",
    "Dierickx",
    "Segers",
    "Vandenberghe",
    "Verbeke",
    "De Backer",
    "Van Hoof",
    "Wuyts",
    "Hendrickx",
    "Stevens",
    "Cools",
    "Bogaerts",
    "Van Acker",
    "Desmet",
)
CLUBS = (
    "Club Brugge",
    "Anderlecht",
    "Antwerp",
    "Racing Genk",
    "Cercle Brugge",
    "Standard",
    "Beerschot",
    "Zulte Waregem",
    "Westerlo",
    "Charleroi",
    "Mechelen",
    "Kortrijk",
    "Lommel",
    "Lierse",
    "Dender",
    "Eupen",
)
RACES = (
    "de Ronde van Vlaanderen",
    "Gent-Wevelgem",
    "de Omloop Het Nieuwsblad",
    "Dwars door Vlaanderen",
    "de Scheldeprijs",
    "Kuurne-Brussel-Kuurne",
    "de Brabantse Pijl",
    "de Tour",
    "de Giro",
    "de Vuelta",
)
RIVERS = "Schelde Leie Maas Dijle Demer Nete IJzer Dender Durme Rupel".split()
HOLIDAYS = (
    "de Ardennen",
    "Frankrijk",
    "Spanje",
    "de kust",
    "Italië",
    "Zuid-Frankrijk",
    "Kroatië",
    "Oostenrijk",
    "Portugal",
    "Griekenland",
    "Nederland",
    "Duitsland",
    "Zwitserland",
)
PAPERS = (
    "De Standaard",
    "Het Nieuwsblad",
    "De Morgen",
    "Het Laatste Nieuws",
    "Gazet van Antwerpen",
    "Het Belang van Limburg",
    "De Tijd",
)
BUILDINGS = (
    "een loods",
    "een appartementsgebouw",
    "een rijwoning",
    "een school",
    "een fabriek",
    "een boerderij",
    "een restaurant",
    "een garage",
    "een winkelcentrum",
    "een sporthal",
)
PROJECTS = (
    "nieuwe fietspaden",
    "een zwembad",
    "de renovatie van het stadhuis",
    "een nieuwe bibliotheek",
    "betaalbare woningen",
    "extra speelpleinen",
    "een nieuw cultuurcentrum",
    "zonnepanelen op scholen",
)
CAUSES = ("een ongeval", "de werken", "een defecte vrachtwagen", "het slechte weer", "een brand")
TREND_NOUNS = (
    "inbraken",
    "verkeersdoden",
    "geboortes",
    "faillissementen",
    "elektrische auto's",
    "fietsers",
    "werkzoekenden",
    "toeristen",
)
VEGETABLES = ("spruitjes", "wortelen", "erwten", "bloemkool", "witloof", "prei", "boontjes")
PARKS = ("het park", "het bos", "de Kalmthoutse Heide", "het Zoniënwoud", "de duinen")
COMPANIES = ("de NMBS", "De Lijn", "bpost", "de haven van Antwerpen", "de luchthaven")
WEEKDAYS = "maandag dinsdag woensdag donderdag vrijdag zaterdag zondag".split()
MONTHS = (
    ("januari", 31),
    ("februari", 28),
    ("maart", 31),
    ("april", 30),
    ("mei", 31),
    ("juni", 30),
    ("juli", 31),
    ("augustus", 31),
    ("september", 30),
    ("oktober", 31),
    ("november", 30),
    ("december", 31),
)
PERIODS = ("dag", "lentedag", "herfstdag", "zomer", "septemberdag", "nacht")
# Roads are written with digits and said letter by letter + number.
ROADS = (
    ("e", 17),
    ("e", 40),
    ("e", 19),
    ("e", 313),
    ("e", 314),
    ("e", 34),
    ("e", 403),
    ("e", 411),
    ("a", 12),
)

# Words said instead of the standard form in lowercase literal template words.
AUTO_COLLOQUIAL = {
    "niet": "nie",
    "dat": "da",
    "wat": "wa",
    "het": "'t",
    "niets": "niks",
    "eens": "ne keer",
}
AUTO_COLLOQUIAL_SCALE = 0.5

# Two subtitle lines of 42 characters.
MAX_SUBTITLE_CHARS = 84

FILLERS = ("euh", "uh", "eh")
_FILLER_WEIGHTS = (0.6, 0.25, 0.15)
START_PARTICLES = ("allee", "awel", "ja", "ja maar", "dus", "nu", "kijk", "zo", "bon", "ja nee")
MID_PARTICLES = ("eigenlijk", "zo", "hé", "allee", "dus", "zeg maar", "weet ge", "gewoon")
END_PARTICLES = ("hé", "zeker", "eigenlijk", "ofzo", "allee", "zenne", "hoor")
DISCOURSE_WORDS = frozenset(
    word for phrase in START_PARTICLES + MID_PARTICLES + END_PARTICLES for word in phrase.split()
)

# ---------------------------------------------------------------------------
# Templates: (register, text). F = formal (news reader), S = spontaneous.
# ---------------------------------------------------------------------------

TEMPLATES = {
    "news": [
        ("F", "[Goedenavond|goeie avond|goeienavond], en welkom bij het nieuws van {hour}."),
        ("F", "[Goedemorgen|goeiemorgen], dit is het nieuws van {hour}."),
        ("F", "In {place} is vannacht een zware brand uitgebroken in {building}."),
        ("F", "De brandweer was <met een groot aantal=>met veel> manschappen ter plaatse."),
        ("F", "Bij het ongeval in {place} vielen {count:gewonden:2:30}."),
        ("F", "Volgens de politie zijn er {count:slachtoffers:2:40}."),
        ("F", "De werkloosheid in {region} is gedaald tot {pct:3:12}."),
        ("F", "De energieprijzen liggen <op dit moment=>nu> {pct:2:40} hoger dan vorig jaar."),
        ("F", "Minister {last} wil {count:nieuwe woningen:1000:9000} bouwen tegen {year_future}."),
        ("F", "De stad {place} investeert {euro_big} in {project}."),
        ("F", "<Ten gevolge van=>Door> {cause} staat er {count:kilometer:3:40} file op {road}."),
        ("F", "De trein van {clock} naar {place} heeft {count:minuten:5:90} vertraging."),
        ("F", "Het onderzoek naar de feiten loopt <nog altijd=>nog>."),
        ("F", "Het parket van {place} heeft een onderzoek geopend."),
        ("F", "Sinds {year_past} is het aantal {trend} met {pct:2:60} gestegen."),
        ("F", "Sinds {year_past} is het aantal {trend} met {pct:2:40} gedaald."),
        (
            "F",
            "De verdachte, een man van {count:jaar:19:70}, werd <in de loop van de namiddag"
            "=>'s middags> opgepakt in {place}.",
        ),
        ("F", "Op {date} trekken de Vlamingen naar de stembus."),
        ("F", "{person} volgt {person} op als burgemeester van {place}."),
        ("F", "Het festival in {place} lokte dit weekend {count:bezoekers:1200:9800}."),
        ("F", "De nieuwe brug over de {river} kost {euro_big}."),
        (
            "F",
            "<Naar aanleiding van=>Na> de overstromingen van {year_past} worden de dijken "
            "langs de {river} verhoogd.",
        ),
        ("F", "<Met betrekking tot=>Over> de begroting is er <nog altijd=>nog> geen akkoord."),
        ("F", "In {region} zijn <heel wat=>veel> scholen vandaag gesloten."),
        ("F", "Het proces begint op {date} om {clock}."),
        ("F", "Het gaat <om een bedrag van=>om> {euro:150:9500}."),
        ("F", "De politie schreef dit weekend {count:boetes:10:900} uit."),
        ("F", "Dat meldt de krant {paper}."),
        (
            "F",
            "Het Vlaams Parlement keurde het voorstel goed met {num:60:90} stemmen "
            "tegen {num:20:50}.",
        ),
        ("F", "Bij de verkiezingen van {year_past} haalde de partij {pct:3:35}."),
        (
            "F",
            "<In de loop van de volgende weken=>De komende weken> worden {count:bomen:20:400} "
            "geplant in {place}.",
        ),
        ("F", "Het nieuwe ziekenhuis in {place} kost <ongeveer=>zo'n> {euro_mil}."),
        ("F", "Tegen {year_future} moet de uitstoot met {pct:10:60} dalen."),
        ("F", "Het museum in {place} is <opnieuw=>weer> open sinds {date}."),
        ("F", "<Op dit ogenblik=>Nu> liggen er nog {count:patiënten:3:90} in het ziekenhuis."),
        ("F", "{person} stopt als schepen in {place}."),
        ("F", "De staking bij {company} duurt <nu al=>al> {count:dagen:2:12}."),
        ("F", "Een gezin betaalt <gemiddeld=>gemiddeld> {euro:40:400} per maand voor energie."),
        ("S", "We hebben [dat|da] <echt=>> [niet|nie] zien aankomen."),
        ("S", "Het water stond hier <ongeveer=>zo'n> {count:centimeter:10:90} hoog."),
        (
            "S",
            "[Ik|'k] woon hier <nu al=>al> {count:jaar:3:50} en ^ dit heb ik nog nooit gezien.",
        ),
        ("S", "De buren hebben ons om {clock} wakker gemaakt."),
    ],
    "weather": [
        ("F", "Morgen wordt het zonnig met maxima van {temp:12:35}."),
        ("F", "Morgen is het <eerst=>> bewolkt, <later op de dag=>later> wordt het droog."),
        ("F", "<In de loop van de namiddag=>In de namiddag> kan het regenen in {region}."),
        ("F", "Vannacht zakt de temperatuur tot {temp:-12:12}."),
        ("F", "Aan de kust waait een <vrij=>> krachtige wind."),
        (
            "F",
            "<In de komende dagen=>De komende dagen> blijft het droog met <ongeveer=>zo'n> "
            "{temp:8:30}.",
        ),
        ("F", "Op {weekday} wordt het <een stuk=>> kouder, met maxima rond {temp:-3:15}."),
        (
            "F",
            "In {place} viel <vorige nacht=>vannacht> "
            "{count:liter regen per vierkante meter:5:80}.",
        ),
        ("F", "De zon komt <morgen=>morgen> op om {clock_morning}."),
        ("F", "De kans op onweer is {pct:10:90}."),
        ("F", "Het was de warmste {period} sinds {year_past}."),
        ("F", "Tegen het weekend stijgt het kwik tot {temp:15:36}."),
        ("F", "In {region} is er kans op gladheid <tijdens de ochtendspits=>'s ochtends>."),
        ("F", "In de Hoge Venen ligt <ongeveer=>zo'n> {count:centimeter sneeuw:2:40}."),
        ("F", "De wind haalt snelheden tot {count:kilometer per uur=km/u:40:120}."),
        ("F", "In {place} werd <vandaag=>vandaag> {temp:-12:38} gemeten."),
        ("S", "[Het is|'t is] <echt=>> [heel warm|keiwarm] vandaag."),
        ("S", "[Het is|'t is] [niet|nie] te doen met die hitte."),
        ("S", "We hebben <al=>al> {count:dagen:3:20} geen regen gehad."),
        ("S", "Met {temp:30:38} ga ik [niet|nie] naar buiten."),
        ("S", "[Ik|'k] heb <vanmorgen=>vanmorgen> [mijn|mijne] auto moeten krabben."),
    ],
    "sports": [
        ("F", "{club} heeft met {score} gewonnen van {club}."),
        ("F", "{club} verloor gisteren met {score} in {place}."),
        ("F", "In de {ordinal:1:95} minuut scoorde {person} de gelijkmaker."),
        ("F", "{person} wint {race} na een solo van {count:kilometer:3:60}."),
        ("F", "Er zaten {count:toeschouwers:2000:9900} in het stadion van {club}."),
        ("F", "De transfer van {person} naar {club} kost <ongeveer=>zo'n> {euro_mil}."),
        ("F", "De match tussen {club} en {club} begint om {clock}."),
        ("F", "{person} reed de laatste {count:kilometer:2:40} <helemaal=>> alleen."),
        ("F", "{club} staat <op dit moment=>nu> op de {ordinal:2:16} plaats."),
        ("F", "{club} heeft <nog maar=>nog> {count:punten:2:9} voorsprong."),
        ("F", "Het is de {ordinal:2:12} overwinning op rij voor {club}."),
        ("F", "{person} eindigt als {ordinal:2:40} in {race}."),
        ("S", "[Dat was|Da was] [een heel goede|ne keigoeie|een keigoeie] match van ons."),
        ("S", "We hebben <echt=>> [heel hard|keihard] gewerkt deze week."),
        ("S", "[Ik|'k] ben <heel=>> blij met die goal."),
        ("S", "[Ik|'k] denk [dat|da] we [het|'t] verdiend hebben."),
        ("S", "We moeten nu <gewoon=>> focussen op de volgende match."),
        ("S", "[Je moet|Ge moet] <altijd=>altijd> blijven geloven."),
        ("S", "[Het was|'t was] een <hele=>> moeilijke rit vandaag."),
        ("S", "[Ik|'k] had [niet|nie] gedacht [dat|da] ik zou winnen."),
        ("S", "In de laatste {count:kilometer:2:20} had ik <echt=>> geen benen meer."),
        ("S", "De supporters waren <echt=>> fantastisch vandaag."),
        ("S", "[Ik|'k] wil <vooral=>> de ploeg bedanken."),
        ("S", "[Mijn|Mijne] trainer zei [dat|da] ik moest aanvallen."),
        ("S", "We staan nu {count:punten:2:9} voor, maar [het|'t] is nog [niet|nie] gedaan."),
        ("S", "[Jullie|Gulle] moeten <zeker=>> <eens|ne keer=>eens> komen kijken."),
        ("S", "Tegen {club} is het <altijd=>altijd> een ^ moeilijke match."),
        ("S", "Ik speel <al=>al> {count:jaar:3:15} bij {club}."),
    ],
    "daily": [
        ("S", "[Ik|'k] werk <al=>al> {count:jaar:2:40} in {place}."),
        ("S", "[Mijn moeder|Ons moeder|Ons ma] woont <nog altijd=>nog> in {place}."),
        ("S", "[Mijn broer|Ons broer] is verhuisd naar {place}."),
        ("S", "We gaan elk jaar op vakantie naar {holiday}."),
        ("S", "Een busticket kost <op dit moment=>nu> {euro:2:9}."),
        ("S", "Hij is [zijn|zijne] gsm <weeral=>weer> vergeten."),
        ("S", "[Het is|'t is] <echt=>> [heel leuk|keileuk|keiplezant|heel plezant|keitof] hier."),
        ("S", "[Dat is|Da's] <eigenlijk=>> [vervelend|ambetant] voor de buren."),
        ("S", "[Heb je|Hebt ge|Hebde] [dat|da] <al=>al> gezien?"),
        ("S", "[Ik weet het niet|'k weet het nie|ik weet het nie|'k weet 't nie]."),
        ("S", "We eten vanavond [aardappelen|patatten] met {veg}."),
        ("S", "De kinderen gaan om {clock_morning} naar school."),
        ("S", "[Ik|'k] sta elke dag <ongeveer=>zo'n> {count:minuten:15:90} in de file."),
        ("S", "Een huis in {place} kost <tegenwoordig=>nu> <al gauw=>al snel> {euro_k}."),
        ("S", "[Kun je|Kunt ge|Kunde] [me|mij] <eens|ne keer=>> helpen?"),
        ("S", "[Mijn|Mijnen|Mijne] auto staat <al=>al> {count:weken:2:8} in de garage."),
        ("S", "We hebben <een beetje|een bitje=>wat> geluk gehad."),
        ("S", "[Ik ben|'k ben] geboren in {year_past}, in {place}."),
        ("S", "De bakker is op zondag open tot {clock_noon}."),
        ("S", "[Ik heb|'k heb] daar vroeger {count:jaar:2:30} gewoond."),
        ("S", "[Dat|Da] was <echt=>> [een heel goede|ne keigoeie|een keigoeie] film."),
        ("S", "[Hoe gaat het|Hoe is 't|Hoe gaat 't] met [je|uw] moeder?"),
        ("S", "[Wat ga je|Wat gaat ge|Wa gade] <straks|seffens=>straks> doen?"),
        ("S", "[Ik heb|'k heb] {euro:20:300} betaald voor die schoenen."),
        ("S", "<Op dat moment=>Toen> stond ik aan de bushalte in {place}."),
        ("S", "We gaan <een beetje|een bitje=>wat> wandelen in {park}."),
        ("S", "[Ik vind|'k vind] [dat|da] <eigenlijk=>> [niet|nie] normaal."),
        ("S", "De dokter zegt [dat|da] ik meer moet bewegen."),
        ("S", "[Ik heb|'k heb] [het|'t] <al=>al> {count:keer:3:100} gezegd."),
        ("S", "[Je moet|Ge moet] [dat|da] <echt=>> eens proberen."),
        ("S", "In {place} is [het|'t] <altijd=>altijd> [heel druk|keidruk] op {weekday}."),
        ("S", "Hij heeft [zijn|zijne] [jas|frak] laten liggen."),
        ("S", "Ze heeft [haar|heur] [fiets|velo] verkocht aan {first}."),
        ("S", "Hoeveel [heb je|hebt ge|hebde] betaald voor die {thing}?"),
        ("S", "De [kinderen|kinders|kindjes] spelen <nog altijd=>nog> buiten."),
        ("S", "[Ik moet|'k moet] om {clock} de kinderen ophalen."),
        ("S", "[Ik|'k] ga morgen met {first} naar {place}."),
        ("S", "[Het is|'t is] al {count:jaar:2:25} geleden [dat|da] ik hier ^ nog geweest ben."),
        ("S", "Mijn dochter studeert sinds {year_recent} in {place}."),
        (
            "S",
            "[Goedendag|goeiendag|goeie dag], mag ik {count:broden:2:6} en {count:pistolets:3:12}?",
        ),
        ("S", "[Ik|'k] heb <daar=>er> [geen|gene] tijd voor."),
        ("S", "[Ik ben|'k ben] <vorige week=>vorige week> [mijn|mijne] portefeuille verloren."),
        ("S", "Waar [woon je|woont ge|woonde] <nu=>nu>, {first}?"),
        ("S", "[Hebben jullie|Hebben gulle|Hebt gij] al gegeten?"),
        ("S", "Hoeveel kost [dat|da] <hier=>> in {place}?"),
        ("S", "[Je moet|Ge moet] de eerste straat links [nemen|pakken]."),
        ("S", "Die film duurt <meer dan=>ruim> {count:minuten:95:180}."),
        ("S", "[Ik|'k] werk <op dit moment=>nu> halftijds in {place}."),
        ("S", "Onze buren hebben {count:kinderen:2:7} en {count:honden:2:4}."),
        ("S", "[Dat|Da] is <een beetje=>wat> te duur voor ons."),
        ("S", "[Wat een mooie|Wa ne schone|Wat een schone] dag, {first}!"),
        ("S", "We hebben {euro:200:2000} ^ uitgegeven aan de verbouwing."),
        ("S", "Mijn grootvader is {count:jaar:80:99} geworden."),
        ("S", "[Ik|'k] neem de trein van {clock} naar {place}."),
        ("S", "[Ik|'k] heb [het|'t] druk, <want=>want> ^ ik werk tot {clock}."),
    ],
    "greetings": [
        ("F", "[Goedenavond|goeie avond|goeienavond]."),
        ("F", "Hier is {person} met het weerbericht."),
        ("F", "{person} is er <nu=>nu> met het sportnieuws."),
        ("F", "<Daarmee zijn we aan het einde van deze uitzending gekomen=>Dat was het>."),
        ("F", "Het volgende nieuws is om {hour}."),
        ("F", "Welkom in {place}!"),
        ("S", "[Dank u wel|merci|merci wel|dank u]."),
        ("S", "[Tot ziens|salu|daag], {first}."),
        ("S", "[Tot straks|tot seffens], {first}!"),
        ("S", "Proficiat, {first}!"),
        ("S", "[Ja, dat klopt|ja da klopt|ja dat klopt ja]."),
        ("S", "[Goedemorgen|goeiemorgen], {first}."),
    ],
}

DOMAIN_WEIGHTS = {"news": 0.28, "weather": 0.14, "sports": 0.2, "daily": 0.32, "greetings": 0.06}

THINGS = ("fiets", "jas", "computer", "zetel", "tafel", "gsm", "koelkast", "wasmachine")

# ---------------------------------------------------------------------------
# Generator version 2: more vocabulary, more templates, new domains. Version 1
# above stays untouched, so that ``generator=1`` rebuilds the old corpus.
# ---------------------------------------------------------------------------

PLACES_EXTRA = (
    "Ronse Geraardsbergen Wevelgem Zwevegem Merelbeke Lochristi Zele Hamme Lede Puurs "
    "Kalmthout Hoogstraten Arendonk Balen Dessel Nijlen Duffel Kontich Boechout Ranst "
    "Zoersel Brecht Stabroek Zwijndrecht Kruibeke Stekene Maldegem Aalter Haacht Zemst "
    "Grimbergen Dilbeek Liedekerke Overijse Tervuren Kortenberg Rotselaar Zoutleeuw "
    "Maaseik Lanaken Tessenderlo Hamont Dilsen Hoegaarden"
).split()
REGIONS_EXTRA = (
    "het Hageland",
    "de Noorderkempen",
    "de Leiestreek",
    "de Denderstreek",
    "Zuid-Limburg",
)
FIRST_NAMES_EXTRA = (
    "Noor Mats Lucas Emma Louise Finn Mila Vic Liam Amber Robbe Febe Kobe Margot Senne Lukas "
    "Yana Elise Siebe Hanna Mathias Laura Ward Axelle"
).split()
LAST_NAMES_EXTRA = (
    "Van Looy",
    "De Wilde",
    "Van Aert",
    "Vervoort",
    "Geerts",
    "Dewulf",
    "Van Hecke",
    "Sterckx",
    "Baeten",
    "Van Roey",
    "De Clercq",
    "Lenaerts",
    "Verlinden",
    "Moens",
    "Van Dyck",
)
CLUBS_EXTRA = ("OH Leuven", "Sint-Truiden", "Union", "KAA Gent", "Deinze", "Beveren", "Lokeren")
RACES_EXTRA = ("Parijs-Roubaix", "de Amstel Gold Race", "Luik-Bastenaken-Luik", "de Waalse Pijl")
RIVERS_EXTRA = ("Mandel", "Gete", "Zwalm", "Mark")
HOLIDAYS_EXTRA = ("Zweden", "Noorwegen", "Schotland", "Ierland", "Denemarken", "Tenerife")
PAPERS_EXTRA = ("Knack", "Humo", "Trends")
BUILDINGS_EXTRA = (
    "een kerk",
    "een woonzorgcentrum",
    "een kantoorgebouw",
    "een schuur",
    "een supermarkt",
)
PROJECTS_EXTRA = ("een nieuwe sporthal", "groene daken", "een jeugdhuis", "een fietsbrug")
CAUSES_EXTRA = ("een lek in een waterleiding", "een stroompanne", "een gekantelde vrachtwagen")
TREND_NOUNS_EXTRA = ("studenten", "vluchten", "diefstallen", "zonnepanelen")
VEGETABLES_EXTRA = ("spinazie", "rode kool", "courgette", "venkel")
PARKS_EXTRA = ("het Rivierenhof", "de Hoge Kempen", "het Citadelpark", "het Meerdaalwoud")
COMPANIES_EXTRA = ("de VRT", "Fluvius", "Proximus", "Brussels Airlines")
PERIODS_EXTRA = ("winter", "maand", "week")
THINGS_EXTRA = ("laptop", "lamp", "kast", "stofzuiger")
ROADS_EXTRA = (("e", 42), ("a", 11), ("r", 4))
FESTIVALS = (
    "Rock Werchter",
    "Pukkelpop",
    "de Gentse Feesten",
    "Tomorrowland",
    "Graspop",
    "de Lokerse Feesten",
    "Couleur Café",
    "het Cactusfestival",
    "Marktrock",
    "Sfinks",
    "Suikerrock",
    "Boomtown",
)
SUBJECTS = (
    "wiskunde",
    "Frans",
    "Engels",
    "geschiedenis",
    "aardrijkskunde",
    "biologie",
    "chemie",
    "fysica",
    "Nederlands",
    "muziek",
    "informatica",
    "economie",
)
AILMENTS = (
    "de griep",
    "een verkoudheid",
    "keelpijn",
    "hoofdpijn",
    "rugpijn",
    "koorts",
    "een buikgriep",
    "hooikoorts",
    "een oorontsteking",
    "migraine",
)
STREETS = (
    "de Meir",
    "de Veldstraat",
    "de Kouter",
    "de Grote Markt",
    "de Bondgenotenlaan",
    "de Steenstraat",
    "de Stationsstraat",
    "de Kerkstraat",
    "de Leopoldlaan",
    "de Nieuwstraat",
    "de Dorpsstraat",
    "de Molenstraat",
)
INSTRUMENTS = (
    "piano",
    "gitaar",
    "viool",
    "drums",
    "trompet",
    "saxofoon",
    "cello",
    "dwarsfluit",
    "accordeon",
    "klarinet",
)

TEMPLATES_V2_EXTRA = {
    "news": [
        ("F", "In {place} is <in de loop van de nacht=>'s nachts> ingebroken in {building}."),
        ("F", "De gemeenteraad van {place} trekt {euro_big} uit voor {project}."),
        (
            "F",
            "Het aantal {trend} in {region} steeg <het voorbije jaar=>vorig jaar> met {pct:2:30}.",
        ),
        ("F", "Burgemeester {last} van {place} is <niet meer=>niet> herkozen."),
        ("F", "{company} verwacht {weekday} hinder door een staking."),
        ("F", "<Na afloop van=>Na> de vergadering gaf {person} een korte toelichting."),
        ("F", "Het gerecht in {place} onderzoekt <een aantal=>enkele> verdachte transacties."),
        ("S", "[Ik|'k] heb [dat|da] ^ <allemaal=>> van [mijn|mijne] keuken uit gezien."),
        ("S", "Die brand in {place}, [dat|da] was <echt=>> [heel erg|keierg]."),
    ],
    "weather": [
        ("F", "<In de loop van de avond=>Vanavond> trekt er een regenzone over {region}."),
        ("F", "Op {weekday} blijft het zwaarbewolkt met maxima van {temp:4:18}."),
        (
            "F",
            "Het weerinstituut waarschuwt voor <hevige=>zware> rukwinden tot "
            "{count:kilometer per uur=km/u:60:110}.",
        ),
        ("F", "Vannacht vriest het <licht=>> in {region}, tot {temp:-6:0}."),
        ("S", "[Het|'t] heeft hier <de hele=>de hele> nacht gestormd."),
        ("S", "[Ik|'k] heb [mijn|mijne] paraplu <weer eens=>weer> thuis laten liggen."),
    ],
    "sports": [
        ("F", "{club} speelt op {weekday} thuis tegen {club}."),
        ("F", "{person} won <vandaag=>vandaag> de sprint in {race}."),
        ("F", "De doelman van {club} is <voor een periode van=>voor> {count:weken:2:10} out."),
        ("F", "{club} eindigde het seizoen op de {ordinal:3:18} plaats."),
        ("S", "We hebben [het|'t] <gewoon=>> laten liggen in de tweede helft."),
        ("S", "[Ik|'k] ben blij [dat|da] ik <terug=>weer> kan spelen na mijn blessure."),
        ("S", "Die penalty had ik <echt=>> moeten pakken."),
    ],
    "daily": [
        ("S", "[Ik|'k] moet nog {count:boodschappen:3:9} doen voor [het|'t] weekend."),
        ("S", "[Mijn zus|Ons zus] woont <sinds kort=>nu> in {place}."),
        ("S", "We hebben een nieuwe {thing} gekocht voor {euro:50:900}."),
        ("S", "[Kan je|Kunt ge|Kunde] [mij|me] om {clock} <eens|ne keer=>> bellen?"),
        ("S", "[Ik|'k] ga {weekday} <een beetje|een bitje=>wat> in de tuin werken."),
        ("S", "[De|Den] bus naar {place} was <weer=>weer> {count:minuten:5:40} te laat."),
        ("S", "[Heb je|Hebt ge|Hebde] {first} <al=>al> gezien sinds zijn verhuis?"),
        ("S", "Het feest van {first} begint om {clock} in {place}."),
    ],
    "greetings": [
        ("F", "Goedemiddag, hier is {person} met het middagnieuws."),
        ("F", "Dit was {person} voor de redactie in {place}."),
        ("S", "[Smakelijk|smakelijk eten], {first}!"),
        ("S", "[Goedemiddag|goeiemiddag], {first}, alles goed?"),
        ("S", "[Slaapwel|slaap zacht], {first}."),
    ],
    "culture": [
        ("F", "{festival} lokte dit jaar {count:bezoekers:20000:95000}."),
        ("F", "Het museum in {place} toont vanaf {date} werk van {person}."),
        ("F", "De voorstelling in {place} is <volledig=>> uitverkocht."),
        ("F", "De nieuwe roman van {person} verschijnt op {date}."),
        ("F", "De stad {place} krijgt {euro_mil} voor een nieuw concertgebouw."),
        ("S", "[Ik|'k] speel <al=>al> {count:jaar:3:30} {instrument}."),
        ("S", "We zijn <dit jaar=>> voor de {ordinal:2:9} keer naar {festival} geweest."),
        ("S", "Die film was <echt=>> [heel spannend|keispannend]."),
        ("S", "[Ik|'k] heb tickets voor {festival} gekocht voor {euro:60:350}."),
        ("S", "[Mijn dochter|Ons dochter] leert {instrument} aan de muziekacademie."),
    ],
    "health": [
        ("F", "In {region} hebben <op dit moment=>nu> {count:mensen:200:9000} last van {ailment}."),
        ("F", "Het ziekenhuis van {place} opent een nieuwe afdeling op {date}."),
        ("F", "De wachttijd bij de spoed bedraagt <gemiddeld=>gemiddeld> {count:minuten:30:240}."),
        ("F", "<Ongeveer=>Zo'n> {pct:5:40} van de Vlamingen rookt <nog altijd=>nog>."),
        ("S", "[Ik|'k] heb al {count:dagen:2:10} last van {ailment}."),
        ("S", "De dokter heeft [mij|me] <voor een week=>een week> thuis gezet."),
        ("S", "[Ik ben|'k ben] <eigenlijk=>> bijna nooit ziek, maar nu wel."),
        ("S", "[Mijn man|Mijne vent|Ons vent] heeft {ailment} en blijft in bed."),
        ("S", "[Je moet|Ge moet] <echt=>> meer water drinken, {first}."),
    ],
    "traffic": [
        ("F", "Op {road} richting {place} staat <momenteel=>nu> {count:kilometer:2:25} file."),
        ("F", "<Ten gevolge van=>Door> {cause} is {street} in {place} afgesloten."),
        ("F", "De trams rijden vanaf {weekday} om via {street}."),
        ("F", "De werken op {road} duren <nog tot=>tot> {date}."),
        ("F", "In {place} is een fietser <zwaar=>zwaar> gewond geraakt bij een ongeval."),
        ("S", "[Ik|'k] heb <vanmorgen=>vanmorgen> {count:minuten:20:90} aangeschoven op {road}."),
        ("S", "Op {street} [kun je|kunt ge] <bijna=>> nooit parkeren."),
        ("S", "[Ik|'k] neem <tegenwoordig=>nu> <altijd=>altijd> de fiets naar [mijn|mijne] werk."),
        ("S", "[Het|'t] verkeer in {place} is <echt=>> [heel druk|keidruk] op {weekday}."),
    ],
    "school": [
        ("F", "Het nieuwe schooljaar begint <dit jaar=>> op {date}."),
        (
            "F",
            "In {place} opent <volgend jaar=>volgend jaar> een school voor "
            "{count:leerlingen:200:900}.",
        ),
        ("F", "<Ongeveer=>Zo'n> {pct:5:30} van de leerkrachten stopt binnen {count:jaar:2:5}."),
        ("F", "De examens beginnen op {weekday} met {subject}."),
        ("S", "[Ik|'k] heb morgen een toets {subject}."),
        ("S", "[Mijn zoon|Ons zoon|Onze kleine] haalde {num:8:20} op {num:20:20} voor {subject}."),
        ("S", "De juf zegt [dat|da] hij <echt=>> beter moet opletten."),
        ("S", "We moeten om {clock_morning} aan de schoolpoort staan."),
        ("S", "[Ik|'k] vond {subject} <altijd=>altijd> [het|'t] moeilijkste vak."),
    ],
}

DOMAIN_WEIGHTS_V2 = {
    "news": 0.22,
    "weather": 0.11,
    "sports": 0.16,
    "daily": 0.25,
    "greetings": 0.05,
    "culture": 0.06,
    "health": 0.06,
    "traffic": 0.05,
    "school": 0.04,
}


# ---------------------------------------------------------------------------
# Slots. Each returns (spoken words, written words).
# ---------------------------------------------------------------------------


def _name_slot(names):
    """A slot that picks one name; spoken lowercase, written as is."""

    def slot(rng):
        name = rng.choice(names)
        return name.lower().split(), name.split()

    return slot


def _round_count(n, rng):
    """Rounds large counts the way people say them (to 50 or 100)."""
    if n >= 1000 and rng.random() < 0.85:
        step = 100 if rng.random() < 0.7 else 50
        n = max(step, round(n / step) * step)
    return n


def _spell_amount(n, rng):
    """Spells a count or amount, sometimes saying 1100..1999 in hundreds."""
    hundreds = 1100 <= n <= 1999 and rng.random() < (0.5 if n % 100 == 0 else 0.15)
    return spell_number(n, hundreds=hundreds)


def _count_slot(rng, noun, low, high):
    """``{count:NOUN:LO:HI}``; ``NOUN`` may be ``SPOKEN=WRITTEN``."""
    spoken_noun, _, written_noun = noun.partition("=")
    written_noun = written_noun or spoken_noun
    n = _round_count(rng.randint(int(low), int(high)), rng)
    return (_spell_amount(n, rng).split() + spoken_noun.split()), [format_number(n)] + (
        written_noun.split()
    )


def _num_slot(rng, low, high):
    """``{num:LO:HI}``: a bare number."""
    n = rng.randint(int(low), int(high))
    return spell_number(n, stressed_one=True).split(), [format_number(n)]


def _ordinal_slot(rng, low, high):
    """``{ordinal:LO:HI}``: ``tweeëntachtigste`` written ``82e``."""
    n = rng.randint(int(low), int(high))
    return spell_ordinal(n).split(), [f"{n}e"]


def _euro_slot(rng, low, high):
    """``{euro:LO:HI}``: an amount in euro."""
    n = rng.randint(int(low), int(high))
    if n > 100:
        n = round(n / 5) * 5 if rng.random() < 0.7 else n
    n = _round_count(n, rng)
    return _spell_amount(n, rng).split() + ["euro"], [format_number(n), "euro"]


def _million_amount(rng):
    """Millions of euro, possibly with one decimal (``twee komma vijf``)."""
    whole = rng.choice([1, 1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 40, 50, 75, 100, 120, 250])
    if whole < 20 and rng.random() < 0.4:
        tenth = rng.randint(1, 9)
        if whole == 1 and tenth == 5 and rng.random() < 0.7:
            spoken = ["anderhalf"]
        else:
            spoken = spell_number(whole, stressed_one=True).split() + [
                "komma",
                *spell_number(tenth, stressed_one=True).split(),
            ]
        return spoken + ["miljoen", "euro"], [f"{whole},{tenth}", "miljoen", "euro"]
    return spell_number(whole, stressed_one=True).split() + ["miljoen", "euro"], [
        str(whole),
        "miljoen",
        "euro",
    ]


def _euro_big_slot(rng):
    """Large amounts: thousands (``350.000 euro``) or millions."""
    if rng.random() < 0.4:
        n = rng.randrange(20_000, 950_000, 10_000)
        return spell_number(n).split() + ["euro"], [format_number(n), "euro"]
    return _million_amount(rng)


def _euro_k_slot(rng):
    """House prices: ``driehonderdvijftigduizend euro``."""
    n = rng.randrange(150_000, 700_000, 5_000)
    return spell_number(n).split() + ["euro"], [format_number(n), "euro"]


def _pct_slot(rng, low=2, high=95):
    """``{pct:LO:HI}``: ``twintig procent`` or ``twee komma vijf procent``."""
    low, high = int(low), int(high)
    if high - low >= 2 and rng.random() < 0.3:
        whole, tenth = rng.randint(low, min(high - 1, 15)), rng.randint(1, 9)
        spoken = spell_number(whole, stressed_one=True).split() + ["komma"]
        spoken += spell_number(tenth, stressed_one=True).split()
        return spoken + ["procent"], [f"{whole},{tenth}", "procent"]
    n = rng.randint(low, high)
    return spell_number(n).split() + ["procent"], [str(n), "procent"]


def _temp_slot(rng, low=-12, high=38):
    """``{temp:LO:HI}``: a temperature in degrees (``min vijf graden``, ``-5 graden``)."""
    n = rng.randint(int(low), int(high))
    unit = "graad" if abs(n) == 1 else "graden"
    spoken = spell_number(abs(n), stressed_one=True).split() + [unit]
    if n < 0:
        spoken = ["min"] + spoken
    return spoken, [str(n), unit]


def _year_slot(low, high):
    """A slot for a year between low and high."""

    def slot(rng):
        year = rng.randint(low, high)
        return spell_year(year).split(), [str(year)]

    return slot


def _clock(rng, hours):
    """A clock time said in one of several ways, written with digits."""
    hour = rng.choice(hours)
    style = rng.random()
    if style < 0.4:
        return spell_number(hour, stressed_one=True).split() + ["uur"], [str(hour), "uur"]
    small = hour % 12 or 12
    if style < 0.55:
        return ["half", spell_number(small, stressed_one=True)], ["half", str(small)]
    if style < 0.7:
        word = rng.choice(["over", "voor"])
        return ["kwart", word, spell_number(small, stressed_one=True)], ["kwart", word, str(small)]
    minute = rng.choice([5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55])
    spoken = spell_number(hour, stressed_one=True).split() + ["uur"] + spell_number(minute).split()
    return spoken, [f"{hour}.{minute:02d}", "uur"]


def _clock_slot(hours):
    """A slot for a clock time with the hour from hours."""
    return lambda rng: _clock(rng, hours)


def _hour_slot(rng):
    """News hours: ``acht uur`` written ``8 uur``."""
    hour = rng.choice([6, 7, 8, 9, 12, 13, 17, 18, 19, 22, 23])
    return spell_number(hour).split() + ["uur"], [str(hour), "uur"]


def _date_slot(rng):
    """A date: ``vijftien maart`` written ``15 maart``."""
    month, days = rng.choice(MONTHS)
    day = rng.randint(1, days)
    return [spell_number(day, stressed_one=True), month], [str(day), month]


def _score_slot(rng):
    """A score: ``twee één`` or ``twee tegen één`` written ``2-1``."""
    a, b = rng.randint(0, 5), rng.randint(0, 4)
    words_a = spell_number(a, stressed_one=True)
    words_b = spell_number(b, stressed_one=True)
    spoken = [words_a, "tegen", words_b] if rng.random() < 0.35 else [words_a, words_b]
    return spoken, [f"{a}-{b}"]


def _road_slot(rng):
    """A road: ``de e zeventien`` written ``de E17``."""
    letter, number = rng.choice(ROADS)
    return ["de", letter] + spell_number(number).split(), ["de", f"{letter.upper()}{number}"]


def _person_slot(rng):
    """A first and a last name."""
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    return name.lower().split(), name.split()


SLOTS = {
    "place": _name_slot(PLACES),
    "region": _name_slot(REGIONS),
    "first": _name_slot(FIRST_NAMES),
    "last": _name_slot(LAST_NAMES),
    "person": _person_slot,
    "club": _name_slot(CLUBS),
    "race": _name_slot(RACES),
    "river": _name_slot(RIVERS),
    "holiday": _name_slot(HOLIDAYS),
    "paper": _name_slot(PAPERS),
    "building": _name_slot(BUILDINGS),
    "project": _name_slot(PROJECTS),
    "cause": _name_slot(CAUSES),
    "trend": _name_slot(TREND_NOUNS),
    "veg": _name_slot(VEGETABLES),
    "park": _name_slot(PARKS),
    "company": _name_slot(COMPANIES),
    "weekday": _name_slot(WEEKDAYS),
    "period": _name_slot(PERIODS),
    "thing": _name_slot(THINGS),
    "count": _count_slot,
    "num": _num_slot,
    "ordinal": _ordinal_slot,
    "euro": _euro_slot,
    "euro_big": _euro_big_slot,
    "euro_mil": _million_amount,
    "euro_k": _euro_k_slot,
    "pct": _pct_slot,
    "temp": _temp_slot,
    "year_past": _year_slot(1950, 2023),
    "year_recent": _year_slot(2005, 2023),
    "year_future": _year_slot(2026, 2050),
    "clock": _clock_slot(list(range(6, 24))),
    "clock_morning": _clock_slot([6, 7, 8, 9]),
    "clock_noon": _clock_slot([12, 13, 14]),
    "hour": _hour_slot,
    "date": _date_slot,
    "score": _score_slot,
    "road": _road_slot,
}

# Slots filled from a vocabulary list (recorded in Pair.fillers).
_VOCABULARY_SLOTS = frozenset(
    "place region first last person club race river holiday paper building project cause "
    "trend veg park company weekday period thing road festival subject ailment street "
    "instrument".split()
)

# Slots whose two fillings in one sentence must differ ("{club} ... {club}").
_DISTINCT_SLOTS = frozenset({"club", "person", "place"})

# ---------------------------------------------------------------------------
# Template parsing
# ---------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"\[[^\]]+\]|<(?:=>|[^>])*>|\{[^}]+\}|\^|,|[^\s,\[\]<>{}^]+")


@dataclass(frozen=True)
class _Template:
    """A parsed template."""

    domain: str
    formal: bool
    parts: tuple
    final: str
    id: str = ""
    text: str = ""


def _parse_template(domain, register, text, slots=None):
    """Parses one template into parts (see the module docstring).

    Its ID is ``domain:`` plus the first 8 hex digits of the
    :func:`stable_hash` of its text; ``slots`` (default :data:`SLOTS`) is the
    table the slot names are checked against.
    """
    slots = SLOTS if slots is None else slots
    text = text.strip()
    final = text[-1]
    if final not in ".?!":
        raise ValueError(f"template must end in . ? or !: {text!r}")
    parts = []
    for token in _TOKEN_RE.findall(text[:-1]):
        if token.startswith("["):
            parts.append(("alt", tuple(option.strip() for option in token[1:-1].split("|"))))
        elif token.startswith("<"):
            long_forms, arrow, short = token[1:-1].partition("=>")
            if not arrow:
                raise ValueError(f"condensation without '=>' in {text!r}")
            options = tuple(option.strip() for option in long_forms.split("|"))
            parts.append(("cond", options, short.strip()))
        elif token.startswith("{"):
            name, *args = token[1:-1].split(":")
            if name not in slots:
                raise ValueError(f"unknown slot {name!r} in {text!r}")
            parts.append(("slot", name, tuple(args)))
        elif token == "^":
            parts.append(("particle",))
        elif token == ",":
            parts.append(("comma",))
        else:
            parts.append(("lit", token))
    template_id = f"{domain}:{hashlib.sha256(text.encode('utf-8')).hexdigest()[:8]}"
    return _Template(domain, register == "F", tuple(parts), final, template_id, text)


def _parse_all():
    """Parses :data:`TEMPLATES` once."""
    parsed = {}
    for domain, entries in TEMPLATES.items():
        parsed[domain] = [_parse_template(domain, reg, text) for reg, text in entries]
    return parsed


_PARSED = _parse_all()

# ---------------------------------------------------------------------------
# Version 2 lexicon, template pools and held-out ("unseen") material
# ---------------------------------------------------------------------------

# Fractions held out for the test_unseen split, per template domain and per
# vocabulary list. Lists shorter than MIN_SPLIT_VOCAB (weekdays) are shared.
UNSEEN_TEMPLATE_FRACTION = 0.2
UNSEEN_VOCAB_FRACTION = 0.25
MIN_SPLIT_VOCAB = 8
POOLS = ("seen", "unseen")

LEXICON_V2 = {
    "place": tuple(PLACES) + tuple(PLACES_EXTRA),
    "region": REGIONS + REGIONS_EXTRA,
    "first": tuple(FIRST_NAMES) + tuple(FIRST_NAMES_EXTRA),
    "last": LAST_NAMES + LAST_NAMES_EXTRA,
    "club": CLUBS + CLUBS_EXTRA,
    "race": RACES + RACES_EXTRA,
    "river": tuple(RIVERS) + RIVERS_EXTRA,
    "holiday": HOLIDAYS + HOLIDAYS_EXTRA,
    "paper": PAPERS + PAPERS_EXTRA,
    "building": BUILDINGS + BUILDINGS_EXTRA,
    "project": PROJECTS + PROJECTS_EXTRA,
    "cause": CAUSES + CAUSES_EXTRA,
    "trend": TREND_NOUNS + TREND_NOUNS_EXTRA,
    "veg": VEGETABLES + VEGETABLES_EXTRA,
    "park": PARKS + PARKS_EXTRA,
    "company": COMPANIES + COMPANIES_EXTRA,
    "period": PERIODS + PERIODS_EXTRA,
    "thing": THINGS + THINGS_EXTRA,
    "road": ROADS + ROADS_EXTRA,
    "weekday": tuple(WEEKDAYS),
    "festival": FESTIVALS,
    "subject": SUBJECTS,
    "ailment": AILMENTS,
    "street": STREETS,
    "instrument": INSTRUMENTS,
}

TEMPLATES_V2 = {
    domain: list(TEMPLATES.get(domain, ())) + list(TEMPLATES_V2_EXTRA.get(domain, ()))
    for domain in DOMAIN_WEIGHTS_V2
}


def stable_hash(text):
    """A hash of a text that is the same in every Python process (SHA-256, hex).

    Python's :func:`hash` of a string changes between processes, so held-out
    pools are chosen with this one.

    Example
    -------
    >>> stable_hash("Gent")[:12]
    'fdd7d052ed9f'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _lexicon_key(item):
    """The text of a lexicon entry (roads are (letter, number) tuples)."""
    return item if isinstance(item, str) else "".join(str(part) for part in item)


def held_out(items, fraction, salt):
    """The entries of ``items`` held out for the unseen pool.

    The ``round(fraction * len(items))`` entries (at least one) with the
    smallest :func:`stable_hash` of ``salt:entry`` are held out, so the
    choice depends only on the texts, not on their order.

    Arguments
    ---------
    items : sequence
        Strings (or tuples, joined to a string for hashing).
    fraction : float
        Share of the entries to hold out.
    salt : str
        Prefix of the hashed text (the list name).

    Returns
    -------
    set
        The held-out entries.

    Example
    -------
    >>> len(held_out([str(i) for i in range(20)], 0.25, "demo"))
    5
    """
    count = max(1, round(fraction * len(items)))
    ranked = sorted(items, key=lambda item: stable_hash(f"{salt}:{_lexicon_key(item)}"))
    return set(ranked[:count])


def _split_lexicon():
    """Splits :data:`LEXICON_V2` into the seen and the unseen vocabulary."""
    pools = {"seen": {}, "unseen": {}}
    for name, items in LEXICON_V2.items():
        if len(items) < MIN_SPLIT_VOCAB:
            pools["seen"][name] = pools["unseen"][name] = tuple(items)
            continue
        unseen = held_out(items, UNSEEN_VOCAB_FRACTION, name)
        pools["seen"][name] = tuple(item for item in items if item not in unseen)
        pools["unseen"][name] = tuple(item for item in items if item in unseen)
    return pools


VOCABULARY_POOLS = _split_lexicon()
# Vocabulary lists shared by both pools (too short to split).
SHARED_VOCABULARY = frozenset(
    name for name, items in LEXICON_V2.items() if len(items) < MIN_SPLIT_VOCAB
)


def _person_slot_from(first_names, last_names):
    """A ``{person}`` slot drawing from the given first and last names."""

    def slot(rng):
        name = f"{rng.choice(first_names)} {rng.choice(last_names)}"
        return name.lower().split(), name.split()

    return slot


def _road_slot_from(roads):
    """A ``{road}`` slot drawing from the given (letter, number) roads."""

    def slot(rng):
        letter, number = rng.choice(roads)
        return ["de", letter] + spell_number(number).split(), ["de", f"{letter.upper()}{number}"]

    return slot


def _make_slots(lexicon):
    """The slot table of one vocabulary pool (number slots are shared)."""
    slots = dict(SLOTS)
    for name, items in lexicon.items():
        slots[name] = _road_slot_from(items) if name == "road" else _name_slot(items)
    slots["person"] = _person_slot_from(lexicon["first"], lexicon["last"])
    return slots


SLOTS_V2 = {pool: _make_slots(VOCABULARY_POOLS[pool]) for pool in POOLS}


def _split_templates():
    """Parses :data:`TEMPLATES_V2` and splits every domain into seen and unseen."""
    pools = {"seen": {}, "unseen": {}}
    for domain, entries in TEMPLATES_V2.items():
        parsed = [_parse_template(domain, reg, text, SLOTS_V2["seen"]) for reg, text in entries]
        unseen = held_out([t.text for t in parsed], UNSEEN_TEMPLATE_FRACTION, domain)
        pools["seen"][domain] = [t for t in parsed if t.text not in unseen]
        pools["unseen"][domain] = [t for t in parsed if t.text in unseen]
    return pools


_PARSED_V2 = _split_templates()


def template_pool(pool="seen", generator=2):
    """The parsed templates of a pool, keyed by template ID.

    Arguments
    ---------
    pool : str
        ``seen`` (train, valid, test) or ``unseen`` (test_unseen); version 1
        has only ``seen`` (all its templates).
    generator : int
        Generator version, 1 or 2.

    Returns
    -------
    dict
        ``{template_id: template}``; a template has ``id``, ``domain`` and
        ``text`` (its source in the template notation).

    Example
    -------
    >>> seen, unseen = template_pool("seen"), template_pool("unseen")
    >>> bool(seen) and bool(unseen) and not set(seen) & set(unseen)
    True
    """
    parsed = _templates_for(generator, pool)
    return {t.id: t for templates in parsed.values() for t in templates}


def vocabulary(pool="seen", generator=2):
    """The slot vocabulary of a pool: ``{slot name: tuple of entries}``.

    Version 1 has one pool, its original lists. Roads are (letter, number)
    tuples; the other entries are written forms (``Sint-Niklaas``).

    Example
    -------
    >>> seen, unseen = vocabulary("seen"), vocabulary("unseen")
    >>> set(seen["place"]) & set(unseen["place"])
    set()
    """
    _check_generator(generator, pool)
    if generator == 1:
        return {
            "place": tuple(PLACES), "region": REGIONS, "first": tuple(FIRST_NAMES),
            "last": LAST_NAMES, "club": CLUBS, "race": RACES, "river": tuple(RIVERS),
            "holiday": HOLIDAYS, "paper": PAPERS, "building": BUILDINGS, "project": PROJECTS,
            "cause": CAUSES, "trend": TREND_NOUNS, "veg": VEGETABLES, "park": PARKS,
            "company": COMPANIES, "period": PERIODS, "thing": THINGS, "road": ROADS,
            "weekday": tuple(WEEKDAYS),
        }  # fmt: skip
    return dict(VOCABULARY_POOLS[pool])


def _check_generator(generator, pool):
    """Raises ValueError for an unknown generator version or pool."""
    if generator not in GENERATOR_VERSIONS:
        raise ValueError(f"unknown generator {generator!r}; choose 1 or 2")
    if pool not in POOLS:
        raise ValueError(f"unknown pool {pool!r}; choose seen or unseen")
    if generator == 1 and pool != "seen":
        raise ValueError("generator 1 has no unseen pool")


def _templates_for(generator, pool):
    """Parsed templates per domain for a generator version and pool."""
    _check_generator(generator, pool)
    return _PARSED if generator == 1 else _PARSED_V2[pool]


# ---------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """One utterance: what was said, what the subtitle shows, what to synthesise.

    Attributes
    ----------
    verbatim : str
        Verbatim transcript: lowercase, no punctuation (apostrophes and
        hyphens inside words stay: ``'t``, ``sint-niklaas``), numbers spelled.
    subtitle : str
        Subtitle: cased, punctuated, digits, condensed standard Dutch.
    spoken : str
        The text for the speech synthesiser: the verbatim text, except that
        the clitic ``'k`` is joined to the next word (``'k weet`` is
        spoken ``kweet``), because espeak-ng would spell out a lone ``k``.
    templates : tuple of str
        IDs of the template(s) the sentence(s) came from (``news:1a2b3c4d``).
    fillers : tuple of (str, str)
        The vocabulary slots filled: (slot name, written value), e.g.
        ``("place", "Gent")`` or ``("person", "Jan De Smet")``; number slots
        are not listed.
    """

    verbatim: str
    subtitle: str
    spoken: str
    templates: tuple = ()
    fillers: tuple = ()


@dataclass(frozen=True)
class PhenomenaConfig:
    """Probabilities of the verbatim-only phenomena.

    The per-sentence probabilities (``filler``, ``repetition``,
    ``false_start``, ``discourse``) and the per-site probability
    ``colloquial`` hold for spontaneous templates; formal templates multiply
    them by ``formal_scale``.

    Attributes
    ----------
    filler : float
        Probability that a sentence gets one or more fillers (euh, uh, eh).
    repetition : float
        Probability that a sentence repeats a word (or two words).
    false_start : float
        Probability that a sentence has a broken-off word followed by the
        full word (``de ver de verkiezingen``).
    discourse : float
        Probability that a sentence gets discourse words (allee, zo, hé,
        eigenlijk, ja maar) that the subtitle drops.
    colloquial : float
        Per ``[standard|colloquial]`` site: probability of a colloquial form.
    long_form : float
        Per ``<long=>short>`` site: probability that the long form is said
        (otherwise the speaker already says the short form).
    formal_scale : float
        Factor for the first five probabilities in formal templates.
    two_sentences : float
        Probability that an utterance consists of two sentences.
    """

    filler: float = 0.5
    repetition: float = 0.3
    false_start: float = 0.2
    discourse: float = 0.45
    colloquial: float = 0.6
    long_form: float = 0.85
    formal_scale: float = 0.3
    two_sentences: float = 0.05

    def to_dict(self):
        """Returns the fields as a plain dict."""
        return asdict(self)


@dataclass
class _Sentence:
    """Spoken items (text, tag) and written words of one sentence."""

    items: list = field(default_factory=list)
    written: list = field(default_factory=list)
    fillers: list = field(default_factory=list)


_NO_PUNCTUATION = str.maketrans("", "", ",.?!;:")


def _choose(rng, options, p_other):
    """Returns options[0], or with probability p_other one of the others."""
    if len(options) > 1 and rng.random() < p_other:
        return rng.choice(options[1:])
    return options[0]


def _spoken_words(text):
    """Lowercase words of a template phrase without punctuation, tagged ``w``."""
    return [(word, "w") for word in text.lower().translate(_NO_PUNCTUATION).split()]


def _fill_slot(rng, name, args, used, slots=None):
    """Fills a slot, avoiding a repeat of a distinct slot's earlier value."""
    slots = SLOTS if slots is None else slots
    for _ in range(20):
        spoken, written = slots[name](rng, *args)
        if name not in _DISTINCT_SLOTS or tuple(written) not in used:
            break
    used.add(tuple(written))
    return spoken, written


def _realize(template, rng, config, slots=None):
    """Builds the spoken items and the written words of one template."""
    p_coll = config.colloquial * (config.formal_scale if template.formal else 1.0)
    sentence = _Sentence()
    used = set()
    for part in template.parts:
        kind = part[0]
        if kind == "lit":
            word = part[1]
            sentence.written.append(word)
            colloquial = AUTO_COLLOQUIAL.get(word)
            if colloquial and rng.random() < p_coll * AUTO_COLLOQUIAL_SCALE:
                sentence.items += _spoken_words(colloquial)
            else:
                sentence.items += _spoken_words(word)
        elif kind == "alt":
            options = part[1]
            sentence.written += options[0].split()
            sentence.items += _spoken_words(_choose(rng, options, p_coll))
        elif kind == "cond":
            options, short = part[1], part[2]
            sentence.written += short.split()
            if short and rng.random() >= config.long_form:
                sentence.items += _spoken_words(short)
            else:
                sentence.items += _spoken_words(_choose(rng, options, p_coll))
        elif kind == "slot":
            spoken, written = _fill_slot(rng, part[1], part[2], used, slots)
            if part[1] in _VOCABULARY_SLOTS:
                sentence.fillers.append((part[1], " ".join(written)))
            sentence.written += written
            sentence.items += [(word, "w") for word in spoken]
        elif kind == "particle":
            sentence.items.append(("", "slot"))
        elif kind == "comma":
            sentence.written[-1] += ","
    return sentence


def _partial_word(word, rng):
    """The broken-off start of a word: up to the end of its first syllable."""
    vowels = "aeiouyëéèïöüáà"
    i = 0
    while i < len(word) and word[i] not in vowels:
        i += 1
    while i < len(word) and word[i] in vowels:
        i += 1
    consonants = 0
    while i < len(word) and word[i] not in vowels and consonants < 2:
        i += 1
        consonants += 1
        if rng.random() < 0.5:
            break
    return word[: max(2, min(i, len(word) - 2))]


def _filler(rng):
    """One filler word."""
    return rng.choices(FILLERS, weights=_FILLER_WEIGHTS)[0]


def _add_phenomena(items, rng, config, formal):
    """Adds discourse words, false starts, repetitions and fillers in place."""
    scale = config.formal_scale if formal else 1.0

    if rng.random() < config.discourse * scale:
        chosen = set()
        for _ in range(1 if rng.random() < 0.75 else 2):
            where = rng.random()
            slots = [i for i, (_, tag) in enumerate(items) if tag == "slot"]
            if where < 0.45:
                phrase, position = rng.choice(START_PARTICLES), 0
            elif where < 0.75 and slots:
                phrase, position = rng.choice(MID_PARTICLES), rng.choice(slots)
            else:
                phrase, position = rng.choice(END_PARTICLES), len(items)
            if phrase in chosen:
                continue
            chosen.add(phrase)
            items[position:position] = [(word, "disc") for word in phrase.split()]

    if rng.random() < config.false_start * scale:
        candidates = [
            i
            for i, (word, tag) in enumerate(items)
            if tag == "w" and len(word) >= 5 and word.isalpha()
        ]
        if candidates:
            i = rng.choice(candidates)
            inserted = [(_partial_word(items[i][0], rng), "fs")]
            if rng.random() < 0.3:
                inserted.append((_filler(rng), "filler"))
            previous = items[i - 1] if i > 0 else None
            if previous and previous[1] == "w" and len(previous[0]) <= 3 and rng.random() < 0.5:
                inserted.append((previous[0], "rep"))
            items[i:i] = inserted

    if rng.random() < config.repetition * scale:
        candidates = [i for i, (_, tag) in enumerate(items) if tag == "w"]
        short = [i for i in candidates if len(items[i][0]) <= 4]
        pool = short if short and rng.random() < 0.8 else candidates
        if pool:
            i = rng.choice(pool)
            span = 1
            if i + 1 < len(items) and items[i + 1][1] == "w" and rng.random() < 0.2:
                span = 2
            copies = 1 if rng.random() < 0.85 else 2
            repeated = [(word, "rep") for word, _ in items[i : i + span]] * copies
            items[i:i] = repeated

    if rng.random() < config.filler * scale:
        count = 1 + (rng.random() < 0.3) + (rng.random() < 0.1)
        for _ in range(count):
            words = [i for i, (_, tag) in enumerate(items) if tag != "slot"]
            if rng.random() < 0.35 or len(words) < 2:
                position = 0
            else:
                position = rng.choice(words[1:])
            items.insert(position, (_filler(rng), "filler"))


def _capitalize(words):
    """Capitalises the first word, or the word after ``'s``/``'t``; ``ij`` -> ``IJ``."""
    words = list(words)
    i = 1 if words[0] in ("'s", "'t") and len(words) > 1 else 0
    word = words[i]
    if word.startswith("ij"):
        words[i] = "IJ" + word[2:]
    else:
        words[i] = word[:1].upper() + word[1:]
    return words


def to_spoken(verbatim):
    """The synthesiser's text for a verbatim transcript.

    Arguments
    ---------
    verbatim : str
        A verbatim transcript.

    Returns
    -------
    str
        The same text with ``'k`` joined to the following word.

    Example
    -------
    >>> to_spoken("euh 'k weet het nie")
    'euh kweet het nie'
    """
    return re.sub(r"(?<!\S)'k\s+", "k", verbatim)


def _one_sentence(rng, config, generator=1, pool="seen"):
    """Generates one sentence: verbatim words, subtitle, template ID, fillers."""
    if generator == 1:
        parsed, weights, slots = _PARSED, DOMAIN_WEIGHTS, SLOTS
    else:
        parsed, weights, slots = _PARSED_V2[pool], DOMAIN_WEIGHTS_V2, SLOTS_V2[pool]
    domains = list(weights)
    domain = rng.choices(domains, weights=[weights[d] for d in domains])[0]
    template = rng.choice(parsed[domain])
    verbatim, subtitle, fillers = realize_template(template, rng, config, slots)
    return verbatim, subtitle, template.id, fillers


def realize_template(template, rng, config=None, slots=None):
    """Realises one parsed template as a sentence.

    Arguments
    ---------
    template : object
        A parsed template (a value of :func:`template_pool`).
    rng : random.Random
        The random generator (its state advances).
    config : PhenomenaConfig, optional
        Phenomena probabilities (default: :class:`PhenomenaConfig`).
    slots : dict, optional
        Slot table (default: the version 1 :data:`SLOTS`; version 2 pools
        use ``SLOTS_V2[pool]``).

    Returns
    -------
    tuple
        (verbatim words, subtitle text, fillers).

    Example
    -------
    >>> import random
    >>> template = next(iter(template_pool("unseen").values()))
    >>> rng, slots = random.Random(0), SLOTS_V2["unseen"]
    >>> words, subtitle, _ = realize_template(template, rng, slots=slots)
    >>> subtitle[0].isupper() and subtitle[-1] in ".?!"
    True
    """
    config = config or PhenomenaConfig()
    sentence = _realize(template, rng, config, slots)
    _add_phenomena(sentence.items, rng, config, template.formal)
    verbatim = [word for word, tag in sentence.items if tag != "slot" and word]
    written = [word for word in sentence.written if word]
    subtitle = " ".join(_capitalize(written)).rstrip(",") + template.final
    return verbatim, subtitle, tuple(sentence.fillers)


def make_pair(rng, config=None, generator=1, pool="seen"):
    """Generates one pair with the given random generator.

    Arguments
    ---------
    rng : random.Random
        The random generator (its state advances).
    config : PhenomenaConfig, optional
        Phenomena probabilities (default: :class:`PhenomenaConfig`).
    generator : int
        Generator version: 1 (the original templates) or 2.
    pool : str
        Version 2 only: ``seen`` (templates and vocabulary for train, valid
        and test) or ``unseen`` (the held-out ones, for test_unseen).

    Returns
    -------
    Pair
        The generated pair.

    Example
    -------
    >>> import random
    >>> pair = make_pair(random.Random(0))
    >>> pair.verbatim == pair.verbatim.lower()
    True
    """
    _check_generator(generator, pool)
    config = config or PhenomenaConfig()
    count = 2 if rng.random() < config.two_sentences else 1
    verbatim, subtitles, templates, fillers = [], [], [], []
    for _ in range(count):
        words, subtitle, template_id, filled = _one_sentence(rng, config, generator, pool)
        verbatim += words
        subtitles.append(subtitle)
        templates.append(template_id)
        fillers += filled
    text = " ".join(verbatim)
    return Pair(
        verbatim=text,
        subtitle=" ".join(subtitles),
        spoken=to_spoken(text),
        templates=tuple(templates),
        fillers=tuple(fillers),
    )


def generate_pairs(
    n, seed=0, config=None, max_subtitle_chars=MAX_SUBTITLE_CHARS, generator=1, pool="seen"
):
    """Generates ``n`` distinct (verbatim, subtitle) pairs.

    The result depends only on ``n``, ``seed``, ``config``, ``generator``
    and ``pool``; generating more pairs with the same seed extends the list
    (the first ``n`` pairs of ``generate_pairs(n + k, seed)`` are
    ``generate_pairs(n, seed)``). No two pairs share a verbatim text
    (subtitles may repeat: the same subtitle with differently spoken
    verbatim versions). Pairs whose subtitle is longer than
    ``max_subtitle_chars`` (two subtitle lines) are skipped.

    ``generator=1`` (the default, so that existing callers get the same
    texts) gives exactly the pairs of generator version 1.0. ``generator=2``
    draws from the larger version 2 template set and vocabulary: ``pool``
    ``seen`` uses only the seen templates and vocabulary (train, valid and
    test), ``unseen`` only the held-out templates, filled from the held-out
    vocabulary (lists too short to split are shared, numbers always are).

    Arguments
    ---------
    n : int
        Number of pairs.
    seed : int
        Random seed.
    config : PhenomenaConfig, optional
        Phenomena probabilities (default: :class:`PhenomenaConfig`).
    max_subtitle_chars : int, optional
        Longest subtitle kept; None for no limit.
    generator : int
        Generator version, 1 or 2.
    pool : str
        ``seen`` or ``unseen`` (version 2 only).

    Returns
    -------
    list of Pair
        The pairs.

    Raises
    ------
    RuntimeError
        If ``n`` distinct pairs cannot be found (far beyond any corpus size
        used here: the templates give millions of distinct sentences).
    ValueError
        For an unknown generator or pool.

    Example
    -------
    >>> generate_pairs(3, seed=1) == generate_pairs(3, seed=1)
    True
    >>> generate_pairs(3, seed=1) == generate_pairs(3, seed=2)
    False
    >>> unseen = generate_pairs(5, seed=1, generator=2, pool="unseen")
    >>> all(t in template_pool("unseen") for p in unseen for t in p.templates)
    True
    """
    _check_generator(generator, pool)
    if generator == 1:
        rng = random.Random(f"text_pairs-{seed}")
    else:
        rng = random.Random(f"text_pairs-v{generator}-{pool}-{seed}")
    pairs, seen = [], set()
    attempts = 0
    max_attempts = 50 * n + 1000
    while len(pairs) < n:
        attempts += 1
        if attempts > max_attempts:
            raise RuntimeError(
                f"could only generate {len(pairs)} distinct pairs out of {n} "
                f"in {max_attempts} attempts"
            )
        pair = make_pair(rng, config, generator, pool)
        if pair.verbatim in seen:
            continue
        if max_subtitle_chars is not None and len(pair.subtitle) > max_subtitle_chars:
            continue
        seen.add(pair.verbatim)
        pairs.append(pair)
    return pairs


def main():
    """Prints a few pairs: ``python text_pairs.py [N] [SEED] [GENERATOR] [POOL]``."""
    import sys

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    generator = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    pool = sys.argv[4] if len(sys.argv) > 4 else "seen"
    for pair in generate_pairs(n, seed, generator=generator, pool=pool):
        print(f"V: {pair.verbatim}\nS: {pair.subtitle}\n")


if __name__ == "__main__":
    main()
