"""Django set up once per test run for the portal's tests: a temporary data folder
(SQLite database, brand folders, outputs), migrated, with two fictional establishments."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

from conftest import free_port

DATA = tempfile.mkdtemp(prefix="guidepress-portal-test-")
REDIS_PORT = free_port()  # test_portal_browser.py starts a redis-server there
os.environ.update({"GUIDEPRESS_PORTAL_DATA": DATA, "PORTAL_ALLOW_DEV_KEY": "1",
                   "PORTAL_INSECURE_HTTP": "1", "PORTAL_JOBS": "inline",
                   "DJANGO_SETTINGS_MODULE": "portal.settings",
                   "PORTAL_REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0"})
os.environ.pop("PORTAL_DEBUG", None)

import django  # noqa: E402

django.setup()

from django.test.utils import setup_test_environment  # noqa: E402

setup_test_environment()  # responses carry their template context

from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402

from portal.core import brands, roles  # noqa: E402
from portal.core.models import Establishment, Member  # noqa: E402

PASSWORD = "a-long-test-password-1"


@dataclass
class Site:
    """The test portal: two establishments, each with an editor and an approver."""

    central: User
    a: Establishment
    b: Establishment


_site: Site | None = None


def user(name: str, group: str, establishment: Establishment | None) -> User:
    made = User.objects.create_user(name, password=PASSWORD)
    made.groups.add(Group.objects.get(name=group))
    Member.objects.create(user=made, establishment=establishment)
    return made


def site() -> Site:
    """Migrate, publish the leaflet guide, and make the establishments (once)."""
    global _site
    if _site is None:
        call_command("migrate", verbosity=0)
        central = user("central", roles.CENTRAL, None)
        brands.publish_guide("photos-videos", central)
        a = Establishment.objects.create(name="Clinique des Tilleuls", slug="clinique-tilleuls")
        b = Establishment.objects.create(name="Hôpital du Bois-Joli", slug="hopital-bois-joli")
        for establishment, prefix in ((a, "a"), (b, "b")):
            brands.ensure_brand(establishment)
            user(f"{prefix}-editor", roles.EDITOR, establishment)
            user(f"{prefix}-approver", roles.APPROVER, establishment)
        _site = Site(central, a, b)
    return _site
