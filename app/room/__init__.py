"""The crisis room: rumour cases and their workflow, incidents and their analyse-advise-act-evaluate cycle,
the audit trail, and the dossier an evaluation reads. Detectors find; people here decide."""
