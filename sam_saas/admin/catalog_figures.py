"""The figures the catalog pages show, taken from their one definition: the licence position
(``sam_saas.services.positions``) for seats held, stale seats and annual spend, and the money
module for their formatting. Kept apart so the admin never computes a figure itself. The seat
counts are the ones the jobs store for the dashboard (``sam_saas.services.figures``), so the
software model list does not count a million seats per view."""

from .. import money
from ..services import figures
from ..services import positions as positions_service


class ModelPositions:
    """Every software model's all-profiles position, from one computation (a fixed number of
    queries, whatever the number of models on the page)."""

    def __init__(self):
        self._computed = positions_service.compute(stored=figures.position_figures)

    def get(self, software_model_id):
        return self._computed.get(software_model_id, None)


def positions() -> ModelPositions:
    return ModelPositions()


def display(by_currency, empty="–") -> str:
    return money.display(by_currency, empty=empty)
