"""Small readers of PDF facts shared by the tests."""

from __future__ import annotations

from pathlib import Path

import pdfplumber
from pypdf import PdfReader

MM = 72 / 25.4
A5 = (148 * MM, 210 * MM)
A3 = (297 * MM, 420 * MM)
A4 = (210 * MM, 297 * MM)


def box_size(box) -> tuple[float, float]:
    return float(box.width), float(box.height)


def page_texts(path: Path) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(path).pages]


def chars(path: Path) -> list[list[dict]]:
    with pdfplumber.open(path) as pdf:
        return [page.chars for page in pdf.pages]


def link_uris(path: Path) -> set[str]:
    uris = set()
    for page in PdfReader(path).pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A") or {}
            if "/URI" in action:
                uris.add(str(action["/URI"]))
    return uris
