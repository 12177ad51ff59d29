"""The guide says what its source says (issue 10, points 1 to 7), and statistics are dated
from one `today` given by the caller (issue 17, points 2 and 9).

Most tests read the text of the built booklets, posters and web pages of both demo brands.
"""

from __future__ import annotations

import datetime
import html
import inspect
import re
from pathlib import Path

import pdfplumber
import pytest
import weasyprint

from conftest import BRANDS, ROOT, TODAY, edit
from guidepress import cli, kit, models, preflight, render, validate
from guidepress.problems import InputErrors
from pdfs import page_texts

EDITIONS = [(brand, lang) for brand in BRANDS for lang in ("fr", "en")]
GUIDE = "reseaux-sociaux"
FR_03 = f"content/{GUIDE}/fr/sections/03-idees-recues.yaml"
FR_GUIDE = f"content/{GUIDE}/fr/guide.yaml"


def flat(text: str) -> str:
    """Text with every run of spaces (no-break ones too) and line breaks made one space.

    A word hyphenated at a line end is joined again ("manage-|ment" -> "management"); a
    word whose own hyphen fell there loses it ("rendez-|vous" -> "rendezvous"), which
    `has` allows for.
    """
    return " ".join(re.sub(r"-[ \t]*\n", "", text).split())


def has(text: str, phrase: str) -> bool:
    return phrase in text or phrase.replace("-", "") in text


def booklet(built: Path, brand: str, lang: str) -> str:
    return flat(" ".join(page_texts(built / brand / GUIDE / lang / "guide-screen.pdf")))


def poster(built: Path, brand: str, lang: str, poster_id: str) -> str:
    return flat(" ".join(page_texts(built / brand / GUIDE / lang /
                                    f"poster-{poster_id}-screen.pdf")))


def web(built: Path, brand: str, lang: str) -> str:
    page = (built / brand / GUIDE / lang / "web/index.html").read_text(encoding="utf-8")
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return flat(html.unescape(re.sub(r"<[^>]+>", " ", page)))


def edition_texts(built: Path, brand: str, lang: str) -> dict[str, str]:
    """Every text a reader of one edition sees: booklet, each poster, web page."""
    texts = {"booklet": booklet(built, brand, lang), "web": web(built, brand, lang)}
    for path in sorted((built / brand / GUIDE / lang).glob("poster-*-screen.pdf")):
        texts[path.name] = flat(" ".join(page_texts(path)))
    return texts


def between(text: str, start: str, end: str) -> str:
    assert start in text, start
    tail = text[text.index(start):]
    return tail[:tail.index(end)] if end in tail else tail


def problems(project: Path, lang: str = "fr") -> list[str]:
    with pytest.raises(InputErrors) as caught:
        kit.prepare(kit.Project(project), ["default"], [lang])
    return [str(error) for error in caught.value.errors]


# --- 1. "It's my private life!" is true, with the caveat --------------------------------

VERDICTS = {
    "fr": ("« C’est ma vie privée ! »", "« Tenir un blog", "vrai", "faux",
           "oui, c’est bien votre vie", "machine à café"),
    "en": ("“It’s my private life!”", "“Writing a blog", "true", "false",
           "yes, it is your life", "coffee machine"),
}


@pytest.mark.parametrize("brand, lang", EDITIONS)
def test_private_life_item_is_true_with_its_caveat(built: Path, brand: str, lang: str) -> None:
    claim, next_claim, verdict, wrong, answer, caveat = VERDICTS[lang]
    for where in (booklet(built, brand, lang), web(built, brand, lang)):
        item = between(where, claim, next_claim).casefold()
        words = re.findall(r"\w+", item)
        assert verdict in words and wrong not in words, item
        assert has(item, answer) and has(item, caveat)


# --- 2. SocialBakers is cited by the survey's own title ------------------------------------

@pytest.mark.parametrize("brand, lang", EDITIONS)
def test_socialbakers_figures_cite_the_survey_by_its_title(built: Path, brand: str,
                                                           lang: str) -> None:
    labels = validate.load_guide(ROOT, lang, None, GUIDE).labels
    title = f"{labels.quote_open}Enquête de fréquentation Facebook{labels.quote_close}"
    period = "février 2012" if lang == "fr" else "February 2012"
    cited = flat(f"SocialBakers, {title}, {period}")
    for where in (booklet(built, brand, lang), web(built, brand, lang)):
        assert where.count(cited) == 3
        assert "Audience de Facebook" not in where


# --- 3. Examples, not "real-life stories"; no invented attribution ------------------------

