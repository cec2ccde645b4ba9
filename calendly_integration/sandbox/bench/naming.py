"""The names that mark every benchmark row (a profile, alias or publisher name starting with
``PREFIX``, an e-mail at ``DOMAIN``): what :mod:`.guard` recognizes and :func:`.data.remove`
deletes."""

PREFIX = "bench-scale"
DOMAIN = "bench-scale.example"
PROFILES = 8
DEPARTMENTS = (
    "Sales",
    "Engineering",
    "Finance",
    "Support",
    "Marketing",
    "Legal",
    "Operations",
    "People",
    "Product",
    "Design",
    "Security",
    "Executive",
)


def sql_array(values) -> str:
    return "ARRAY[" + ",".join(str(int(v)) for v in values) + "]::bigint[]"


def sql_text_array(values) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]"
