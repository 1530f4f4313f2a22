"""HTML to PDF (WeasyPrint) for the reports and the evidence bundle.

The renderer never reaches the network: only ``data:`` URIs are fetched, and ``file:`` ones when
the caller gives a ``base_url`` (a local directory of stylesheets or images). A page that links
anything else is rendered without it, so a PDF cannot leak the reader's request to a third party
nor depend on one.
"""

from __future__ import annotations

from typing import Any


def render_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """The PDF bytes of ``html`` (a complete document; its CSS in a ``<style>`` element or in
    files under ``base_url``)."""
    import weasyprint  # noqa: PLC0415 - heavy import (pango), only where a PDF is made
    from weasyprint.urls import URLFetcher  # noqa: PLC0415

    protocols = ("data", "file") if base_url else ("data",)
    fetcher: Any = URLFetcher(allowed_protocols=protocols, allow_redirects=False)
    document = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher)
    pdf: bytes | None = document.write_pdf()
    assert pdf is not None  # without a target, write_pdf returns the bytes
    return pdf
