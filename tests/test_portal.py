"""The portal through Django's test client: roles and isolation (URLs guessed across
establishments), the engine's errors beside the form's fields, CSRF, upload limits, login
throttling, the build rate limit, and approvals withdrawn by a change.

Jobs are not run here (`jobs.submit` is replaced by a list): the builds themselves are
exercised in tests/test_portal_browser.py."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

import portal_env  # noqa: F401 - sets Django up before the imports below
from conftest import ROOT
from django.test import Client, override_settings
from django.utils import timezone

from portal.core import brands, jobs, views
from portal.core.models import Approval, AuditEntry, Build, Establishment, GuideVersion

PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c63f8cfc0f01f0005000201a5d2e8b10000000049454e44ae426082")


@pytest.fixture(scope="module")
def site() -> portal_env.Site:
    return portal_env.site()


@pytest.fixture
def submitted(monkeypatch: pytest.MonkeyPatch) -> list[Build]:
    """Builds sent to the queue, kept here instead of being run."""
    sent: list[Build] = []
    monkeypatch.setattr(jobs, "submit", sent.append)
    return sent


def client(name: str | None) -> Client:
    made = Client()
    if name:
        assert made.login(username=name, password=portal_env.PASSWORD)
    return made


def form_values(browser: Client) -> dict:
    """The brand form's current values, as a browser would post them back."""
    values = dict(browser.get("/brand/").context["form"].initial)
    return {key: value for key, value in values.items() if value is not None}


def done_kit(establishment: Establishment, draft: bool = True) -> Build:
    """A finished kit build of the establishment's current brand, with a proof page."""
    build = Build.objects.create(
        establishment=establishment, kind=Build.KIT, draft=draft, status=Build.DONE,
        brand_digest=brands.brand_digest(establishment),
        guide_versions={g: v.number for g, v in brands.latest_versions().items()},
        inputs_hash="ab" * 32, requested_by=establishment.members.first().user,
        finished_at=timezone.now())
    folder = jobs.previews_folder(build)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "proof-1.png").write_bytes(PNG_1PX)
    (folder / "poster.png").write_bytes(PNG_1PX)
    return build


# --- roles and isolation -------------------------------------------------------------

def test_pages_need_a_login(site) -> None:
    for url in ("/kit/", "/brand/", "/proof/", "/downloads/", "/audit/", "/central/"):
        response = client(None).get(url)
        assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_another_establishments_builds_and_files_are_404_by_url_guessing(site) -> None:
    build = done_kit(site.a)
    own, other = client("a-editor"), client("b-editor")
    guesses = [f"/builds/{build.pk}/", f"/builds/{build.pk}/poster.png",
               f"/proof/{build.pk}/page-1.png"]
    for url in guesses:
        assert own.get(url).status_code == 200, url
        assert other.get(url).status_code == 404, url
    assert client("b-approver").post(f"/proof/{build.pk}/approve/").status_code == 404
    assert not Approval.objects.filter(build=build).exists()
    # what B sees on its own pages never names A
    for url in ("/kit/", "/brand/", "/proof/", "/downloads/", "/audit/"):
        page = other.get(url).content.decode()
        assert "Tilleuls" not in page and site.a.slug not in page, url
    # a file index or a picture that is not one of the fixed names
    assert own.get("/downloads/0/").status_code == 404  # no kit published yet
    assert own.get(f"/builds/{build.pk}/..%2Fbrand.png").status_code == 404


def test_each_role_does_only_its_own_part(site, submitted) -> None:
    build = done_kit(site.a)
    values = form_values(client("a-editor"))
    assert client("a-approver").post("/brand/", values).status_code == 403
    assert client("a-approver").post("/brand/preview/").status_code == 403
    assert client("a-editor").post(f"/proof/{build.pk}/approve/").status_code == 403
    assert client("a-editor").get("/central/").status_code == 403
    assert client("a-editor").post("/central/", {"guide": "photos-videos"}).status_code == 403
    assert client("central").get("/kit/").status_code == 404  # no establishment of its own
    assert submitted == []


