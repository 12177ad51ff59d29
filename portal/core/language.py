"""The engine's messages in the reader's language, for one request or one job.

The engine chooses its language once per process (`guidepress.i18n`); the portal sets it
for the time of a request or a job, then gives the process back its own choice.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.http import HttpRequest

from guidepress import i18n


def of_request(request: HttpRequest) -> str:
    """The reader's language if the engine speaks it, else the engine's default."""
    lang = getattr(request, "LANGUAGE_CODE", "")
    return lang if lang in i18n.LANGUAGES else i18n.DEFAULT


@contextmanager
def engine_speaking(lang: str) -> Iterator[None]:
    """Have the engine speak `lang` inside the block."""
    i18n.set_language(lang if lang in i18n.LANGUAGES else i18n.DEFAULT)
    try:
        yield
    finally:
        i18n.set_language(i18n.choose(None))
