"""The portal's pages. Every establishment page reads the establishment from the logged-in
user, never from the URL; a build, a page of a proof or a file is looked up by its id
within that establishment, so another establishment's ids give 404."""

from __future__ import annotations

import json
import tempfile
import zipfile
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from guidepress import validate
from guidepress.problems import InputErrors

from portal.core import brands, forms, jobs, security
from portal.core.language import engine_speaking, of_request
from portal.core.models import Approval, AuditEntry, Build, Establishment, GuideVersion

FILE_USES = [  # (how a file name ends, what it is for)
    ("guide-print.pdf", gettext_lazy("For the print shop: A5 booklet, PDF/X-4, CMYK, bleed and crop marks.")),
    ("guide-screen.pdf", gettext_lazy("For the intranet and e-mail: accessible (tagged) PDF with live links.")),
    ("guide-office.pdf", gettext_lazy("For the office printer: print double-sided, flip on the short edge, "
                           "fold and staple.")),
    ("-screen.pdf", gettext_lazy("A3 poster for screens and the intranet.")),
    (".pdf", gettext_lazy("A3 poster for the print shop (bleed and crop marks).")),
    ("web/index.html", gettext_lazy("The guide as a web page for the intranet (one self-contained file).")),
]
KIT_FILES = {"proof.pdf": gettext_lazy("Proof sheet: every document with its checks, and the "
                            "“bon à tirer” box."),
             "preflight.txt": gettext_lazy("What the checks found, file by file."),
             "index.html": gettext_lazy("The library page: every file with a thumbnail."),
             "manifest.json": gettext_lazy("Technical list of the files and their fingerprints.")}


def establishment_member(view):  # noqa: ANN001, ANN201 - a Django view decorator
    """Log in required, and an establishment: pages of nobody's establishment are 404."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        member = getattr(request.user, "member", None)
        if member is None or member.establishment is None:
            raise Http404
        return view(request, member.establishment, *args, **kwargs)

    return wrapped


def _need(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(f"core.{permission}"):
        raise PermissionDenied


def audit(request: HttpRequest, establishment: Establishment | None, action: str,
          detail: str = "") -> None:
    AuditEntry.objects.create(establishment=establishment, user=request.user, action=action,
                              detail=detail)


def _current_versions() -> dict[str, int]:
    return {guide: version.number for guide, version in brands.latest_versions().items()}


def active_approval(establishment: Establishment) -> Approval | None:
    """The approval still valid: same brand folder and same guide versions as now."""
    approval = establishment.approvals.filter(withdrawn_at=None).first()
    if approval is None:
        return None
    if (approval.brand_digest != brands.brand_digest(establishment)
            or approval.guide_versions != _current_versions()):
        return None
    return approval


def withdraw(request: HttpRequest, establishment: Establishment, because: str) -> None:
    for approval in establishment.approvals.filter(withdrawn_at=None):
        approval.withdrawn_at = timezone.now()
        approval.withdrawn_because = because
        approval.save(update_fields=["withdrawn_at", "withdrawn_because"])
        audit(request, establishment, "approval withdrawn", because)


def start_build(request: HttpRequest, establishment: Establishment, kind: str,
                draft: bool = True) -> Build | None:
    """Record a build and send it to the queue, within the establishment's rate limit."""
    if security.builds_left(establishment) <= 0:
        messages.error(request, _("Too many builds in the last minutes; wait a little and try "
                                  "again."))
        return None
    build = Build.objects.create(establishment=establishment, kind=kind, draft=draft,
                                 lang=of_request(request),
                                 brand_digest=brands.brand_digest(establishment),
                                 guide_versions=_current_versions(),
                                 requested_by=request.user)
    jobs.submit(build)
    return build


def _latest(establishment: Establishment, kind: str, done: bool = False) -> Build | None:
    builds = establishment.builds.filter(kind=kind)
    if done:
        builds = builds.filter(status=Build.DONE)
    return builds.first()


# --- pages ---------------------------------------------------------------------------

@login_required
def home(request: HttpRequest) -> HttpResponse:
    member = getattr(request.user, "member", None)
    if member is not None and member.establishment is not None:
        return redirect("kit")
    if request.user.has_perm("core.publish_guide"):
        return redirect("central")
    raise Http404


