"""`python build.py watch`: rebuild what a change affects and show it on a local preview page.

The page lists a thumbnail of every output and reloads itself after each rebuild. A
build error is shown on the page with its file and line, above the last good thumbnails.
"""

from __future__ import annotations

import datetime
import html
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import watchfiles

from guidepress import i18n, kit, proof
from guidepress.i18n import _
from guidepress.problems import InputErrors, RenderError

POLL_SCRIPT = """<script>
let seen = null;
setInterval(async () => {
  const now = (await (await fetch('/version')).json()).version;
  if (seen !== null && now !== seen) location.reload();
  seen = now;
}, 700);
</script>"""


class Preview:
    """What the preview page shows; updated by the build loop, read by the web server."""

    def __init__(self, brand_output: Path, guides: list[str] | None = None) -> None:
        self.brand_output = brand_output
        self.guides = guides  # None: every guide in the brand's output
        self.version = 0
        self.error: str | None = None
        self.thumbnails: dict[str, str] = {}
        self.built_at = 0.0
        self.lock = threading.Lock()

    def refresh(self, error: str | None) -> None:
        """Take the latest thumbnails (when the build worked) and the error, if any."""
        thumbnails = dict(self.thumbnails)
        if error is None:
            thumbnails = {p.relative_to(self.brand_output).as_posix(): _thumbnail(p)
                          for p in sorted([*self.brand_output.glob("*/*/*.pdf"),
                                           *self.brand_output.glob("*/*/*.png")])
                          if self.guides is None or p.parent.parent.name in self.guides}
        with self.lock:
            self.thumbnails, self.error = thumbnails, error
            self.version += 1
            self.built_at = time.time()

    def page(self) -> str:
        with self.lock:
            error = (f'<pre class="error" role="alert">{html.escape(self.error)}</pre>'
                     if self.error else "")
            items = "".join(f'<figure><img src="{url}" alt="{html.escape(name)}">'
                            f"<figcaption>{html.escape(name)}</figcaption></figure>"
                            for name, url in self.thumbnails.items())
            version = self.version
        title = html.escape(_("guidepress preview"))
        heading = html.escape(_("Preview {version}").format(version=version))
        return (f'<!DOCTYPE html><html lang="{i18n.language()}"><head><meta charset="utf-8">'
                f"<title>{title}</title><style>body{{font-family:sans-serif}}"
                f".error{{background:#fde;border:2px solid #a00;padding:1em;"
                f"white-space:pre-wrap}}"
                f"figure{{display:inline-block;margin:.5em;text-align:center}}"
                f"img{{border:1px solid #888;max-height:300px}}</style></head><body>"
                f"<h1>{heading}</h1>{error}<main>{items}</main>{POLL_SCRIPT}"
                f"</body></html>")


def serve(preview: Preview, port: int) -> ThreadingHTTPServer:
    """Serve the preview page on localhost, in a background thread."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path == "/version":
                body = json.dumps({"version": preview.version}).encode()
                kind = "application/json"
            elif self.path == "/":
                body, kind = preview.page().encode(), "text/html; charset=utf-8"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def build_once(project: kit.Project, slug: str, langs: list[str] | None,
               output: Path, today: datetime.date,
               guides: list[str] | None = None) -> str | None:
    """Build incrementally; return the error text to show, or None."""
    try:
        outcome = kit.build(project, [slug], langs, output, today=today, guides=guides)
    except InputErrors as exc:
        return "\n".join(str(error) for error in exc.errors)
    except RenderError as exc:
        return str(exc)
    return "\n".join(str(problem) for problem in outcome.problems) or None


def watch(project: kit.Project, slug: str, langs: list[str] | None, output: Path,
          port: int, *, today: datetime.date, guides: list[str] | None = None) -> None:
    """Build, serve the preview, then rebuild after every change until interrupted.

    `guides` limits the build to those guides; by default, every guide the brand enables."""
    preview = Preview(output / slug, guides)
    # The port first: a busy port is said at once (OSError, told in words by the cli),
    # not after a whole first build.
    server = serve(preview, port)
    print(_("preview on http://127.0.0.1:{port}/ (Ctrl-C to stop)").format(port=port),
          flush=True)
    folders = [project.root / "content", project.root / "brands" / slug,
               project.templates, project.root / "printers", project.root / "formats"]
    try:
        preview.refresh(build_once(project, slug, langs, output, today, guides))
        for _changes in watchfiles.watch(*folders, debounce=200, step=50):
            started = time.monotonic()
            preview.refresh(build_once(project, slug, langs, output, today, guides))
            print(_("rebuilt in {seconds} s (preview {version})").format(
                seconds=f"{time.monotonic() - started:.1f}", version=preview.version), flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


def _thumbnail(path: Path) -> str:
    """The first page of a PDF, or a picture (a card, a slide), small."""
    if path.suffix == ".png":
        return proof.picture_thumbnail(path.read_bytes(), scale=0.3)
    return proof.thumbnails(path.read_bytes(), scale=0.3, limit=1)[0]
