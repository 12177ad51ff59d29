"""The interface speaks French (and English): catalogues, plain YAML errors, no traceback."""

from __future__ import annotations

import errno
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from conftest import edit
from guidepress import cli, i18n, kit, load, scaffold

LOCALE = Path(i18n.__file__).parent / "locale"
ROOT = Path(__file__).resolve().parent.parent
BRAND = "brands/default/brand.yaml"
PLACEHOLDER = re.compile(r"\{[a-z_]*\}|%\([a-z_]+\)[rs]|%[rs]")


@pytest.fixture(autouse=True)
def english_after() -> None:
    yield
    i18n.set_language("en")  # the other test files check the English wording


def catalogue(lang: str):  # noqa: ANN201 - babel Catalog
    with (LOCALE / lang / "LC_MESSAGES/guidepress.po").open("rb") as stream:
        return read_po(stream, locale=lang)


def test_every_message_is_translated_in_both_languages_with_the_same_placeholders() -> None:
    with (LOCALE / "guidepress.pot").open("rb") as stream:
        template = read_po(stream)
    ids = [m.id for m in template if m.id]
    assert len(ids) > 70
    for lang in i18n.LANGUAGES:
        translated = {m.id: m for m in catalogue(lang) if m.id}
        for msgid in ids:
            entry = translated.get(msgid)
            assert entry is not None, f"{lang} lacks {msgid!r}"
            sources = msgid if isinstance(msgid, tuple) else (msgid,)
            strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
            assert all(strings) and "fuzzy" not in entry.flags, f"{lang}: {msgid!r}"
            wanted = set(PLACEHOLDER.findall(sources[-1]))
            for text in strings:
                assert set(PLACEHOLDER.findall(text)) == wanted, f"{lang}: {text!r}"
                assert text.endswith("\n") == sources[-1].endswith("\n"), f"{lang}: {text!r}"


