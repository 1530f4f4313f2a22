"""The evaluation of every incident: the technical working group's review records, the victim's
sense-of-safety survey, and the evidence bundle for the prosecutor's office."""
