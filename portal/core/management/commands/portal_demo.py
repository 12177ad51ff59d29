"""Create the demo: a central editor, a fictional establishment with its editor and its
approver, and the two guides published. Passwords are random and printed once."""

from __future__ import annotations

import secrets

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand

from portal.core import brands, roles
from portal.core.models import Establishment, GuideVersion, Member

DEMO = "clinique-des-tilleuls"


class Command(BaseCommand):
    help = "Create the demo users and establishment (once), and print their passwords."

    def handle(self, *args, **options) -> None:
        if User.objects.filter(username="central").exists():
            self.stdout.write("The demo users exist already (their passwords were printed "
                              "when they were made; reset one with `python -m portal "
                              "changepassword NAME`).")
            return
        roles.ensure_groups()
        central = self._user("central", roles.CENTRAL, None, staff=True)
        establishment = Establishment.objects.create(name="Clinique des Tilleuls", slug=DEMO)
        self._user("editeur", roles.EDITOR, establishment)
        self._user("approbateur", roles.APPROVER, establishment)
        for guide in ("photos-videos", "reseaux-sociaux"):
            if not GuideVersion.objects.filter(guide=guide).exists():
                brands.publish_guide(guide, central[0])
        brands.ensure_brand(establishment)
        self.stdout.write("Demo accounts (shown once):")
        for name, password in self.made:
            self.stdout.write(f"  {name:<12} {password}")

    made: list[tuple[str, str]]

    def _user(self, name: str, group: str, establishment: Establishment | None,
              staff: bool = False) -> tuple[User, str]:
        password = secrets.token_urlsafe(12)
        user = User.objects.create_user(name, password=password, is_staff=staff)
        user.groups.add(Group.objects.get(name=group))
        Member.objects.create(user=user, establishment=establishment)
        if not hasattr(self, "made"):
            self.made = []
        self.made.append((name, password))
        return user, password