def test_the_template_holds_every_message_of_the_code(tmp_path: Path) -> None:
    pot = tmp_path / "fresh.pot"
    subprocess.run([Path(sys.executable).parent / "pybabel", "extract", "-F", "babel.cfg",
                    "-k", "_", "-k", "N_", "-k", "ngettext:1,2", "-k", "pgettext:1c,2", "--no-location", "-o", pot, "."],
                   cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as fresh, (LOCALE / "guidepress.pot").open("rb") as kept:
        assert {m.id for m in read_po(fresh)} == {m.id for m in read_po(kept)}


def test_language_follows_flag_then_environment_then_locale_then_french() -> None:
    assert i18n.choose("en", {"GUIDEPRESS_LANG": "fr"}) == "en"
    assert i18n.choose(None, {"GUIDEPRESS_LANG": "en", "LANG": "fr_FR.UTF-8"}) == "en"
    assert i18n.choose(None, {"LC_ALL": "en_GB.UTF-8", "LANG": "fr_FR.UTF-8"}) == "en"
    assert i18n.choose(None, {"LANG": "en_US.UTF-8"}) == "en"
    assert i18n.choose(None, {"LANG": "C.UTF-8"}) == "fr"
    assert i18n.choose(None, {"GUIDEPRESS_LANG": "de", "LANG": "en_US"}) == "en"
    assert i18n.choose(None, {}) == "fr"


def test_a_missing_compiled_catalogue_is_compiled_from_the_po(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(LOCALE, tmp_path / "locale", ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path / "locale")
    assert i18n.load("fr").gettext("this file") == "ce fichier"
    (tmp_path / "locale/fr/LC_MESSAGES/guidepress.po").unlink()
    with pytest.raises(i18n.CatalogueMissing, match="run: make setup"):
        i18n.load("fr")


def test_list_positions_are_ordinals_counted_from_one() -> None:
    i18n.set_language("fr")
    assert load.format_key(("contacts", 1, "phone")) == "contacts (2e).phone"
    assert load.format_key(("sections", 0, "blocks", 0, "text")) == \
        "sections (1re).blocks (1er).text"
    i18n.set_language("en")
    assert load.format_key(("contacts", 1, "phone")) == "contacts (2nd).phone"
    assert load.format_key(("posters", 10, "id")) == "posters (11th).id"


def check(project: Path, lang: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(["check", "--ui-lang", lang, "--project", str(project)])
    return code, capsys.readouterr().err


# The README's table of common mistakes: each row is checked here, word for word.
MISTAKES = [
    ('  on_primary: "#FFFFFF"', ' on_primary: "#FFFFFF"',
     f"{BRAND}:11: la ligne 11 est décalée : alignez-la sur la ligne 10\n"
     '    11 |  on_primary: "#FFFFFF"\n'
     "       |  ^"),
    ('  - role:\n      fr: "Direction générale', '   - role:\n      fr: "Direction générale',
     f"{BRAND}:30: la ligne 30 est décalée : alignez-la sur la ligne 22\n"
     "    30 |    - role:\n"
     "       |    ^"),
    ('short_name: "CH du Val-Fleuri"', "short_name: CH: Val-Fleuri",
     f"{BRAND}:3: deux-points suivis d’une espace au milieu d’une valeur : mettez toute la "
     'valeur entre guillemets droits (")\n'
     "    3 | short_name: CH: Val-Fleuri\n"
     "      |               ^"),
    ('short_name: "CH du Val-Fleuri"', 'short_name: "CH du Val-Fleuri',
     f"{BRAND}:3: le guillemet ouvert ligne 3 n’est jamais refermé : ajoutez le guillemet "
     "fermant\n"
     '    3 | short_name: "CH du Val-Fleuri\n'
     "      |             ^"),
    ('short_name: "CH du Val-Fleuri"', 'short_name: "CH du" Val-Fleuri',
     f"{BRAND}:3: du texte suit le guillemet fermant : mettez toute la valeur entre les "
     "guillemets\n"
     '    3 | short_name: "CH du" Val-Fleuri\n'
     "      |                     ^"),
    ('    phone: "01 99 00 12 34"', '\tphone: "01 99 00 12 34"',
     f"{BRAND}:25: cette ligne est décalée avec une tabulation : YAML demande des espaces\n"
     '    25 |  phone: "01 99 00 12 34"\n'
     "       | ^"),
    ('printer: "default"', 'printer "default"',
     f"{BRAND}:36: la ligne 36 n’a pas de deux-points après sa clé : écrivez-la sous la "
     "forme clé: valeur\n"
     '    36 | printer "default"\n'
     "       | ^"),
    ('short_name: "CH du Val-Fleuri"', "short_name: @ValFleuri",
     f"{BRAND}:3: une valeur ne peut pas commencer par @ : mettez toute la valeur entre "
     'guillemets droits (")\n'
     "    3 | short_name: @ValFleuri\n"
     "      |             ^"),
    ('short_name: "CH du Val-Fleuri"', 'short_name: "CH du Val-Fleuri"\nshort_name: "CHVF"',
     f"{BRAND}:4: short_name: cette clé apparaît deux fois (la première ligne 3) : n’en "
     "gardez qu’une"),
    ('languages: ["fr", "en"]', 'languages: ["fr", "en"\nprinter2: 1',
     f"{BRAND}:35: le crochet ouvert ligne 35 n’est pas bien refermé : refermez-le, ou "
     'mettez toute la valeur entre guillemets droits (")\n'
     '    35 | languages: ["fr", "en"\n'
     "       |            ^"),
    ('primary: "#1F4E79"', "primary: #1F4E79",
     f"{BRAND}:10: colours.primary: est vide. Une couleur qui commence par # doit être entre "
     'guillemets, comme "#1B4F8A" (sans guillemets, YAML lit # comme un commentaire)'),
    ('phone: "01 99 00 12 00"', 'phone: "appelez-nous"',
     f"{BRAND}:33: contacts (2e).phone: « appelez-nous » n’est pas valable : écrivez un numéro "
     'de téléphone avec des chiffres et des espaces, comme "05 56 00 00 00"'),
    ('file: "logo.svg"', 'file: "logo-2026.svg"',
     f"{BRAND}:5: logo.file: le fichier « logo-2026.svg » est introuvable dans le dossier de la "
     "marque"),
]


@pytest.mark.parametrize(("old", "new", "message"), MISTAKES)
def test_common_mistakes_get_plain_french(scratch_project: Path, capsys: pytest.CaptureFixture[str],
                                          old: str, new: str, message: str) -> None:
    edit(scratch_project / BRAND, old, new)
    code, err = check(scratch_project, "fr", capsys)
    assert code == 2
    assert err == f"1 problème dans les fichiers ; rien n’a été écrit :\n  {message}\n"
    assert "Traceback" not in err


def test_a_broken_brand_in_french_and_in_english(scratch_project: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    edit(scratch_project / BRAND, '  on_primary: "#FFFFFF"', ' on_primary: "#FFFFFF"')
    assert check(scratch_project, "fr", capsys) == (2, (
        "1 problème dans les fichiers ; rien n’a été écrit :\n"
        f"  {BRAND}:11: la ligne 11 est décalée : alignez-la sur la ligne 10\n"
        '    11 |  on_primary: "#FFFFFF"\n       |  ^\n'))
    assert check(scratch_project, "en", capsys) == (2, (
        "1 problem in the input; nothing was written:\n"
        f"  {BRAND}:11: line 11 is out of line: align it with line 10\n"
        '    11 |  on_primary: "#FFFFFF"\n       |  ^\n'))


def test_new_brand_speaks_french_with_elision(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(ROOT / "templates", tmp_path / "templates")
    code = cli.main(["new-brand", "chu-exemple", "--name", "CHU de Saint-Exemple",
                     "--ui-lang", "fr", "--project", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "  3. Vérifiez :   .venv/bin/python build.py check --brand chu-exemple" in out
    text = (tmp_path / "brands/chu-exemple/brand.yaml").read_text(encoding="utf-8")
    assert 'fr: "Logo du CHU de Saint-Exemple"' in text
    assert "# Le nom complet de l'établissement" in text
    assert text.startswith("# Fichier de marque du CHU de Saint-Exemple.\n")
    assert "{" not in text.replace('"{', "")  # every placeholder filled
    assert scaffold.french_of("Hôpital Nord") == "de l’Hôpital Nord"
    assert scaffold.french_of("Clinique des Pins") == "de la Clinique des Pins"
    assert scaffold.french_of("Le Centre de Santé") == "du Centre de Santé"
    assert scaffold.french_of("Les Hospices de Beau-Val") == "des Hospices de Beau-Val"
    cli.main(["new-brand", "ch-en", "--name", "Val Hospital", "--ui-lang", "en",
              "--project", str(tmp_path)])
    assert "Check it:   .venv/bin/python build.py check --brand ch-en" in capsys.readouterr().out
    assert "# The establishment's full name" in (tmp_path / "brands/ch-en/brand.yaml").read_text()


def test_busy_port_is_told_without_traceback(scratch_project: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = cli.main(["watch", "--port", str(port), "--ui-lang", "fr",
                         "--project", str(scratch_project)])
    assert code == 1
    assert capsys.readouterr().err == (
        f"le port {port} est déjà utilisé par un autre programme : choisissez-en un autre, "
        f"par exemple : --port {port + 1}\n")


@pytest.mark.parametrize(("raised", "expected"), [
    (KeyboardInterrupt(), "interrompu : chaque marque pas encore publiée garde ses fichiers "
     "précédents dans {project}/output\n"),
    (OSError(errno.ENOSPC, "No space left on device", "/out/default/fr/guide.pdf"),
     "le disque est plein (écriture de /out/default/fr/guide.pdf) : libérez de la place puis "
     "relancez la même commande\n"),
    (PermissionError(errno.EACCES, "Permission denied", "/out"),
     "impossible d’écrire dans /out : accès refusé ; choisissez un autre dossier avec --output "
     "ou changez ses droits\n"),
])
def test_interruptions_and_system_refusals_are_told_in_words(
        scratch_project: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, raised: BaseException, expected: str) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise raised

    monkeypatch.setattr(kit, "build", refuse)
    code = cli.main(["--ui-lang", "fr", "--project", str(scratch_project)])
    assert code == (130 if isinstance(raised, KeyboardInterrupt) else 1)
    assert capsys.readouterr().err == expected.format(project=scratch_project.resolve())


def test_wrong_interpreter_names_the_command_to_run(tmp_path: Path) -> None:
    """The system Python, without the project's packages, gets a sentence, not a traceback."""
    system = shutil.which("python3", path="/usr/bin:/bin")
    probe = subprocess.run([system, "-c", "import PIL"], capture_output=True)
    if probe.returncode == 0:
        pytest.skip("the system Python has the project's packages")
    run = subprocess.run([system, str(ROOT / "build.py"), "check", "--ui-lang", "fr"],
                         cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert run.stderr.startswith("Ce Python ne contient pas les paquets de guidepress")
    assert run.stderr.endswith("\n  .venv/bin/python build.py check --ui-lang fr\n")


def test_help_is_in_french() -> None:
    i18n.set_language("fr")
    text = cli.parser().format_help()
    assert "Fabrique les kits imprimés aux couleurs d’un établissement." in text
    assert "langue des messages (par défaut : GUIDEPRESS_LANG" in text


def test_watch_page_speaks_the_interface_language(tmp_path: Path) -> None:
    from guidepress.watch import Preview

    i18n.set_language("fr")
    page = Preview(tmp_path).page()
    assert '<html lang="fr">' in page and "<title>aperçu guidepress</title>" in page


def test_the_readme_table_shows_each_tested_message() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for _old, _new, message in MISTAKES:
        assert message.split("\n")[0].replace("|", "\\|") in readme


def test_the_summary_adds_up_in_french(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """25 documents: 9 built, 0 up to date, 16 failed; a brand held back by its preflight
    errors is named apart instead of being counted as failed documents."""
    from guidepress import preflight, progress

    i18n.set_language("fr")
    report = preflight.Report("default", findings=[
        preflight.Finding("error", "default/fr/guide-print.pdf", "x"),
        preflight.Finding("warning", "default/fr/guide-print.pdf", "y"),
        preflight.Finding("warning", "default/fr/guide-print.pdf", "z")])
    outcome = kit.Outcome(built=9, skipped=0, failed=16, targets=25, seconds=12.34,
                          reports={"default": report})
    progress.summary(outcome, tmp_path)
    assert capsys.readouterr().out.splitlines() == [
        "bilan : documents de cette fabrication 25, fabriqués 9, à jour (non refabriqués) 0, "
        "en échec 16, fichiers écrits 0, fichiers supprimés 0, marques non publiées 0, "
        "durée 12.3 s",
        f"vérification default : 1 erreur, 2 avertissements ; voir {tmp_path}/default/preflight.txt"]


def test_preflight_report_and_proof_levels_in_french() -> None:
    from guidepress import preflight

    i18n.set_language("fr")
    report = preflight.Report("default", findings=[preflight.Finding(
        "error", "default/fr/poster-stade.pdf", "9 pages ; une affiche n’en a qu’une")])
    assert report.text().splitlines()[:3] == [
        "Vérification de default : 1 erreur, 0 avertissement", "",
        "ERREUR  default/fr/poster-stade.pdf: 9 pages ; une affiche n’en a qu’une"]
    assert "{{ finding.level_text }}" in (ROOT / "templates/proof.html.j2").read_text()


def test_a_mistyped_option_is_told_in_french(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        cli.main(["--ui-lang", "fr", "--lang", "de"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("utilisation : build.py [-h]")
    assert err.endswith("build.py : erreur : argument --lang : choix impossible : 'de' (choisissez "
                        "parmi 'fr', 'en')\n")


def test_building_a_broken_brand_in_french_and_in_english(
        scratch_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    brand = scratch_project / BRAND
    edit(brand, 'primary: "#1F4E79"', "primary: #1F4E79")
    edit(brand, 'phone: "01 99 00 12 00"', 'phone: "appelez-nous"')
    edit(brand, "  tint:", "  tinte:")
    said = {}
    for lang in ("fr", "en"):
        code = cli.main(["--ui-lang", lang, "--project", str(scratch_project),
                         "--output", str(scratch_project / "out")])
        captured = capsys.readouterr()
        assert (code, captured.out) == (2, "")
        said[lang] = captured.err.splitlines()
    assert said["fr"] == [
        "4 problèmes dans les fichiers ; rien n’a été écrit :",
        f"  {BRAND}:9: colours.tint: cette clé est obligatoire mais manque",
        f"  {BRAND}:10: colours.primary: est vide. Une couleur qui commence par # doit être "
        'entre guillemets, comme "#1B4F8A" (sans guillemets, YAML lit # comme un commentaire)',
        f"  {BRAND}:16: colours.tinte: clé inconnue ; vouliez-vous dire « tint » ?",
        f"  {BRAND}:33: contacts (2e).phone: « appelez-nous » n’est pas valable : écrivez un "
        'numéro de téléphone avec des chiffres et des espaces, comme "05 56 00 00 00"']
    assert said["en"] == [
        "4 problems in the input; nothing was written:",
        f"  {BRAND}:9: colours.tint: this key is required but missing",
        f"  {BRAND}:10: colours.primary: is empty. A colour starting with # must be in quotes, "
        'like "#1B4F8A" (without quotes YAML reads # as a comment)',
        f'  {BRAND}:16: colours.tinte: unknown key; did you mean "tint"?',
        f'  {BRAND}:33: contacts (2nd).phone: "appelez-nous" is not valid: write a phone number '
        'with digits and spaces, like "05 56 00 00 00"']
    assert not (scratch_project / "out").exists()


def test_a_logo_that_is_not_what_its_name_says_in_french(
        scratch_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (scratch_project / "brands/default/logo.png").write_text("pas une image", encoding="utf-8")
    edit(scratch_project / BRAND, 'file: "logo.svg"', 'file: "logo.png"')
    assert check(scratch_project, "fr", capsys) == (2, (
        "1 problème dans les fichiers ; rien n’a été écrit :\n"
        f"  {BRAND}:5: logo.file: « logo.png » n’est pas vraiment un fichier PNG (son contenu "
        "ne correspond pas à son nom)\n"))


def test_two_readers_at_once_each_read_their_own_language() -> None:
    """The portal's threaded server answers a French and an English reader at the same
    time: each request's thread speaks its reader's language, and the run's language is
    left as it was (set_language for the whole process made the last request win)."""
    import threading

    from portal.core.language import engine_speaking

    inside = threading.Barrier(2)
    heard: dict[str, tuple[str, str]] = {}

    def reader(lang: str) -> None:
        with engine_speaking(lang):
            inside.wait(timeout=10)  # both are inside their block now
            heard[lang] = (i18n.language(), i18n._("No problem found."))
            inside.wait(timeout=10)

    threads = [threading.Thread(target=reader, args=(lang,)) for lang in ("fr", "en")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert heard == {"fr": ("fr", "Aucun problème trouvé."), "en": ("en", "No problem found.")}
    assert i18n.language() == "en"  # the tests' own language (conftest), untouched
