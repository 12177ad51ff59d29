"""The three roles, as Django groups holding the app's permissions."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

CENTRAL, EDITOR, APPROVER = "Central editors", "Establishment editors", "Approvers"
PERMISSIONS = {CENTRAL: ["publish_guide"], EDITOR: ["edit_brand"], APPROVER: ["approve_kit"]}


def ensure_groups(**_: object) -> None:
    """Create the groups and give them their permissions (after each migrate)."""
    for name, codenames in PERMISSIONS.items():
        group, _created = Group.objects.get_or_create(name=name)
        group.permissions.set(Permission.objects.filter(content_type__app_label="core",
                                                        codename__in=codenames))