@pytest.mark.parametrize("brand, lang", EDITIONS)
def test_stories_are_labelled_as_examples_without_invented_names(built: Path, brand: str,
                                                                 lang: str) -> None:
    guide = validate.load_guide(ROOT, lang, None, GUIDE)
    quotes = [block for section in guide.sections for block in section.blocks
              if block.type == "quote"]
    assert all(quote.attribution is None for quote in quotes)
    label = "Exemple" if lang == "fr" else "Example"
    assert guide.labels.story == label
    for name, text in edition_texts(built, brand, lang).items():
        assert "Histoire vécue" not in text and "Real-life story" not in text, name
        assert "Claire" not in text, name
    text = booklet(built, brand, lang)
    assert text.upper().count(f"{label.upper()} ·") == len(quotes) == 8


@pytest.mark.parametrize("brand, lang", EDITIONS)
def test_student_story_keeps_the_sources_meaning(built: Path, brand: str, lang: str) -> None:
    text = booklet(built, brand, lang)
    if lang == "fr":
        story = between(text, "Une infirmière vient d’arriver", "Bien utilisé")
        assert has(story, "ceux qui ont déjà travaillé dans ce service")
        assert "camarades" not in story
    else:
        story = between(text, "A nurse has just joined", "Used well")
        assert has(story, "people who have already worked on that ward")
        assert "classmates" not in story


# --- 4. Restored from the source: the favour, trainees, the credit line -----------------

@pytest.mark.parametrize("brand, lang", EDITIONS)
def test_favour_request_example_and_trainees_are_restored(built: Path, brand: str,
                                                          lang: str) -> None:
    for text in (booklet(built, brand, lang), web(built, brand, lang)):
        if lang == "fr":
            favour = between(text, "Un passe-droit demandé sur Facebook", "C’est aussi une")
            assert has(favour, "le message d’un ami d’ami") and has(favour, "à l’hôpital")
            assert has(favour, "obtenir un rendez-vous plus tôt, sans attendre son tour")
            assert has(favour, "on peut aussi me demander des faveurs")
            assert has(text, "professionnels, étudiants, stagiaires, patients")
        else:
            favour = between(text, "A favour asked on Facebook", "It is also a real")
            assert has(favour, "message from a friend of a friend")
            assert has(favour, "get an appointment sooner, without waiting his turn")
            assert has(favour, "people may also use it to ask me for favours")
            assert has(text, "staff, students, trainees, patients")


CREDITS = {
    "fr": ["Ce guide est adapté de « Bonnes pratiques des réseaux sociaux » (2012).",
           "Éditeur : Fondation d’entreprise MACSF.",
           "En partenariat avec : CHU de Bordeaux, Centre hospitalier de Pontoise."],
    "en": ["This guide is adapted from “Bonnes pratiques des réseaux sociaux” (2012).",
           "Publisher: Fondation d’entreprise MACSF (the MACSF corporate foundation).",
           "In partnership with: CHU de Bordeaux (Bordeaux University Hospital), Centre "
           "hospitalier de Pontoise (Pontoise General Hospital)."],
}


def test_guide_source_is_typed_metadata() -> None:
    meta = validate.load_guide(ROOT, "fr", None, GUIDE).meta
    assert isinstance(meta.source, models.GuideSource)
    assert (meta.source.title, meta.source.publisher, meta.source.year) == (
        "Bonnes pratiques des réseaux sociaux", "Fondation d’entreprise MACSF", 2012)
    assert meta.source.partners == ["CHU de Bordeaux", "Centre hospitalier de Pontoise"]


@pytest.mark.parametrize("brand, lang", EDITIONS)
def test_credit_line_is_in_the_colophon_at_the_foot_of_page_two(built: Path, brand: str,
                                                                lang: str) -> None:
    for profile in ("print", "screen"):
        with pdfplumber.open(built / brand / GUIDE / lang / f"guide-{profile}.pdf") as document:
            page = document.pages[1]
            lower_half = page.crop((page.bbox[0], (page.bbox[1] + page.bbox[3]) / 2,
                                    page.bbox[2], page.bbox[3]))
            foot = flat(lower_half.extract_text())
        for line in CREDITS[lang]:
            assert flat(line) in foot, (profile, foot)
    assert all(flat(line) in web(built, brand, lang) for line in CREDITS[lang])


def test_guide_source_errors_name_file_line_and_key(scratch_project: Path) -> None:
    edit(scratch_project / FR_GUIDE, "  year: 2012\n", "")
    edit(scratch_project / FR_GUIDE, "  partners:", "  partner:")
    found = problems(scratch_project)
    assert f"{FR_GUIDE}:7: source.year: this key is required but missing" in found
    assert (f'{FR_GUIDE}:10: source.partner: unknown key; did you mean "partners"?'
            in found)


# --- 5. Medical and professional secrecy; every six months --------------------------------

@pytest.mark.parametrize("brand, lang", EDITIONS)
def test_secret_poster_names_medical_and_professional_secrecy(built: Path, brand: str,
                                                             lang: str) -> None:
    words = ("secret médical et professionnel" if lang == "fr"
             else "medical and professional confidentiality")
    assert words in poster(built, brand, lang, "secret").casefold()
    assert words in booklet(built, brand, lang).casefold()