def test_central_editor_publishes_only_guides_of_content(site) -> None:
    central = client("central")
    assert central.post("/central/", {"guide": "../brands/default"}).status_code == 404
    assert central.post("/central/", {"guide": "nope"}).status_code == 404
    assert "photos-videos" in central.get("/central/").content.decode()


# --- the brand form and the engine's validation ----------------------------------------

def test_engine_errors_appear_beside_their_fields(site, submitted) -> None:
    editor = client("a-editor")
    before = brands.brand_digest(site.a)
    values = form_values(editor)
    values.update({"primary": "#12", "contact1_email": "not-an-email",
                   "text": "#EEEEEE"})
    response = editor.post("/brand/", values)
    assert response.status_code == 400
    errors = response.context["form"].errors
    # the engine's words, in the reader's language (French by default)
    assert errors["primary"] == ['« #12 » n’est pas une couleur (écrivez #RRVVBB, par exemple '
                                 '"#1B4F8A")']
    assert errors["contact1_email"] == ['« not-an-email » n’est pas valable : il n’a pas la '
                                        'forme attendue']
    page = response.content.decode()
    assert 'id="id_primary_errors"' in page and "n’est pas une couleur" in page
    english = client("a-editor")
    english.cookies["django_language"] = "en"
    errors = english.post("/brand/", values).context["form"].errors
    assert errors["primary"] == ['"#12" is not a colour (use #RRGGBB, for example "#1B4F8A")']
    # the engine's contrast check, at the colour the templates draw on
    values.update({"primary": "#1F4E79", "contact1_email": "com@tilleuls.example"})
    errors = editor.post("/brand/", values).context["form"].errors
    assert errors["text"] == [
        "#EEEEEE sur colours.paper (#FFFFFF) a un contraste de 1.16:1, sous les 4.5:1 demandés "
        "(WCAG AA) pour le texte courant : foncez ou éclaircissez l’une des deux couleurs",
        "#EEEEEE sur colours.tint (#E7EFF7) a un contraste de 1.00:1, sous les 4.5:1 demandés "
        "(WCAG AA) pour les témoignages et les colonnes de la carte : foncez ou éclaircissez "
        "l’une des deux couleurs"]
    assert brands.brand_digest(site.a) == before  # nothing written
    assert submitted == []


def test_logo_and_font_files_get_the_engines_asset_checks(site, submitted) -> None:
    editor = client("a-editor")
    values = form_values(editor)
    with open(ROOT / "brands/default/logo.svg", "rb") as svg:
        bad_logo = {"logo": _upload("logo.png", svg.read())}  # SVG bytes named .png
    response = editor.post("/brand/", {**values, **bad_logo})
    assert response.status_code == 400
    assert response.context["form"].errors["logo"] == [
        "« logo.png » n’est pas vraiment un fichier PNG (son contenu ne correspond pas à son nom)"]
    fake_font = {"font": "upload", "font_family": "Maison",
                 "font_regular": _upload("maison.ttf", b"\0\1\0\0" + b"junk" * 50)}
    response = editor.post("/brand/", {**values, **fake_font})
    assert response.status_code == 400
    assert response.context["form"].errors["font_regular"], response.context["form"].errors
    assert submitted == []


