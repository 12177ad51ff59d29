"""The portal in Debian's Chromium (Playwright), with its real job path: a redis-server of
our own, one `python -m portal rqworker portal` process, and the portal's WSGI app.

An establishment editor sees the contrast warning appear as she types, uploads a logo and
sees the new poster; the kit is built, downloaded and read (print PDFs marked as drafts);
the approver approves and the rebuilt print PDFs have no mark; another establishment's
editor gets 404 on the first one's pages and files; axe-core finds no serious or critical
violation on any page at 360 and 1280 px. Builds are small: one guide (the 4-page
leaflet), in French only.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import zipfile
from pathlib import Path
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from PIL import Image, ImageDraw
from pypdf import PdfReader

import portal_env
from conftest import ROOT, start_redis
from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.core.wsgi import get_wsgi_application
from django.test import override_settings
from playwright.sync_api import expect

from portal.core import brands
from portal.core.models import Approval, Build

# Playwright's sync API runs an event loop in this thread; the test's own database reads
# are plain synchronous ones.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
SHOTS: list[Path] = []


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args) -> None:  # noqa: ANN002
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    """The portal on a free port, with Redis and one worker; yields its base URL."""
    portal_env.site()
    brands_folder = brands.brand_folder(portal_env.site().a)
    assert brands_folder.is_dir()
    redis_server = start_redis(tmp_path_factory.mktemp("redis"), portal_env.REDIS_PORT)
    worker = subprocess.Popen([sys.executable, "-m", "portal", "rqworker", "portal",
                               "--worker-class", "portal.core.jobs.Worker"],
                              cwd=ROOT, env=dict(os.environ, PORTAL_JOBS="rq"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    httpd = make_server("127.0.0.1", 0, StaticFilesHandler(get_wsgi_application()),
                        server_class=_ThreadingServer, handler_class=_Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    # other tests of the session also count against the establishments' build limit
    with override_settings(PORTAL_JOBS="rq", PORTAL_BUILDS_PER_WINDOW=1000):
        yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    worker.terminate()
    worker.wait(20)
    redis_server.terminate()
    redis_server.wait(10)


def check_page(page, name: str, shots: Path) -> None:
    """axe-core at 360 and 1280 px: no serious or critical violation; a screenshot of each."""
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.add_script_tag(path=str(ROOT / "node_modules/axe-core/axe.min.js"))
        violations = page.evaluate("""async () => (await axe.run()).violations
            .map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target)}))""")
        serious = [v for v in violations if v["impact"] in ("serious", "critical")]
        assert serious == [], f"{name} at {width} px: {serious}"
        scroll, client = page.evaluate("[document.documentElement.scrollWidth, "
                                       "document.documentElement.clientWidth]")
        assert scroll <= client, f"{name}: horizontal scrolling at {width} px"
        shot = shots / f"{name}-{width}.png"
        page.screenshot(path=str(shot), full_page=True)
        SHOTS.append(shot)
    page.set_viewport_size({"width": 1280, "height": 900})


def log_in(browser, base: str, name: str):
    context = browser.new_context(locale="fr-FR", accept_downloads=True,
                                  viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", name)
    page.fill("#id_password", portal_env.PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/kit/")
    return page


def wait_for_kit(page, base: str) -> None:
    """On the kit page, wait for the last build (polled by htmx) to finish."""
    page.goto(f"{base}/kit/")
    finished = page.locator(".build .status[data-status=done], .build .status[data-status=failed]")
    expect(finished).to_be_visible(timeout=180_000)
    assert finished.get_attribute("data-status") == "done", page.locator(".build").inner_text()
    page.reload()  # the page's summary as it now stands


def kit_pdfs(page, base: str) -> dict[str, PdfReader]:
    """Download the kit's zip from the downloads page and open each PDF in it."""
    page.goto(f"{base}/downloads/")
    with page.expect_download() as download:
        page.click("a[href='/downloads/kit.zip']")
    data = Path(download.value.path()).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name.split("/", 1)[1]: PdfReader(io.BytesIO(archive.read(name)))
                for name in archive.namelist() if name.endswith(".pdf")}


def marked(reader: PdfReader) -> bool:
    """True when every page draws the draft watermark form (/GPDraft)."""
    return all("/GPDraft" in (page["/Resources"].get("/XObject") or {})
               for page in reader.pages)