@pytest.mark.parametrize("brand, lang", EDITIONS)
def test_privacy_settings_change_every_six_months_not_about(built: Path, brand: str,
                                                            lang: str) -> None:
    every, vague = (("tous les 6 mois", "environ") if lang == "fr"
                    else ("every six months", "about every"))
    for text in (booklet(built, brand, lang), poster(built, brand, lang, "confidentialite")):
        assert every in text and vague not in text


# --- 6. The English edition's vocabulary and hyphenation --------------------------------

ENGLISH_FIXES = [
    ("establishment", "the word for a hospital in English is “hospital”"),
    ("Social networks are changing how we relate", "unfinished phrase"),
    ("carers", "means unpaid family carers in British English"),
    ("Not even without a name", "awkward double negative"),
    ("professional secrecy", "the English term is confidentiality"),
    ("general management", "the English term is senior management"),
    ("The right reflex", "a gallicism"),
]


@pytest.mark.parametrize("brand", BRANDS)
def test_english_edition_uses_the_corrected_vocabulary(built: Path, brand: str) -> None:
    texts = edition_texts(built, brand, "en")
    for name, text in texts.items():
        for wrong, why in ENGLISH_FIXES:
            assert wrong.casefold() not in text.casefold(), f"{name}: {wrong!r} ({why})"
    for text in (texts["booklet"], texts["web"]):
        assert has(text, "Social networks are changing our relationships")
        assert has(text, "hospital staff are no exception")
        assert has(text, "I respect medical and professional confidentiality at all times.")
        assert has(text, "communications or senior management")


BAD_BREAKS = re.compile(r"\b(relat|spectat|visit|contract|famil|statist|opportun)-$")


@pytest.mark.parametrize("brand", BRANDS)
def test_english_booklet_has_no_odd_hyphenation(built: Path, brand: str) -> None:
    with pdfplumber.open(built / brand / GUIDE / "en" / "guide-screen.pdf") as document:
        ends = [line.rstrip() for page in document.pages
                for line in (page.extract_text() or "").splitlines()]
    assert [line for line in ends if BAD_BREAKS.search(line)] == []
    assert any(line.endswith("-") for line in ends), "hyphenation is still on"


def test_english_hyphenation_keeps_four_letters_on_the_next_line(tmp_path: Path) -> None:
    """Lay out words that the British patterns split badly at many widths."""
    brand = validate.load_brand(ROOT, "default")
    css = (ROOT / "templates/css/common.css").read_text(encoding="utf-8")
    words = "relative spectators visitors contractors families statistics opportunity"
    paragraphs = "".join(f'<p style="width: {width}mm; hyphens: auto">{words} {words}</p>'
                         for width in range(22, 70, 2))
    page = (f'<html lang="en"><style>{render.brand_stylesheet(brand, render.Profile("screen"))}'
            f"{css} p {{ font-size: 10pt; margin: 0 0 4mm; }}</style>{paragraphs}</html>")
    weasyprint.HTML(string=page, base_url=str(ROOT)).write_pdf(tmp_path / "words.pdf")
    with pdfplumber.open(tmp_path / "words.pdf") as document:
        ends = [line.rstrip() for p in document.pages
                for line in (p.extract_text() or "").splitlines()]
    assert [line for line in ends if BAD_BREAKS.search(line)] == []
    breaks = {line.split()[-1] for line in ends if line.endswith("-")}
    assert {"rel-", "spec-"} & breaks, breaks  # the good breaks remain


# --- 7. A figure's review date, and one `today` from the caller ---------------------------

def test_demo_statistics_are_dated_with_their_review() -> None:
    for lang, dating in (("fr", "chiffre de 2012, revu en novembre 2026"),
                         ("en", "figure from 2012, reviewed in November 2026")):
        guide = validate.load_guide(ROOT, lang, None, GUIDE)
        report = preflight.Report("default")
        preflight.check_statistics(guide, report, 5, TODAY)
        assert report.findings == []
        assert [age.dating for age in report.statistics] == [dating] * 6  # five in sections, one on the "tous-en-ligne" poster
        assert report.statistics[0].figure == "48 %" and report.statistics[0].age == 0


@pytest.mark.parametrize("today, warned, years", [
    (datetime.date(2031, 11, 30), 0, 5),   # five years after the review: still within
    (datetime.date(2032, 10, 31), 0, 5),   # 5 years 11 months
    (datetime.date(2032, 11, 1), 6, 6),    # six full years (five statistics and a poster's)
])
def test_age_counts_from_the_review_month(today: datetime.date, warned: int,
                                          years: int) -> None:
    guide = validate.load_guide(ROOT, "fr", None, GUIDE)
    report = preflight.Report("default")
    preflight.check_statistics(guide, report, 5, today)
    assert len(report.findings) == warned
    assert {age.age for age in report.statistics} == {years}


