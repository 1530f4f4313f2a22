"""Writes about incidents, by topic: ``intake`` (every ingest channel ends in ``alarm_raise``),
``tracking`` (positions and the tracking window), ``call`` (the emergency call's state),
``victim`` (what the victim's phone says after the press, and device revocation) and
``dossier`` (the audited read of an incident's dossier)."""
