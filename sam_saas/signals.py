"""Domain events other apps react to without sam_saas importing them."""

from django.dispatch import Signal

# Sent after a download completed and committed. kwargs: profile, run.
# The reclamation app creates the profile's rule on its first download and closes the open
# candidates of seats that vanished at the vendor.
download_completed = Signal()