def test_an_uploaded_font_is_checked_for_the_characters_the_guides_use(site, submitted
                                                                         ) -> None:
    """A font without accented letters: the engine names each character, beside the field
    whose text uses it, or beside the typeface for the guides' own texts."""
    from fontTools import subset
    from guidepress.models import _package_font_files

    regular = _package_font_files("fontpkg_atkinson_hyperlegible").regular
    options = subset.Options()
    font = subset.load_font(str(regular), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=range(0x20, 0x7F))  # ASCII only: no é, à, ’, «
    subsetter.subset(font)
    data = io.BytesIO()
    font.save(data)
    editor = client("a-editor")
    values = form_values(editor)
    values.update({"font": "upload", "font_family": "Sans Accents",
                   "font_regular": _upload("sans-accents.ttf", data.getvalue())})
    response = editor.post("/brand/", values)
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert errors["contact1_hours"] == [
        "le caractère « à » (U+00E0) n’existe pas dans la police de la marque Sans Accents : "
        "remplacez-le"]
    # once the brand's own texts can be drawn, the guides' texts are checked
    values["contact1_hours"] = "9 h - 17 h"
    values["font_regular"] = _upload("sans-accents.ttf", data.getvalue())
    errors = editor.post("/brand/", values).context["form"].errors
    assert all(message.startswith(("content/photos-videos/", "templates/labels/"))
               and "la police de la marque Sans Accents" in message
               for message in errors["font"]), dict(errors)
    assert ("content/photos-videos/fr/guide.yaml:1: title: le caractère « à » (U+00E0) "
            "n’existe pas dans la police de la marque Sans Accents : remplacez-le"
            ) in errors["font"], errors["font"][:3]
    assert submitted == []


def test_a_good_brand_is_saved_as_a_brand_folder_the_engine_reads(site, submitted) -> None:
    editor = client("a-editor")
    values = form_values(editor)
    values.update({"name": "Clinique des Tilleuls", "accent": "#8A1C7C",
                   "logo": _upload("tilleul.png", _png(300, 120))})
    response = editor.post("/brand/", values)
    assert response.status_code == 302, response.context["form"].errors
    brand, problems = brands.load(site.a)
    assert problems == [] and brand.colours.accent == "#8A1C7C"
    assert brand.logo.file.name == "logo.png"
    assert [build.kind for build in submitted] == [Build.PREVIEW]
    assert AuditEntry.objects.filter(establishment=site.a, action="brand saved").exists()


