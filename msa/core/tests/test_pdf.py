import http.server
import threading

from msa.core.pdf import render_pdf


def test_render_pdf_makes_a_pdf_of_the_text():
    pdf = render_pdf("<html><body><h1>Rapport</h1><p>Évaluation</p></body></html>")
    assert pdf.startswith(b"%PDF-")
    assert b"%%EOF" in pdf[-64:]


def test_render_pdf_fetches_nothing_from_the_network():
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        pdf = render_pdf(
            f'<html><head><link rel="stylesheet" href="{url}/a.css"></head>'
            f'<body><img src="{url}/b.png"><p>x</p></body></html>'
        )
    finally:
        server.shutdown()
        server.server_close()
    assert pdf.startswith(b"%PDF-")
    assert hits == []
