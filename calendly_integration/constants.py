"""Calendly facts the connector depends on."""

# Reference: https://developer.calendly.com/api-docs
DEFAULT_API_URL = "https://api.calendly.com"
# Reference: https://developer.calendly.com/create-a-developer-account (OAuth endpoints)
DEFAULT_AUTH_URL = "https://auth.calendly.com"

PROVIDER = "calendly"
PUBLISHER = "Calendly"
PRODUCT = "Calendly"

# Plans that map to a software model automatically (GET /organizations/{uuid} -> plan).
KNOWN_PLANS = {
    "basic": "Basic",
    "essentials": "Essentials",
    "standard": "Standard",
    "professional": "Professional",
    "teams": "Teams",
    "enterprise": "Enterprise",
}

ADMIN_ROLES = frozenset({"owner", "admin"})

# Reference: https://developer.calendly.com/scopes (introduced 2026-03)
RECLAIM_SCOPE = "organizations:write"

# Refresh OAuth tokens this long before they expire, so a long download does not hit a 401.
REFRESH_MARGIN_SECONDS = 300


def identifier_for_plan(plan: str) -> str:
    return f"calendly-{(plan or 'unknown').strip().lower()}"
