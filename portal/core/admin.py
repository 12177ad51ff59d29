"""Django admin for the central team: establishments, members, versions, the audit log."""

from django.contrib import admin

from portal.core.models import Approval, AuditEntry, Build, Establishment, GuideVersion, Member


@admin.register(Establishment)
class EstablishmentAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    prepopulated_fields = {"slug": ("name",)}

    def save_model(self, request, obj, form, change):  # noqa: ANN001, ANN201
        super().save_model(request, obj, form, change)
        from portal.core import brands

        brands.ensure_brand(obj)  # the engine's starting brand folder


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ("user", "establishment")


@admin.register(GuideVersion)
class GuideVersionAdmin(admin.ModelAdmin):
    list_display = ("guide", "number", "published_by", "published_at")
    readonly_fields = ("guide", "number", "digest", "published_by", "published_at")


@admin.register(Build)
class BuildAdmin(admin.ModelAdmin):
    list_display = ("id", "establishment", "kind", "draft", "status", "created_at")
    list_filter = ("establishment", "kind", "status")


@admin.register(Approval)
class ApprovalAdmin(admin.ModelAdmin):
    list_display = ("establishment", "build", "approved_by", "approved_at", "withdrawn_at")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "establishment", "user", "action", "detail")
    list_filter = ("establishment", "action")

    def has_change_permission(self, request, obj=None):  # noqa: ANN001, ANN201
        return False  # the log is not edited

    def has_delete_permission(self, request, obj=None):  # noqa: ANN001, ANN201
        return False
