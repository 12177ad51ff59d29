"""A font file with the right first bytes but no readable tables is refused with a message,
at its key, instead of a fontTools traceback (found through the portal's font upload)."""

from __future__ import annotations

from pathlib import Path

from conftest import problems


def test_a_damaged_font_file_is_named_not_a_traceback(scratch_project: Path) -> None:
    brand = scratch_project / "brands/gh-port-lumiere"
    (brand / "fonts/FiraSans-Regular.ttf").write_bytes(b"\0\1\0\0" + b"junk" * 50)
    assert problems(scratch_project, "gh-port-lumiere") == [
        "brands/gh-port-lumiere/brand.yaml:22: fonts.body.files.regular: "
        '"FiraSans-Regular.ttf" is damaged or is not a font: its character table cannot be '
        "read; export the font again or use another file"]