@establishment_member
def kit_page(request: HttpRequest, establishment: Establishment) -> HttpResponse:
    kit_build = _latest(establishment, Build.KIT)
    done = _latest(establishment, Build.KIT, done=True)
    versions = _current_versions()
    out_of_date = done is not None and done.guide_versions != versions
    brand_changed = done is not None and done.brand_digest != brands.brand_digest(establishment)
    return render(request, "portal/kit.html", {
        "establishment": establishment, "kit_build": kit_build, "done": done,
        "approval": active_approval(establishment), "out_of_date": out_of_date,
        "brand_changed": brand_changed, "preview": _latest(establishment, Build.PREVIEW),
        "versions": versions, "new_guides": sorted(set(versions) - set(done.guide_versions))
        if done else [], "audit": establishment.audit.all()[:8]})


@establishment_member
@require_http_methods(["GET", "POST"])
def brand_page(request: HttpRequest, establishment: Establishment) -> HttpResponse:
    guides = sorted(_current_versions())
    current = brands.raw(establishment)
    if request.method == "POST":
        _need(request, "edit_brand")
        form = forms.BrandForm(request.POST, request.FILES, current=current, guides=guides)
        if form.is_valid():
            change = form.change()
            with jobs.locked(establishment), engine_speaking(of_request(request)):
                errors = brands.check_and_save(establishment, change)
                if errors:  # the engine's words are made here, in the reader's language
                    form.add_engine_errors(errors, establishment.slug)
            if not errors:
                withdraw(request, establishment, _("the brand was changed"))
                audit(request, establishment, "brand saved",
                      f"brand folder {brands.brand_digest(establishment)[:12]}")
                build = start_build(request, establishment, Build.PREVIEW)
                messages.success(request, _("Brand saved. The preview is being redrawn."))
                url = reverse("brand")
                return redirect(f"{url}?preview={build.pk}" if build else url)
        status = 200 if form.is_valid() and not form.errors else 400
    else:
        form = forms.BrandForm(current=current, guides=guides)
        status = 200
    preview = _latest(establishment, Build.PREVIEW)
    with engine_speaking(of_request(request)):
        contrast = _contrast_context(form.initial if not form.is_bound else form.data)
    return render(request, "portal/brand.html", {
        "establishment": establishment, "form": form, "preview": preview,
        "can_edit": request.user.has_perm("core.edit_brand"), "contrast": contrast},
        status=status)


def _contrast_context(values) -> dict:  # noqa: ANN001 - a dict or a QueryDict
    colours = {key: str(values.get(key) or "") for key in forms.COLOUR_KEYS}
    rows, errors = forms.contrast_rows(colours)
    ticket = forms.load_printer(str(values.get("printer") or "default"))
    swatches = []
    if ticket is not None and not errors:
        from guidepress import render as engine_render  # the one conversion of print
        from PIL import ImageColor

        for key in ("primary", "accent", "tint"):
            value = colours[key] or rows[0]["paper"]
            cmyk = engine_render.cmyk_channels(ImageColor.getrgb(value)[:3],
                                               ticket.icc_profile)
            swatches.append({"key": key, "label": forms.COLOUR_LABELS[key], "rgb": value,
                             "cmyk": [round(channel * 100 / 255) for channel in cmyk],
                             "proof": _soft_proof(cmyk, ticket.icc_profile)})
    return {"rows": rows, "errors": errors, "swatches": swatches,
            "low": [row for row in rows if not row["ok"]]}


def _soft_proof(cmyk: tuple[int, ...], icc_profile: Path) -> str:
    """How the printed ink looks on screen: CMYK back to sRGB through the same profile."""
    from PIL import Image, ImageCms

    transform = ImageCms.buildTransform(ImageCms.getOpenProfile(str(icc_profile)),
                                        ImageCms.createProfile("sRGB"), "CMYK", "RGB")
    pixel = ImageCms.applyTransform(Image.new("CMYK", (1, 1), tuple(cmyk)), transform)
    return "#{:02X}{:02X}{:02X}".format(*pixel.getpixel((0, 0))[:3])


@establishment_member
@require_POST
def contrast(request: HttpRequest, establishment: Establishment) -> HttpResponse:
    """The live contrast check (htmx): every pair the templates draw, and CMYK swatches."""
    with engine_speaking(of_request(request)):
        context = _contrast_context(request.POST)
    return render(request, "portal/_contrast.html", {"contrast": context})


