"""The engine's messages in the reader's language, for one request or one job.

The engine chooses its language once per process (`guidepress.i18n`); the portal has it
speak the reader's language in the request's (or job's) thread only, so that two readers
served at the same time by a threaded server each read their own.
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
    """Have the engine speak `lang` inside the block, in this thread."""
    with i18n.speaking(lang if lang in i18n.LANGUAGES else i18n.DEFAULT):
        yield
