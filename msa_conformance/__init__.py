"""The conformance kit of the MSA device protocol v1 (docs/conformance.md): what an app vendor
runs against a test centre, and what a member state runs against its own deployment.

No Django and nothing of the server (an import-linter contract): :mod:`msa_protocol` and
``httpx`` only. ``msa conformance BASE_URL --device-id ... --key ...`` or
``msa-conformance BASE_URL ...``.
"""
