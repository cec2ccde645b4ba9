"""The figures the catalog pages show, taken from their one definition: the licence position
(``sam_saas.services.positions``) and its money formatting. Kept apart so the admin never
computes a figure itself, and so a change of where the figures live touches one file."""

from ..services import positions as positions_service


def positions():
    """Every model's licence position (all profiles), from a fixed number of queries."""
    computed = positions_service.compute()

    class ByModel:
        def get(self, software_model_id):
            return computed.get(software_model_id, None)

    return ByModel()


def money(by_currency, empty="–") -> str:
    return positions_service.money_display(by_currency, empty=empty)