@establishment_member
@require_GET
def build_status(request: HttpRequest, establishment: Establishment, build_id: int
                 ) -> HttpResponse:
    build = get_object_or_404(Build, pk=build_id, establishment=establishment)
    folder = jobs.previews_folder(build)
    return render(request, "portal/_build.html", {
        "build": build, "has_poster": (folder / "poster.png").is_file(),
        "has_cover": (folder / "cover.png").is_file(),
        "problems": build.problems.splitlines()})


@establishment_member
@require_GET
def build_image(request: HttpRequest, establishment: Establishment, build_id: int,
                which: str) -> HttpResponse:
    build = get_object_or_404(Build, pk=build_id, establishment=establishment)
    names = {"poster": "poster.png", "cover": "cover.png"}
    if which not in names:
        raise Http404
    return _file(jobs.previews_folder(build) / names[which], "image/png")


@establishment_member
@require_POST
def preview(request: HttpRequest, establishment: Establishment) -> HttpResponse:
    _need(request, "edit_brand")
    build = start_build(request, establishment, Build.PREVIEW)
    url = reverse("brand")
    return redirect(f"{url}?preview={build.pk}" if build else url)


@establishment_member
@require_POST
def rebuild(request: HttpRequest, establishment: Establishment) -> HttpResponse:
    """Build the kit: a draft, unless the current approval still holds."""
    if not (request.user.has_perm("core.edit_brand")
            or request.user.has_perm("core.approve_kit")):
        raise PermissionDenied
    draft = active_approval(establishment) is None
    if start_build(request, establishment, Build.KIT, draft=draft):
        audit(request, establishment, "kit build requested", "draft" if draft else "final")
    return redirect("kit")


@establishment_member
@require_GET
def proof_page(request: HttpRequest, establishment: Establishment) -> HttpResponse:
    build = _latest(establishment, Build.KIT, done=True)
    pages = []
    if build is not None:
        folder = jobs.previews_folder(build)
        pages = sorted((int(p.stem.split("-")[1]) for p in folder.glob("proof-*.png")))
    approval = active_approval(establishment)
    current = (build is not None and build.brand_digest == brands.brand_digest(establishment)
               and build.guide_versions == _current_versions())
    return render(request, "portal/proof.html", {
        "establishment": establishment, "build": build, "pages": pages, "approval": approval,
        "can_approve": request.user.has_perm("core.approve_kit") and build is not None
        and build.draft and current and approval is None,
        "current": current, "history": establishment.approvals.all()[:10]})


@establishment_member
@require_GET
def proof_image(request: HttpRequest, establishment: Establishment, build_id: int,
                number: int) -> HttpResponse:
    build = get_object_or_404(Build, pk=build_id, establishment=establishment,
                              kind=Build.KIT)
    return _file(jobs.previews_folder(build) / f"proof-{int(number)}.png", "image/png")


@establishment_member
@require_POST
def approve(request: HttpRequest, establishment: Establishment, build_id: int) -> HttpResponse:
    """The bon à tirer of one build: recorded, then the kit is rebuilt without watermark."""
    _need(request, "approve_kit")
    build = get_object_or_404(Build, pk=build_id, establishment=establishment,
                              kind=Build.KIT, status=Build.DONE, draft=True)
    if (build.brand_digest != brands.brand_digest(establishment)
            or build.guide_versions != _current_versions()):
        messages.error(request, _("The brand or a guide changed since this proof was made: "
                                  "build the kit again and approve the new proof."))
        return redirect("proof")
    with transaction.atomic():
        Approval.objects.create(establishment=establishment, build=build,
                                approved_by=request.user, inputs_hash=build.inputs_hash,
                                brand_digest=build.brand_digest,
                                guide_versions=build.guide_versions)
        audit(request, establishment, "kit approved",
              f"build {build.pk}, inputs {build.inputs_hash[:16]}")
    start_build(request, establishment, Build.KIT, draft=False)
    messages.success(request, _("Approved. The kit is being rebuilt without the "
                                "“PROJET — non validé” mark."))
    return redirect("kit")


# --- downloads -----------------------------------------------------------------------

def _published(establishment: Establishment) -> Path:
    return brands.output_folder(establishment) / establishment.slug


def kit_files(establishment: Establishment) -> list[tuple[str, str]]:
    """(name, what it is for) of every published file, from the kit's own manifest."""
    folder = _published(establishment)
    try:
        manifest = json.loads((folder / "manifest.json").read_bytes())
    except (OSError, ValueError):
        return []
    files = []
    for name, entry in sorted(manifest.get("files", {}).items()):
        use = _format_use(name, entry.get("format")) or \
            next((text for end, text in FILE_USES if name.endswith(end)), "")
        files.append((name, str(use)))
    files += [(name, str(use)) for name, use in KIT_FILES.items() if (folder / name).is_file()]
    return files