def test_unreviewed_and_future_reviews(scratch_project: Path) -> None:
    path = scratch_project / FR_03
    edit(path, '          reviewed: "2026-11"\n', "")  # the first figure: never reviewed
    edit(path, 'reviewed: "2026-11"', 'reviewed: "2027-03"')  # the next one: not yet
    guide = validate.load_guide(scratch_project, "fr", None, GUIDE)
    report = preflight.Report("default")
    preflight.check_statistics(guide, report, 5, TODAY)
    assert [str(f) for f in report.findings] == [
        f'WARNING content/{GUIDE}/fr section "idees-recues" blocks (1st).statistics (1st): 48 % '
        "(TNS-Sofres, chiffre de 2012) was dated 14 years ago (limit 5); update the figure, or "
        "check it still holds and write the month of that check in `reviewed:`",
        f'WARNING content/{GUIDE}/fr section "idees-recues" blocks (2nd).statistics (1st): 35 % '
        "(SocialBakers, chiffre de 2012, revu en mars 2027): the review date is after today; "
        "check `reviewed:`"]


@pytest.mark.parametrize("value, message", [
    ('"2026-13"', '"2026-13" is not a year and month; write it like "2026-11" (the year, a '
                  "dash, then the month)"),
    ('"novembre 2026"', '"novembre 2026" is not a year and month; write it like "2026-11" '
                        "(the year, a dash, then the month)"),
    ('"2026-11-15"', '"2026-11-15" is not a year and month; write it like "2026-11" (the '
                     "year, a dash, then the month)"),
    ('"2010-05"', "the review (2010-05) is before the figure itself (2012); check both dates"),
])
def test_bad_review_dates_are_named_by_file_line_and_key(scratch_project: Path, value: str,
                                                         message: str) -> None:
    edit(scratch_project / FR_03, 'reviewed: "2026-11"', f"reviewed: {value}")
    assert problems(scratch_project) == [
        f"{FR_03}:20: blocks (1st).statistics (1st).source.reviewed: {message}"]


def test_poster_statistics_are_checked_for_age(scratch_project: Path) -> None:
    edit(scratch_project / f"content/{GUIDE}/fr/posters.yaml", "show_contacts: false",
         'show_contacts: false\n    statistic:\n      value: "38"\n      unit: "%"\n'
         '      label: "des Français ont un smartphone"\n      source:\n'
         '        name: "IPSOS"\n        year: 2012')
    guide = validate.load_guide(scratch_project, "fr", None, GUIDE)
    report = preflight.Report("default")
    preflight.check_statistics(guide, report, 5, TODAY)
    assert [str(f) for f in report.findings] == [
        f'WARNING content/{GUIDE}/fr poster "stade" statistic: 38 % (IPSOS, chiffre de 2012) was '
        "dated 14 years ago (limit 5); update the figure, or check it still holds and write the "
        "month of that check in `reviewed:`"]
    assert report.checked[0].startswith(f"7 statistics in {GUIDE}/fr")


def test_today_is_a_required_input_of_the_build() -> None:
    for function in (kit.build, kit.brand_reports, kit.preflight_existing):
        parameter = inspect.signature(function).parameters["today"]
        assert parameter.default is inspect.Parameter.empty, function.__name__
    # Only the command line reads the clock.
    readers = sorted(path.name for path in (ROOT / "guidepress").glob("*.py")
                     if "date.today()" in path.read_text(encoding="utf-8"))
    assert readers == ["cli.py"]


def test_command_line_passes_its_date_to_the_preflight(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    for today, warnings in (("2031-10-01", 0), ("2032-12-01", 6)):
        code = cli.main(["check", "--brand", "default", "--output", str(tmp_path),
                         "--today", today])
        out = capsys.readouterr().out
        assert code == 0
        assert out.startswith(f"Preflight of default: 0 errors, {2 * warnings} warnings")
    assert "was reviewed 6 years ago (limit 5)" in out


def test_bad_today_on_the_command_line_is_a_usage_error(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["check", "--today", "le 1er mai"])
    assert stopped.value.code == 2
    assert 'argument --today: "le 1er mai" is not a date like 2026-11-29' in capsys.readouterr().err


@pytest.mark.parametrize("brand", BRANDS)
def test_proof_sheet_dates_every_figure(built: Path, brand: str) -> None:
    text = flat(" ".join(page_texts(built / brand / "proof.pdf")))
    assert text.count("chiffre de 2012, revu en novembre 2026") == 6
    assert text.count("figure from 2012, reviewed in November 2026") == 6
    assert "0 erreur(s) · 0 avertissement(s)" in text