def test_live_contrast_check_names_every_pair_and_converts_to_cmyk(site) -> None:
    editor = client("a-editor")
    values = form_values(editor)
    values["primary"] = "#9FC5E8"  # light blue: white text on it is unreadable
    response = editor.post("/brand/contrast/", values, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200 and 'id="contrast-warning"' in page
    rows = response.context["contrast"]["rows"]
    assert [(r["fg"], r["bg"]) for r in rows if not r["ok"]] == [
        ("primary", "paper"), ("primary", "tint"), ("on_primary", "primary")]
    swatch = response.context["contrast"]["swatches"][0]
    assert swatch["key"] == "primary" and len(swatch["cmyk"]) == 4 and swatch["cmyk"][0] > 20
    values["primary"] = "#1F4E79"
    page = editor.post("/brand/contrast/", values).content.decode()
    assert 'id="contrast-ok"' in page


# --- security ------------------------------------------------------------------------

def test_csrf_is_enforced_on_forms(site, submitted) -> None:
    browser = Client(enforce_csrf_checks=True)
    response = browser.post("/login/", {"username": "a-editor",
                                        "password": portal_env.PASSWORD})
    assert response.status_code == 403
    browser.get("/login/")
    token = browser.cookies["csrftoken"].value
    response = browser.post("/login/", {"username": "a-editor", "password": portal_env.PASSWORD,
                                        "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert browser.post("/brand/preview/").status_code == 403
    assert browser.post("/brand/contrast/", {"primary": "#000000"}).status_code == 403
    assert submitted == []


def test_a_request_too_large_is_refused_before_its_body_is_read(site, submitted) -> None:
    editor = client("a-editor")
    response = editor.generic("POST", "/brand/", b"tiny", content_type="multipart/form-data",
                              CONTENT_LENGTH=str(50_000_000))
    assert response.status_code == 413
    assert response.content.decode() == "Cette requête dépasse 12 Mo : elle a été refusée."
    with override_settings(PORTAL_MAX_LOGO_BYTES=1_000_000):
        values = form_values(editor)
        big = _upload("big.png", b"\x89PNG\r\n\x1a\n" + os.urandom(1_100_000))
        response = editor.post("/brand/", {**values, "logo": big})
        assert response.context["form"].errors["logo"] == ["Ce fichier dépasse 1 Mo."]
    assert submitted == []


def test_login_is_throttled_after_repeated_failures(site) -> None:
    browser = Client()
    for _ in range(5):
        response = browser.post("/login/", {"username": "b-approver", "password": "wrong"})
        assert response.status_code == 200
    response = browser.post("/login/", {"username": "b-approver",
                                        "password": portal_env.PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in browser.session


def test_builds_are_rate_limited_per_establishment(site, submitted) -> None:
    editor = client("b-editor")
    with override_settings(PORTAL_BUILDS_PER_WINDOW=Build.objects.filter(
            establishment=site.b).count() + 2):
        for _ in range(3):
            editor.post("/brand/preview/")
    assert len(submitted) == 2
    page = editor.get("/kit/").content.decode()
    assert "Trop de fabrications ces dernières minutes" in page


def test_settings_are_secure_without_debug() -> None:
    code = ("import portal.settings as s; print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
            "s.SESSION_COOKIE_HTTPONLY, s.DATABASES['default']['ENGINE'], s.PASSWORD_HASHERS[0])")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("PORTAL_") and key != "DATABASE_URL"}
    env.update(PORTAL_SECRET_KEY="x" * 50, DATABASE_URL="postgres://u:p@db.example:5432/portal")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, check=True)
    assert result.stdout.split() == ["True", "True", "True", "django.db.backends.postgresql",
                                     "django.contrib.auth.hashers.Argon2PasswordHasher"]
    env.pop("PORTAL_SECRET_KEY")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True)
    assert result.returncode != 0 and "set PORTAL_SECRET_KEY" in result.stderr


# --- approvals -----------------------------------------------------------------------

def test_a_brand_change_or_a_new_guide_version_withdraws_the_approval(site, submitted) -> None:
    approver = client("a-approver")
    build = done_kit(site.a)
    response = approver.post(f"/proof/{build.pk}/approve/")
    assert response.status_code == 302
    approval = Approval.objects.get(build=build)
    assert approval.approved_by.username == "a-approver" and approval.inputs_hash == "ab" * 32
    assert views.active_approval(site.a) == approval
    assert [(b.kind, b.draft) for b in submitted] == [(Build.KIT, False)]  # rebuilt, final
    # the editor changes a colour: the approval goes
    editor = client("a-editor")
    values = form_values(editor)
    editor.post("/brand/", {**values, "tint": "#EAF2E3"})
    approval.refresh_from_db()
    assert approval.withdrawn_at is not None and views.active_approval(site.a) is None
    assert AuditEntry.objects.filter(establishment=site.a, action="approval withdrawn").exists()
    # approved again, then the central team publishes a new version of the guide
    build = done_kit(site.a)
    approver.post(f"/proof/{build.pk}/approve/")
    assert views.active_approval(site.a) is not None
    client("central").post("/central/", {"guide": "photos-videos"})
    assert GuideVersion.objects.filter(guide="photos-videos").count() == 2
    assert views.active_approval(site.a) is None
    done_kit(site.a).guide_versions = {"photos-videos": 1}
    Build.objects.filter(establishment=site.a).update(guide_versions={"photos-videos": 1})
    page = client("a-editor").get("/kit/").content.decode()
    assert "Votre kit n’est plus à jour" in page
    assert 'action="/kit/build/"' in page
    # an approval of a proof made before the change is refused
    response = approver.post(f"/proof/{build.pk}/approve/", follow=True)
    assert Approval.objects.filter(build=build).count() == 1


def test_french_by_default_english_on_request(site) -> None:
    assert "<h1>Se connecter</h1>" in Client().get("/login/").content.decode()
    english = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert "<h1>Log in</h1>" in english.get("/login/").content.decode()


def _upload(name: str, data: bytes):  # noqa: ANN202 - a Django SimpleUploadedFile
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def _png(width: int, height: int) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (31, 78, 121)).save(out, format="PNG")
    return out.getvalue()


# Set while a test watches the files the portal opens (audit hooks cannot be removed).
_OPENED: list[tuple[str, str]] | None = None


def _record_open(event: str, args: tuple) -> None:
    if _OPENED is not None and event == "open" and isinstance(args[0], (str, bytes, Path)):
        _OPENED.append((os.fsdecode(args[0]), str(args[1] or "r")))


sys.addaudithook(_record_open)


def test_paths_never_come_from_requests(site, submitted) -> None:
    """Hostile names and URLs (a logo uploaded as "../../../etc/evil.svg", traversal in
    picture and download URLs) make the portal open or write no file outside its data
    folder, the project and the installed libraries; the logo is stored as logo.svg."""
    global _OPENED
    editor = client("a-editor")
    values = form_values(editor)
    svg = (ROOT / "brands/default/logo.svg").read_bytes()
    build = done_kit(site.a)
    _OPENED = []
    try:
        response = editor.post("/brand/", {**values,
                                           "logo": _upload("../../../etc/evil.svg", svg)})
        assert response.status_code == 302, response.context["form"].errors
        for url in (f"/builds/{build.pk}/..%2F..%2F..%2Fetc%2Fpasswd",
                    f"/builds/{build.pk}/%2Fetc%2Fpasswd", "/downloads/-1/",
                    "/downloads/..%2Fmanifest.json/", f"/proof/{build.pk}/page-..%2F1.png",
                    "/brand/?logo=/etc/passwd"):
            assert editor.get(url).status_code in (200, 404), url
        opened = list(_OPENED)
    finally:
        _OPENED = None
    allowed = [Path(portal_env.DATA).resolve(), ROOT.resolve(), Path(sys.prefix).resolve(),
               Path(sys.base_prefix).resolve(), Path("/usr"), Path("/etc/ssl")]
    outside = {path for path, _mode in opened
               if not any(Path(os.path.realpath(path)).is_relative_to(root)
                          for root in allowed)}
    assert outside == set(), outside
    written = {path for path, mode in opened if set(mode) & set("wax+")}
    assert written and all(Path(os.path.realpath(p)).is_relative_to(
        Path(portal_env.DATA).resolve()) for p in written), written
    brand, problems = brands.load(site.a)
    assert problems == [] and brand.logo.file.name == "logo.svg"
    assert not any("evil" in path for path, _mode in opened)


def test_the_engine_speaks_the_readers_language_only_during_the_request(site) -> None:
    """The rest of this process (the other tests, a CLI run) keeps its own language."""
    from guidepress import i18n

    assert i18n.language() == "en"  # GUIDEPRESS_LANG of the test run
    editor = client("a-editor")
    values = {**form_values(editor), "primary": "#12"}
    page = editor.post("/brand/contrast/", values).content.decode()
    assert "n’est pas une couleur" in page and "texte courant" not in page
    values["primary"] = "#1F4E79"
    assert "texte courant" in editor.post("/brand/contrast/", values).content.decode()
    assert i18n.language() == "en"


def test_page_titles_name_the_establishment_with_french_articles(site) -> None:
    """ "Charte de la Clinique…", "Kit d’impression de l’Hôpital…", not "de Clinique…". """
    tilleuls, bois_joli = client("a-editor"), client("b-editor")
    assert "<h1>Charte de la Clinique des Tilleuls</h1>" in tilleuls.get("/brand/").content.decode()
    assert ("<h1>Kit d’impression de l’Hôpital du Bois-Joli</h1>"
            in bois_joli.get("/kit/").content.decode())
    tilleuls.cookies.load({"django_language": "en"})
    english = tilleuls.get("/brand/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "<h1>Brand of Clinique des Tilleuls</h1>" in english
