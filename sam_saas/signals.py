"""Domain events other apps react to without sam_saas importing them."""

from django.dispatch import Signal

# Sent after a download completed and committed. kwargs: profile, run.
# The reclamation app creates the profile's rule on its first download and closes the open
# candidates of seats that vanished at the vendor.
download_completed = Signal()

# Sent after a person lifted the keep decision of seats by hand ("Propose again now"), inside
# the same transaction. kwargs: subscription_ids, actor. A receiver may return a sentence for the admin
# message: the reclamation app proposes the seats again at once and says how many.
keep_lifted = Signal()

# Sent after stored seats were re-judged by the rules (a rule saved, changed, deactivated or
# deleted, a people import, "Return to automatic"), inside the same transaction. kwargs:
# profile_ids (None: every profile). A receiver may return how many open items it closed
# because their premise broke: the reclamation app closes open candidates of seats now
# excluded from reclamation, and leaver candidates whose person is active again.
seats_rejudged = Signal()

# Sent after a job run's handler returned and its outcome was recorded (succeeded or failed),
# outside its transaction. kwargs: run. The stored dashboard figures refresh what a successful
# run of its kind changed (sam_saas.services.figures).
job_finished = Signal()
