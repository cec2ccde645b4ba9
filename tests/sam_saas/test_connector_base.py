"""BaseConnector: defaults for what a vendor does not have, and one translation of the
vendor's errors into ConnectorError."""

import pytest
from django.core.exceptions import ValidationError

from sam_saas import connectors
from sam_saas.connectors import BaseConnector, ConnectionCheck, ConnectorError
from sam_saas.models import ConnectionAlias, IntegrationProfile
from tests.helpers import registered_connector


class VendorDown(Exception):
    hint = "Wait for the vendor's status page to turn green."
    retryable = True


class Minimal(BaseConnector):
    provider = "minimal"
    label = "Minimal Vendor"
    vendor_errors = (VendorDown,)

    def __init__(self, fail_with=None):
        self.fail_with = fail_with

    def validate_connection(self, profile):
        if self.fail_with:
            raise self.fail_with
        return ConnectionCheck(ok=True, organization_name="Minimal Org")

    def download_subscriptions(self, profile, job):
        raise VendorDown("503 from the vendor")

    def pull_activity(self, profile, job):
        raise KeyError("a bug, not a vendor failure")


def test_it_turns_a_vendor_error_into_a_connector_error_with_its_hint():
    with pytest.raises(ConnectorError) as error:
        Minimal().download_subscriptions(None, None)
    assert str(error.value) == "503 from the vendor"
    assert error.value.hint == "Wait for the vendor's status page to turn green."
    assert error.value.retryable is True
    assert isinstance(error.value.__cause__, VendorDown)


def test_it_lets_a_bug_through_untranslated():
    # Only the vendor's error family is translated: a programming error stays visible.
    with pytest.raises(KeyError):
        Minimal().pull_activity(None, None)


def test_it_translates_in_the_defaults_that_call_the_subclass_too():
    # check_processes is a default here; it calls the subclass's validate_connection.
    with pytest.raises(ConnectorError, match="refused"):
        Minimal(fail_with=VendorDown("refused")).check_processes(None, ["download"])


def test_it_gives_a_connector_defaults_for_what_its_vendor_lacks():
    connector = Minimal()
    assert connector.check_processes(None, ["download"]).organization_name == "Minimal Org"
    assert connector.latest_activity(None) is None
    assert connector.protection_reason(None) == ""
    assert connector.connect_url(None) is None
    assert connector.oauth_redirect_url(None) is None
    assert connector.reclaim_effect_text == connectors.DEFAULT_EFFECT_TEXT
    with pytest.raises(NotImplementedError):
        connector.reclaim_subscription(None)


def test_it_names_a_vendor_by_its_connectors_label():
    with registered_connector("minimal", Minimal()):
        assert connectors.provider_label("minimal") == "Minimal Vendor"
    assert connectors.provider_label("calendly") == "Calendly"
    assert connectors.provider_label("nobody") == "Nobody"


@pytest.mark.django_db
def test_the_provider_choices_are_the_installed_connectors():
    """Registering a connector makes its provider a valid choice on aliases and profiles (no
    choice in the core, no migration); once it is gone, the value is refused, saying why."""
    alias = ConnectionAlias(name="Minimal", provider="minimal", access_token="t")
    with registered_connector("minimal", Minimal()):
        assert ("minimal", "Minimal Vendor") in ConnectionAlias._meta.get_field("provider").choices
        alias.full_clean()
        alias.save()
        IntegrationProfile(name="Minimal", provider="minimal", alias=alias).full_clean()
        assert alias.get_provider_display() == "Minimal Vendor"
    with pytest.raises(ValidationError) as refused:
        IntegrationProfile(name="Minimal", provider="minimal", alias=alias).full_clean()
    assert refused.value.message_dict["provider"] == [
        "No connector is installed for provider 'minimal'; add the vendor's app to INSTALLED_APPS."
    ]
    assert ConnectionAlias().provider == "calendly"  # the one vendor this installation has
