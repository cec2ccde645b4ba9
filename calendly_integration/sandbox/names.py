"""Name lists for seeding the sandbox, with ASCII transliteration for e-mail addresses.

Real Calendly organizations hold people from everywhere, so the seed mixes accented Latin,
Nordic, Slavic, Greek-free Latin-script and CJK names. Display names keep their Unicode; e-mail
local parts and slugs are folded to ASCII (CJK names carry an explicit romanization), which is
what a directory match in the product has to cope with.
"""

from __future__ import annotations

import unicodedata

# People who are always seeded first (after the owner) in every organization, so tests and the
# demo can count on non-ASCII names being present. (display first, display last, latin first,
# latin last); latin parts of None mean "fold the display text".
SPECIAL_PEOPLE: tuple[tuple[str, str, str | None, str | None], ...] = (
    ("José", "Núñez", None, None),
    ("Zoë", "Šťastná", None, None),
    ("Łukasz", "Żółć", None, None),
    ("Søren", "Ødegård", None, None),
    ("李", "伟", "Li", "Wei"),
    ("Ana María", "O'Connor-Sánchez", None, None),
    ("Björn", "Müller", None, None),
    ("Chloé", "Lefèvre", None, None),
    ("Dvořák", "Jiří", None, None),
    ("佐藤", "花子", "Sato", "Hanako"),
    ("Ömer", "Yılmaz", None, None),
    ("François", "Gérard", None, None),
)

# fmt: off
FIRST_NAMES: tuple[str, ...] = (
    "Aaliyah", "Adam", "Aditi", "Agnieszka", "Ahmed", "Aiko", "Alejandro", "Alice", "Amara",
    "Amélie", "Ana", "Anders", "André", "Andrea", "Aniela", "Anja", "Antoine", "Arjun", "Astrid",
    "Aurélie", "Bartosz", "Beatriz", "Benjamin", "Bianca", "Björn", "Bruno", "Camila", "Carlos",
    "Carmen", "Céline", "Chen", "Chiara", "Chloé", "Clara", "Daniel", "Dávid", "Diego", "Dmitri",
    "Dorota", "Elena", "Elif", "Elías", "Emil", "Emma", "Erik", "Ester", "Fatima", "Felipe",
    "Filip", "Frederik", "Gabriel", "Gintarė", "Grace", "Hana", "Hannah", "Hélène", "Henrik",
    "Hiroshi", "Ignacio", "Ingrid", "Isabel", "Ivan", "Jakub", "James", "Jana", "Javier",
    "Jérôme", "Jiří", "Joana", "Jonas", "Jörg", "Julia", "Kai", "Karolína", "Katarzyna", "Kenji",
    "Lars", "Laura", "Léa", "Leon", "Liam", "Lucía", "Luka", "Maja", "Małgorzata", "Marco",
    "María", "Marta", "Mateo", "Mathilde", "Mehmet", "Mia", "Mikael", "Milan", "Nadia", "Naomi",
    "Nikola", "Noah", "Noémie", "Olga", "Oliver", "Paweł", "Pedro", "Petra", "Priya", "Rafael",
    "Raúl", "Renée", "Rosa", "Rui", "Sakura", "Samuel", "Sara", "Sebastián", "Sigrún", "Sofia",
    "Søren", "Stéphane", "Szymon", "Tamás", "Thomas", "Tomáš", "Ursula", "Valentina", "Vera",
    "Victor", "Wojciech", "Yara", "Yusuf", "Zoë", "Zuzana", "Åsa", "Éva", "Ólafur", "Þóra",
)

LAST_NAMES: tuple[str, ...] = (
    "Abara", "Adeyemi", "Almeida", "Andersson", "Bauer", "Becker", "Bergström", "Bianchi",
    "Borowski", "Brown", "Castillo", "Černý", "Chowdhury", "Costa", "Da Silva", "Dąbrowski",
    "De la Cruz", "Dubois", "Dvořák", "Eriksen", "Fernández", "Fischer", "Fontaine", "García",
    "Gómez", "Gonçalves", "Gruber", "Hansen", "Hernández", "Horváth", "Ibáñez", "Ivanova",
    "Jankowski", "Jensen", "Johansson", "Kaczmarek", "Kim", "Kowalczyk", "Kovač", "Krüger",
    "Larsen", "Laurent", "Lefebvre", "Lindqvist", "López", "Lund", "Martínez", "Meier", "Moreau",
    "Müller", "Nagy", "Nakamura", "Nielsen", "Novák", "Nowak", "O'Brien", "Okafor", "Olsen",
    "Pérez", "Petrović", "Popescu", "Quiñones", "Ramírez", "Ribeiro", "Rossi", "Rodríguez",
    "Sánchez", "Santos", "Schäfer", "Schmidt", "Shah", "Silva", "Smith", "Sørensen", "Suzuki",
    "Svoboda", "Szabó", "Tanaka", "Thompson", "Van der Berg", "Vasquez", "Wagner", "Wiśniewski",
    "Wójcik", "Yamamoto", "Zieliński", "Åberg", "Ødegaard", "Özdemir", "Šimić", "Žukauskas",
)

TIMEZONES: tuple[str, ...] = (
    "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
    "America/Sao_Paulo", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid",
    "Europe/Warsaw", "Europe/Prague", "Europe/Oslo", "Asia/Tokyo", "Asia/Shanghai",
    "Asia/Kolkata", "Australia/Sydney", "UTC",
)

# Letters that NFKD does not decompose into ASCII + combining marks.
_FOLD = str.maketrans(
    {
        "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ß": "ss", "æ": "ae",
        "Æ": "Ae", "œ": "oe", "Œ": "Oe", "þ": "th", "Þ": "Th", "ð": "d", "Ð": "D", "ı": "i",
    }
)
# fmt: on


def latin(text: str) -> str:
    """Fold ``text`` to ASCII letters, digits and hyphens (``"Żółć"`` -> ``"Zolc"``)."""
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD))
    ascii_only = "".join(c for c in folded if c.isascii() and (c.isalnum() or c in " -"))
    return "-".join(part for part in ascii_only.replace("-", " ").split())
