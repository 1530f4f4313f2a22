"""Case pages: thin views over the cases' services and selectors, by topic: ``pages`` (list,
new case, dossier, assessment, decision), ``steps`` (the officer's steps and the care team's
posts), ``reason`` (the reason for access), ``base`` (what they share)."""