FORMAT_USES = {  # (output, how the name ends or the format's kind): what it is for
    ("print", ".pdf"): gettext_lazy("{format} for the print shop: PDF/X-4 in CMYK, bleed and "
                                    "crop marks."),
    ("print", "-screen.pdf"): gettext_lazy("{format} for screens and the intranet."),
    ("png", "card"): gettext_lazy("{format}: a picture for the establishment's social-media "
                                  "accounts."),
    ("png", "slide"): gettext_lazy("{format}: a picture for waiting-room screens."),
    ("png", "banner"): gettext_lazy("{format}: a picture for the top of an e-mail or a "
                                    "newsletter."),
}


def _format_use(name: str, form: object) -> str | None:
    """What a file made in a format (formats/<name>.yaml) is for, with the format's name
    in the reader's language; None for other files and the A3 poster."""
    if not isinstance(form, dict) or form.get("name") in (None, "affiche-a3"):
        return None
    label = (form.get("label") or {}).get(get_language()[:2]) or form.get("name")
    if form.get("output") == "png":
        key = ("png", form.get("kind"))
    else:
        key = ("print", "-screen.pdf" if name.endswith("-screen.pdf") else ".pdf")
    use = FORMAT_USES.get(key)
    return str(use).format(format=label) if use is not None else None


@establishment_member
@require_GET
def downloads(request: HttpRequest, establishment: Establishment) -> HttpResponse:
    build = _latest(establishment, Build.KIT, done=True)
    return render(request, "portal/downloads.html", {
        "establishment": establishment, "files": list(enumerate(kit_files(establishment))),
        "build": build, "approval": active_approval(establishment)})


@establishment_member
@require_GET
def download_file(request: HttpRequest, establishment: Establishment, number: int
                  ) -> HttpResponse:
    files = kit_files(establishment)
    if not 0 <= number < len(files):
        raise Http404
    name = files[number][0]  # from the manifest the engine wrote, never from the URL
    path = _published(establishment) / name
    kind = {"pdf": "application/pdf", "html": "text/html", "txt": "text/plain",
            "json": "application/json"}.get(path.suffix[1:], "application/octet-stream")
    response = _file(path, kind, download=True)
    return response


@establishment_member
@require_GET
def download_zip(request: HttpRequest, establishment: Establishment) -> HttpResponse:
    files = kit_files(establishment)
    if not files:
        raise Http404
    folder = _published(establishment)
    spool = tempfile.SpooledTemporaryFile(max_size=20_000_000)
    with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, _use in files:
            archive.write(folder / name, f"{establishment.slug}/{name}")
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=f"{establishment.slug}-kit.zip",
                        content_type="application/zip")


def _file(path: Path, kind: str, download: bool = False) -> HttpResponse:
    if not path.is_file():
        raise Http404
    return FileResponse(path.open("rb"), content_type=kind, as_attachment=download,
                        filename=path.name)


@establishment_member
@require_GET
def audit_page(request: HttpRequest, establishment: Establishment) -> HttpResponse:
    return render(request, "portal/audit.html", {"establishment": establishment,
                                                 "entries": establishment.audit.all()[:200]})


# --- central team --------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def central(request: HttpRequest) -> HttpResponse:
    _need(request, "publish_guide")
    known = validate.list_guides(settings.ROOT)
    problems: list[str] = []
    if request.method == "POST":
        asked = request.POST.get("guide", "")
        guide = next((g for g in known if g == asked), None)  # a name from content/ only
        if guide is None:
            raise Http404
        try:
            with engine_speaking(of_request(request)):
                version = brands.publish_guide(guide, request.user)
        except InputErrors as exc:
            problems = [str(error) for error in exc.errors]
        else:
            audit(request, None, "guide published", str(version))
            for establishment in Establishment.objects.all():
                withdraw(request, establishment,
                         _("new version of the guide %(guide)s") % {"guide": str(version)})
            messages.success(request, _("%(version)s is published. Each establishment sees "
                                        "that its kit is out of date.") % {"version": version})
            return redirect("central")
    latest = brands.latest_versions()
    return render(request, "portal/central.html", {
        "guides": [(guide, latest.get(guide)) for guide in known], "problems": problems,
        "establishments": Establishment.objects.all(),
        "history": GuideVersion.objects.all()[:30]})
