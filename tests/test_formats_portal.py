"""The portal's downloads page says what each format's file is for (issue 16, point 5)."""

from __future__ import annotations

import portal_env  # noqa: F401 - Django set up for the portal's tests
from django.utils import translation

from portal.core import views

CARD = {"name": "carte-carree", "kind": "card", "output": "png",
        "label": {"fr": "Carte carrée pour les réseaux sociaux",
                  "en": "Square social-media card"}}
A2 = {"name": "affiche-a2", "kind": "poster", "output": "print",
      "label": {"fr": "Affiche A2", "en": "A2 poster"}}


def test_each_format_file_says_what_it_is_for_in_the_readers_language() -> None:
    with translation.override("fr"):
        assert views._format_use("photos-videos/fr/carte-carree-accord.png", CARD) == (
            "Carte carrée pour les réseaux sociaux : une image pour les comptes de "
            "l’établissement sur les réseaux sociaux.")
        assert views._format_use("photos-videos/fr/affiche-a2-accord.pdf", A2) == (
            "Affiche A2 pour l’imprimeur : PDF/X-4 en CMJN, fond perdu et traits de coupe.")
        assert views._format_use("photos-videos/fr/affiche-a2-accord-screen.pdf", A2) == (
            "Affiche A2 pour les écrans et l’intranet.")
    with translation.override("en"):
        assert views._format_use("x/diapo-accord.png", {**CARD, "kind": "slide",
                                                        "label": {"en": "Slide"}}) == (
            "Slide: a picture for waiting-room screens.")
    # the A3 poster and the files made in no format keep their fixed descriptions
    assert views._format_use("x/poster-stade.pdf", {**A2, "name": "affiche-a3"}) is None
    assert views._format_use("x/guide-print.pdf", None) is None
