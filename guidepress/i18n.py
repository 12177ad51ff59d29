"""The interface language: every sentence a user reads goes through `_` or `ngettext`.

Messages are written in English in the code (the msgid) and translated in the gettext
catalogues `guidepress/locale/<lang>/LC_MESSAGES/guidepress.po`, extracted with
`pybabel extract` and compiled to `.mo` by `scripts/setup.sh` (`pybabel compile`).

The language is chosen once per run by `set_language` (from `--ui-lang`, then
`GUIDEPRESS_LANG`, then the locale, else French). When a `.mo` is missing or older than
its `.po` (a fresh clone, an edited catalogue), the `.po` is compiled in memory with Babel,
so a run never speaks with stale or missing words.
"""

from __future__ import annotations

import gettext
import io
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LANGUAGES = ("fr", "en")
DEFAULT = "fr"
DOMAIN = "guidepress"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


class CatalogueMissing(RuntimeError):
    """The message catalogue of a language cannot be found: the installation is broken."""


def choose(flag: str | None, environ: dict[str, str] | None = None) -> str:
    """The interface language: the flag, then GUIDEPRESS_LANG, then the locale, then French."""
    env = os.environ if environ is None else environ
    candidates = [flag, env.get("GUIDEPRESS_LANG"),
                  env.get("LC_ALL"), env.get("LC_MESSAGES"), env.get("LANG")]
    for value in candidates:
        # "fr_FR.UTF-8" -> "fr"; a language we do not speak ("de", "C") passes to the next.
        code = (value or "").split(".")[0].split("_")[0].split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return DEFAULT


def load(lang: str) -> gettext.NullTranslations:
    """Read the compiled catalogue of `lang`, compiling its .po in memory when needed."""
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as stream:
            return gettext.GNUTranslations(stream)
    if not po.is_file():
        raise CatalogueMissing(f"the message catalogue {po} is missing; run: make setup")
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as stream:
        catalogue = read_po(stream, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


class _State:
    """The language of this run; set by `set_language` at the start of each command."""

    lang = DEFAULT
    translations: gettext.NullTranslations | None = None
    # A thread's own language for a while (`speaking`): the portal serves readers of
    # several languages at once, each request in its thread.
    thread = threading.local()


def set_language(lang: str) -> None:
    """Speak `lang` from now on in this run (forked workers inherit it)."""
    _State.lang = lang
    _State.translations = load(lang)


@contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Speak `lang` in this thread inside the block (and in workers it forks), whatever
    other threads speak; the run's language is untouched."""
    previous = getattr(_State.thread, "spoken", None)
    _State.thread.spoken = (lang, load(lang))
    try:
        yield
    finally:
        _State.thread.spoken = previous


def language() -> str:
    """The interface language of this thread: its block's, else the run's."""
    spoken = getattr(_State.thread, "spoken", None)
    return spoken[0] if spoken else _State.lang


def _current() -> gettext.NullTranslations:
    spoken = getattr(_State.thread, "spoken", None)
    if spoken:
        return spoken[1]
    if _State.translations is None:
        # Library use without the command line: pick the language the same way, once.
        set_language(choose(None))
    assert _State.translations is not None
    return _State.translations


def _(message: str) -> str:
    """Translate `message` (its English text) into the interface language."""
    return _current().gettext(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """Translate a message whose wording depends on `count`."""
    return _current().ngettext(singular, plural, count)


# Lists whose French noun is feminine: their first item is "1re", not "1er".
_FEMININE = {"sections", "statistics", "lines", "questions", "answers", "sources", "cards",
             "steps", "pages", "stories", "languages", "fonts", "files"}


def ordinal(position: int, list_key: str = "") -> str:
    """`2e`, `1re` / `2nd`: a list position counted from one, as people count.

    `position` counts from zero, as the data does; `list_key` (the list's key in the
    file) chooses the French gender of "first".
    """
    number = position + 1
    if _State.lang == "fr":
        if number == 1:
            return "1re" if list_key in _FEMININE else "1er"
        return f"{number}e"
    if 10 <= number % 100 <= 20:
        return f"{number}th"
    return f"{number}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th')}"


def language_names(codes: list[str]) -> str:
    """Languages named in the interface language: "anglais, allemand" / "English, German"."""
    import babel  # not at the top: `build.py` must start (and explain) without the packages

    names = []
    for code in codes:
        try:
            names.append(babel.Locale.parse(code).get_display_name(language()) or code)
        except (ValueError, babel.UnknownLocaleError):
            names.append(code)
    return ", ".join(names)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a message for extraction where it is defined; `_` translates it where shown."""
    return message


def pgettext(context: str, message: str) -> str:
    """Translate a short message whose translation depends on where it is shown."""
    return _current().pgettext(context, message)
