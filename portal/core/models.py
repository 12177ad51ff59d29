"""What the portal keeps in its database: establishments, who belongs to which, the
published guide versions, builds, approvals and the audit log.

A brand itself is not here: it is a real brand folder (brand.yaml, logo, fonts) under
the portal's data folder, read and checked by the engine (see brands.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import get_language, gettext_lazy as _

from guidepress.scaffold import french_of


class Establishment(models.Model):
    """A hospital that brands and publishes its own kit."""

    name = models.CharField(_("name"), max_length=90)
    # The brand's folder name; set once by the central team, never from a request.
    slug = models.SlugField(_("identifier"), max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("establishment")
        verbose_name_plural = _("establishments")
        permissions = [
            ("edit_brand", "Can edit the brand of their establishment"),
            ("approve_kit", "Can approve (bon à tirer) the kit of their establishment"),
            ("publish_guide", "Can publish a new version of a guide"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def of_name(self) -> str:
        """"of" and the name in the page's language, with French elision and article:
        "de la Clinique des Tilleuls", "du CHU de Saint-Exemple", "of CHU of Saint-Exemple"."""
        if (get_language() or "fr").startswith("fr"):
            return french_of(self.name)
        return f"of {self.name}"


class Member(models.Model):
    """The establishment a user works for (none for the central team)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="member")
    establishment = models.ForeignKey(Establishment, on_delete=models.CASCADE, null=True,
                                      blank=True, related_name="members")

    def __str__(self) -> str:
        return f"{self.user} ({self.establishment or 'central'})"


class GuideVersion(models.Model):
    """A guide of `content/` as the central team published it: a frozen copy, numbered."""

    guide = models.SlugField(max_length=63)
    number = models.PositiveIntegerField()
    digest = models.CharField(max_length=64)  # sha256 of the copied files
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        unique_together = [("guide", "number")]
        ordering = ["guide", "-number"]

    def __str__(self) -> str:
        return f"{self.guide} v{self.number}"


class Build(models.Model):
    """One build asked for by an establishment: a preview (cover and a poster) or its kit."""

    PREVIEW, KIT = "preview", "kit"
    QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
    establishment = models.ForeignKey(Establishment, on_delete=models.CASCADE,
                                      related_name="builds")
    kind = models.CharField(max_length=10, choices=[(PREVIEW, PREVIEW), (KIT, KIT)])
    draft = models.BooleanField(default=True)
    lang = models.CharField(max_length=5, default="fr")  # of the engine's messages
    status = models.CharField(max_length=10, default=QUEUED)
    progress = models.CharField(max_length=200, blank=True)
    problems = models.TextField(blank=True)  # the engine's messages, one a line
    brand_digest = models.CharField(max_length=64)  # the brand folder it was built from
    guide_versions = models.JSONField(default=dict)  # {guide: version number}
    inputs_hash = models.CharField(max_length=64, blank=True)  # of the kit's manifest
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]


class Approval(models.Model):
    """The "bon à tirer": an approver accepted one build of the kit."""

    establishment = models.ForeignKey(Establishment, on_delete=models.CASCADE,
                                      related_name="approvals")
    build = models.ForeignKey(Build, on_delete=models.PROTECT, related_name="approvals")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    approved_at = models.DateTimeField(auto_now_add=True)
    inputs_hash = models.CharField(max_length=64)  # of the approved build
    brand_digest = models.CharField(max_length=64)
    guide_versions = models.JSONField(default=dict)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdrawn_because = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-id"]


ACTIONS = {"brand saved": _("brand saved"), "kit build requested": _("kit build requested"),
           "kit approved": _("kit approved (bon à tirer)"),
           "approval withdrawn": _("approval withdrawn"), "guide published": _("guide published")}


class AuditEntry(models.Model):
    """Who changed or approved what, and when."""

    establishment = models.ForeignKey(Establishment, on_delete=models.CASCADE, null=True,
                                      blank=True, related_name="audit")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True)
    action = models.CharField(max_length=40)
    detail = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action}"

    @property
    def label(self) -> str:
        """The action in the reader's language."""
        return str(ACTIONS.get(self.action, self.action))