def logo_png() -> bytes:
    # large enough for 300 dpi on an A3 poster: the engine's preflight refuses less
    image = Image.new("RGB", (1500, 600), "white")
    draw = ImageDraw.Draw(image)
    draw.ellipse((50, 50, 550, 550), fill=(107, 45, 92))
    draw.rectangle((650, 225, 1450, 375), fill=(107, 45, 92))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_portal_in_chromium(server: str, browser, tmp_path_factory) -> None:
    shots = tmp_path_factory.mktemp("portal-screenshots")
    site = portal_env.site()
    logo = shots / "logo-tilleuls.png"
    logo.write_bytes(logo_png())

    # the login page, in French by default
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{server}/login/")
    assert page.locator("h1").inner_text() == "Se connecter"
    check_page(page, "login", shots)
    context.close()

    # --- establishment editor: contrast warning live, logo, new poster -------------------
    page = log_in(browser, server, "a-editor")
    check_page(page, "kit-empty", shots)
    page.goto(f"{server}/brand/")
    expect(page.locator("#contrast-ok")).to_be_visible()
    page.fill("#id_primary", "")
    page.type("#id_primary", "#9FC5E8", delay=20)
    warning = page.locator("#contrast-warning")
    expect(warning).to_be_visible(timeout=10_000)  # no reload: htmx swapped the check in
    assert "Contraste insuffisant" in warning.inner_text()
    assert page.locator("table.contrast tr.fail").count() == 3
    check_page(page, "brand-low-contrast", shots)
    page.fill("#id_primary", "#6B2D5C")
    page.dispatch_event("#id_primary", "input")
    expect(page.locator("#contrast-ok")).to_be_visible(timeout=10_000)
    page.set_input_files("#id_logo", str(logo))
    page.uncheck("input[name=languages][value=en]")  # a small kit: French only
    page.fill("#id_contact1_email", "communication@clinique-tilleuls.example")
    page.click("#brand-form button[type=submit]")
    poster = page.locator("img.poster-thumb")
    expect(poster).to_be_visible(timeout=120_000)  # polled until the worker drew it
    expect(page.locator("img.cover-thumb")).to_be_visible(timeout=120_000)
    thumbnail = Image.open(io.BytesIO(page.request.get(server + poster.get_attribute("src")).body()))
    assert thumbnail.convert("RGB").getpixel((thumbnail.width // 2, thumbnail.height // 2 + 40)
                                             ) == pytest.approx((107, 45, 92), abs=3)
    brand, problems = brands.load(site.a)
    assert problems == [] and brand.logo.file.name == "logo.png"
    check_page(page, "brand-saved-preview", shots)

    # --- the kit: built on the worker, downloaded, a draft -------------------------------
    page.goto(f"{server}/kit/")
    page.click("form[action='/kit/build/'] button")
    wait_for_kit(page, server)
    check_page(page, "kit-built", shots)
    page.goto(f"{server}/proof/")
    expect(page.locator(".proof img").first).to_be_visible()
    check_page(page, "proof-editor", shots)
    pdfs = kit_pdfs(page, server)
    check_page(page, "downloads", shots)
    prints = [name for name in pdfs if not name.endswith("-screen.pdf")
              and "office" not in name and name != "proof.pdf"]
    assert sorted(prints) == ["photos-videos/fr/guide-print.pdf",
                              "photos-videos/fr/poster-accord.pdf",
                              "photos-videos/fr/poster-arriere-plan.pdf"]
    assert all(marked(pdfs[name]) for name in prints)
    assert not any(marked(reader) for name, reader in pdfs.items() if name not in prints)
    assert "Clinique des Tilleuls" in pdfs["photos-videos/fr/guide-screen.pdf"].pages[0] \
        .extract_text()
    draft_build = Build.objects.filter(establishment=site.a, kind=Build.KIT).first()
    page.goto(f"{server}/audit/")
    check_page(page, "audit", shots)
    page.context.close()

    # --- another establishment guesses the first one's addresses -------------------------
    other = log_in(browser, server, "b-editor")
    preview = Build.objects.filter(establishment=site.a, kind=Build.PREVIEW).first()
    for url in (f"/builds/{draft_build.pk}/", f"/builds/{preview.pk}/poster.png",
                f"/proof/{draft_build.pk}/page-1.png"):
        assert other.goto(server + url).status == 404, url
    for url in ("/downloads/0/", "/downloads/kit.zip"):  # B has no kit: nothing to serve
        assert other.goto(server + url).status == 404, url
    other.goto(f"{server}/downloads/")
    assert "Tilleuls" not in other.content()
    assert other.request.post(f"{server}/proof/{draft_build.pk}/approve/").status == 403  # CSRF
    other.context.close()

    # --- the approver signs the bon à tirer; the kit is rebuilt without the mark ----------
    page = log_in(browser, server, "a-approver")
    page.goto(f"{server}/proof/")
    check_page(page, "proof-approver", shots)
    page.click("form.approve button")
    page.wait_for_url(f"{server}/kit/")
    approval = Approval.objects.get(build=draft_build)
    assert (approval.approved_by.username, approval.build_id, approval.inputs_hash) == (
        "a-approver", draft_build.pk, draft_build.inputs_hash)
    wait_for_kit(page, server)
    assert "Validé par a-approver" in page.locator("dl.state").inner_text()
    check_page(page, "kit-approved", shots)
    pdfs = kit_pdfs(page, server)
    assert not any(marked(pdfs[name]) for name in prints)
    page.context.close()

    # --- the central team --------------------------------------------------------------
    page = log_in_central(browser, server)
    check_page(page, "central", shots)
    page.context.close()
    print("\nportal screenshots:", *SHOTS, sep="\n  ")


def log_in_central(browser, base: str):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.fill("#id_username", "central")
    page.fill("#id_password", portal_env.PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/central/")
    return page
