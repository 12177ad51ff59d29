"""Stage 2, validate: loaded YAML becomes typed models, or every problem is reported.

Pydantic's messages are rewritten here in words an editor understands, located at the
file and line of the offending key.
"""

from __future__ import annotations

import difflib
import io
import types
import typing
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import jinja2
import tinycss2
from fontTools.ttLib import TTFont
from pydantic import BaseModel, ValidationError

from guidepress import models, stylesheets
from guidepress.i18n import N_, _, ngettext
from guidepress.load import (FileRefused, KeyPath, SourceFile, format_key, load_yaml,
                             read_regular_file)
from guidepress.problems import InputError, InputErrors, close_names

MAX_TEMPLATE_BYTES = 1_000_000

M = TypeVar("M", bound=BaseModel)


RESERVED_GUIDE_NAMES = {"labels", "templates", "fr", "en"}


def load_guide_info(project: Path, slug: str) -> models.GuideInfo:
    """Read and validate `content/<slug>/guide.yaml`, and check that every language it
    lists has its folder (and that no folder is left unlisted)."""
    folder = project / "content" / slug
    if not (folder / "guide.yaml").is_file() or slug in RESERVED_GUIDE_NAMES:
        raise InputErrors([InputError(f"content/{slug}", 0, "",
                                      _unknown_guide(slug, list_guides(project)))])
    errors: list[InputError] = []
    source = _read(project, folder / "guide.yaml", errors)
    info = _validate_source(source, models.GuideFile, errors) if source else None
    if info is not None:
        for lang in info.languages:
            if not (folder / lang).is_dir():
                errors.append(source.error(("languages",), _(
                    'the guide "{slug}" is missing in "{lang}": there is no folder '
                    "content/{slug}/{lang}/").format(slug=slug, lang=lang)))
        for path in sorted(folder.glob("*/guide.yaml")):
            lang = path.parent.name
            if lang not in info.languages:
                errors.append(source.error(("languages",), _(
                    'content/{slug}/{lang}/ exists but "{lang}" is not listed under languages')
                    .format(slug=slug, lang=lang)))
        errors += check_format_names(source, ("formats",), info.formats, list_formats(project))
    if errors:
        raise InputErrors(errors)
    return models.GuideInfo.model_construct(**dict(info), slug=slug, folder=folder.resolve())


def list_formats(project: Path) -> list[str]:
    """The names of the formats under formats/ (booklet and web are built in)."""
    return sorted(path.stem for path in (project / "formats").glob("*.yaml"))


def check_format_names(source: SourceFile, key: KeyPath, names: list[str],
                       known: list[str]) -> list[InputError]:
    """Name each format of a guide's or a brand's `formats:` that does not exist."""
    errors = []
    everything = [*models.BUILT_IN_FORMATS, *known]
    for index, name in enumerate(names):
        if name in everything:
            continue
        close = close_names(name, everything)
        message = (_('there is no format "{name}"; did you mean {close}? (the formats are '
                     "booklet, web and the files of formats/)").format(
                         name=name, close=", ".join(f'"{c}"' for c in close))
                   if close else
                   _('there is no format "{name}"; the formats are: {known}').format(
                       name=name, known=", ".join(everything)))
        errors.append(source.error((*key, index), message))
    return errors


def load_format(project: Path, name: str) -> models.Format:
    """Read and validate `formats/<name>.yaml`."""
    errors: list[InputError] = []
    found = _validate_file(project, project / "formats" / f"{name}.yaml", models.FormatFile,
                           errors)
    if errors or found is None:
        raise InputErrors(errors)
    return models.Format.model_construct(**dict(found), name=name)


def load_guide(project: Path, lang: str, brand: models.Brand | None,
               info: models.GuideInfo | str) -> models.Guide:
    """Read and validate one guide in one language, and check the brand's fonts can draw it.

    Without a brand (its file has problems of its own), the fonts are not checked."""
    if isinstance(info, str):
        info = load_guide_info(project, info)
    folder = info.folder / lang
    where = f"content/{info.slug}/{lang}"
    if lang not in info.languages or not folder.is_dir():
        raise InputErrors([InputError(
            f"content/{info.slug}/guide.yaml", 0, "languages",
            _('the guide "{guide}" has no edition in "{lang}" (it is written in: {languages})')
            .format(guide=info.slug, lang=lang, languages=", ".join(info.languages)))])
    errors: list[InputError] = []
    fonts = brand.fonts if brand else None
    meta = _validate_file(project, folder / "guide.yaml", models.GuideMeta, errors, fonts=fonts)
    labels = _validate_file(project, project / "templates" / "labels" / f"{lang}.yaml",
                            models.Labels, errors, fonts=fonts)
    poster_set, posters_source = None, None
    if info.poster_formats:
        posters_source = _read(project, folder / "posters.yaml", errors)
        poster_set = (_validate_source(posters_source, models.PosterSet, errors, fonts=fonts)
                      if posters_source else None)
    section_files = sorted((folder / "sections").glob("*.yaml"))
    if not section_files:
        errors.append(InputError(f"{where}/sections", 0, "", _("no section file found")))
    sections = [_validate_file(project, path, models.Section, errors, fonts=fonts)
                for path in section_files]
    _check_unique_ids(project, section_files, sections, errors)
    if poster_set is not None:
        _check_unique_poster_ids(posters_source, poster_set, errors)
    if errors:
        raise InputErrors(errors)
    return models.Guide(info=info, lang=lang, meta=meta, sections=sections,
                        posters=poster_set.posters if poster_set else [], labels=labels)


def check_needs(project: Path, brand: models.Brand, info: models.GuideInfo
                ) -> list[InputError]:
    """Name every value a guide needs that the brand gives neither for it nor by default."""
    settings = brand.settings_for(info.slug)
    missing = []
    if not (settings.contacts or brand.contacts):
        missing.append(("contacts", _("contacts (for {whom})").format(whom=info.contacts_for),
                        "contacts"))
    if info.intranet_for and not (settings.intranet_url or brand.intranet_url):
        missing.append(("intranet_url", _("an intranet page (for {what})").format(
            what=info.intranet_for), "intranet_url"))
    if not missing:
        return []
    display = f"brands/{brand.slug}/brand.yaml"
    source = load_yaml(brand.folder / "brand.yaml", display)  # only to say where
    return [source.error(("guides", info.slug, key),
                         _('the guide "{guide}" needs {what} and this brand gives none; add '
                           "guides.{guide}.{key}, or {default} for every guide").format(
                             guide=info.slug, what=what, key=key, default=default))
            for key, what, default in missing]


def enabled_guides(project: Path, brand: models.Brand) -> list[str]:
    """The guides a brand publishes: those under its `guides:`, or every guide."""
    return list(brand.guides) if brand.guides else list_guides(project)


def load_brand(project: Path, slug: str, langs: list[str] | None = None) -> models.Brand:
    """Read and validate `brands/<slug>/brand.yaml`, its files, colours and templates.

    `langs` are the languages asked for on the command line; each must be one the brand
    is made in.
    """
    folder = project / "brands" / slug
    if not folder.is_dir():
        known = ", ".join(list_brands(project)) or _("none")
        raise InputErrors([InputError(f"brands/{slug}", 0, "",
                                      _("there is no brand '{slug}' (known brands: {known})")
                                      .format(slug=slug, known=known))])
    errors: list[InputError] = []
    source = _read(project, folder / "brand.yaml", errors)
    brand_file = (_validate_source(source, models.BrandFile, errors,
                                   context={"brand_dir": folder}) if source else None)
    if brand_file is not None:
        _check_characters(source, brand_file.fonts, errors)
        _check_features(source, brand_file.fonts, errors)
        known = list_guides(project)
        for guide in brand_file.guides or {}:
            if guide not in known:
                errors.append(source.error(("guides", guide), _unknown_guide(guide, known)))
        _check_languages(source, brand_file, langs or [], errors)
        if "formats" in source.data:  # the default names formats that exist
            errors += check_format_names(source, ("formats",), brand_file.formats,
                                         list_formats(project))
        _check_contrast(source, brand_file.colours, errors)
        families = [face.family for face in brand_file.fonts.families]
        errors += check_brand_templates(project, folder / "templates", families)
        for path, found in stylesheets.check_brand_css(folder / "templates").items():
            display = path.relative_to(project).as_posix()
            errors += [InputError(display, problem.line, "", problem.message)
                       for problem in found]
    if errors:
        raise InputErrors(errors)
    return models.Brand.model_construct(**dict(brand_file), slug=slug, folder=folder.resolve())


def _unknown_guide(guide: str, known: list[str]) -> str:
    close = difflib.get_close_matches(guide, known, n=1, cutoff=0.6)
    if close:
        return _('there is no guide "{guide}" under content/; did you mean "{close}"?').format(
            guide=guide, close=close[0])
    return _('there is no guide "{guide}" under content/ (known guides: {known})').format(
        guide=guide, known=", ".join(known) or _("none"))


def _check_languages(source: SourceFile, brand: models.BrandFile, asked: list[str],
                     errors: list[InputError]) -> None:
    """Every text exists in each language the brand builds, and each language asked for
    is one the brand builds."""
    made_in = ", ".join(brand.languages)
    for key_path, texts in models.language_maps(brand):
        missing = [lang for lang in brand.languages if lang not in texts]
        if missing:
            errors.append(source.error(key_path, _("the text in {missing} is missing (the brand "
                                                   "builds {languages})").format(
                                                       missing=", ".join(missing),
                                                       languages=made_in)))
    for lang in asked:
        if lang not in brand.languages:
            errors.append(source.error(("languages",), _(
                '"{lang}" was asked for (--lang {lang}), but this brand is made in '
                '{languages} only; add "{lang}" to languages, with the brand\'s texts in that '
                "language").format(lang=lang, languages=made_in)))


def _check_contrast(source: SourceFile, colours: models.Colours,
                    errors: list[InputError]) -> None:
    """Refuse colour pairs too close to be read (WCAG AA), at the line of the colour."""
    written = source.data.get("colours") or {}
    for pair in colours.low_contrast():
        fg, bg = pair.foreground, pair.background
        ink, paper = getattr(colours, fg), getattr(colours, bg)
        if fg in written or bg not in written:
            key, pair_text = fg, _("{ink} on colours.{key} ({paper})").format(
                ink=ink, key=bg, paper=paper)
        else:
            key, pair_text = bg, _("colours.{key} ({ink}) on {paper}").format(
                key=fg, ink=ink, paper=paper)
        errors.append(source.error(
            ("colours", key),
            _("{pair} has a contrast of {ratio}:1, below the {needed}:1 needed (WCAG AA) for "
              "{use}; make one of the two darker or lighter").format(
                  pair=pair_text, ratio=f"{pair.ratio:.2f}", needed=f"{pair.needed:g}",
                  use=_(pair.use))))


def check_brand_templates(project: Path, folder: Path, families: list[str]
                          ) -> list[InputError]:
    """Read every file of a brand's `templates/`: each must be a plain file of bounded size,
    templates must parse, and stylesheets may name only the brand's own fonts."""
    if not folder.is_dir():
        return []
    errors: list[InputError] = []
    for path in sorted(folder.rglob("*")):
        display = path.relative_to(project).as_posix()
        if path.is_dir():
            if not path.resolve().is_relative_to(folder.resolve()):  # a linked folder
                errors.append(InputError(display, 0, "", _("this folder is a link to something "
                                                           "outside the brand's templates; put "
                                                           "the files themselves here")))
            continue
        try:
            data = read_regular_file(path, MAX_TEMPLATE_BYTES, _("this file"), folder=folder)
            text = data.decode("utf-8") if path.suffix in (".css", ".j2") else ""
        except FileRefused as exc:
            errors.append(InputError(display, 0, "", str(exc)))
            continue
        except UnicodeDecodeError:
            errors.append(InputError(display, 0, "", _("this file is not saved as UTF-8 text; "
                                                       "save it again with the UTF-8 encoding")))
            continue
        if path.suffix == ".css":
            errors += _check_stylesheet_fonts(display, text, families)
        elif path.suffix == ".j2":
            errors += _check_template_syntax(display, text)
    return errors


def _check_template_syntax(display: str, text: str) -> list[InputError]:
    try:
        jinja2.Environment().parse(text)
    except jinja2.TemplateSyntaxError as exc:
        return [InputError(display, exc.lineno, "", _("template syntax error: {reason}").format(
            reason=exc.message))]
    return []


_GENERIC_FAMILIES = {"serif", "sans-serif", "monospace", "cursive", "fantasy", "system-ui",
                     "ui-serif", "ui-sans-serif", "ui-monospace", "ui-rounded", "math", "emoji",
                     "fangsong"}
_CSS_WIDE = {"inherit", "initial", "unset", "revert", "revert-layer"}
_FONT_SIZE_WORDS = {"xx-small", "x-small", "small", "medium", "large", "x-large", "xx-large",
                    "xxx-large", "smaller", "larger"}


def _check_stylesheet_fonts(display: str, text: str, families: list[str]) -> list[InputError]:
    """Name every font a brand stylesheet asks for that the brand did not declare.

    Such a font is not embedded: the text would come out in a system font. A generic
    family (`sans-serif`) is allowed only as a fallback after a declared one.
    """
    declared = {family.casefold() for family in families}
    errors = []
    for declaration in _declarations(tinycss2.parse_stylesheet(text, skip_comments=True,
                                                                skip_whitespace=True)):
        names = _font_families(declaration)
        for position, name in enumerate(names):
            folded = (name or "").casefold()
            if name is None or folded in declared or (folded in _GENERIC_FAMILIES
                                                      and position > 0):
                continue
            errors.append(InputError(
                display, declaration.source_line, "",
                _('{property}: the font "{name}" is not one of the brand\'s fonts ({fonts}); '
                  "declare it under fonts in brand.yaml, or write var(--gp-body-font) or "
                  "var(--gp-heading-font)").format(property=declaration.lower_name, name=name,
                                                   fonts=", ".join(families))))
    return errors


def _declarations(nodes: list[Any]) -> Iterator[Any]:
    """Every declaration of a stylesheet, inside rules and at-rules (@media, @page…)."""
    for node in nodes:
        if node.type == "declaration":
            yield node
        elif node.type in ("qualified-rule", "at-rule") and node.content is not None:
            if node.type == "at-rule" and node.lower_at_keyword == "font-face":
                continue  # names a font, does not use one
            yield from _declarations(tinycss2.parse_blocks_contents(
                node.content, skip_comments=True, skip_whitespace=True))


def _font_families(declaration: Any) -> list[str | None]:
    """The family names of a `font-family` or `font` declaration; None for a `var()`."""
    if declaration.lower_name not in ("font-family", "font"):
        return []
    tokens = [t for t in declaration.value if t.type not in ("whitespace", "comment")]
    if declaration.lower_name == "font":
        sizes = [i for i, t in enumerate(tokens) if t.type in ("dimension", "percentage")
                 or (t.type == "ident" and t.lower_value in _FONT_SIZE_WORDS)]
        if not sizes:
            return []  # `font: inherit`, a system font keyword, or only var()
        start = sizes[0] + 1
        if start < len(tokens) and tokens[start].type == "literal" and tokens[start].value == "/":
            start += 2  # the line height
        tokens = tokens[start:]
    names: list[str | None] = []
    words: list[str] = []
    variable = False
    for token in [*tokens, None]:
        if token is None or (token.type == "literal" and token.value == ","):
            if variable or words:
                names.append(None if variable else " ".join(words))
            words, variable = [], False
        elif token.type == "function":
            variable = True  # var(--gp-body-font): one of the brand's fonts
        elif token.type == "string":
            words.append(token.value)
        elif token.type == "ident" and token.lower_value not in _CSS_WIDE:
            words.append(token.value)
    return names


def compare_editions(guides: list[models.Guide]) -> list[InputError]:
    """Name every section, block or poster that one language has and another lacks."""
    errors: list[InputError] = []
    for other in guides[1:]:
        reference = guides[0]
        errors += _missing_items(reference, other, "sections",
                                 lambda guide: [section.id for section in guide.sections])
        errors += _missing_items(reference, other, "posters.yaml",
                                 lambda guide: [poster.id for poster in guide.posters])
        twins = {section.id: section for section in other.sections}
        for section in reference.sections:
            if section.id not in twins:
                continue
            mine = [block.type for block in section.blocks]
            theirs = [block.type for block in twins[section.id].blocks]
            if mine != theirs:
                errors.append(InputError(
                    f"{_where(other)}/sections", 0, "",
                    _('the section "{id}" does not have the same blocks as in {folder}: '
                      "{theirs} instead of {mine}").format(id=section.id,
                                                           folder=_where(reference),
                                                           theirs=", ".join(theirs),
                                                           mine=", ".join(mine))))
    return errors


def _missing_items(first: models.Guide, second: models.Guide, where: str,
                   ids: typing.Callable[[models.Guide], list[str]]) -> list[InputError]:
    errors = []
    for having, lacking in ((first, second), (second, first)):
        for missing in sorted(set(ids(having)) - set(ids(lacking))):
            message = (_('the section "{id}" of {folder} is missing in this language')
                       if where == "sections" else
                       _('the poster "{id}" of {folder} is missing in this language'))
            errors.append(InputError(f"{_where(lacking)}/{where}", 0, "",
                                     message.format(id=missing, folder=_where(having))))
    return errors


def _where(guide: models.Guide) -> str:
    return f"content/{guide.info.slug}/{guide.lang}"


def load_printer(project: Path, name: str) -> models.PrinterTicket:
    """Read and validate the printer ticket `printers/<name>.yaml`."""
    path = project / "printers" / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in (project / "printers").glob("*.yaml"))) \
            or _("none")
        raise InputErrors([InputError(f"printers/{name}.yaml", 0, "",
                                      _("there is no printer ticket '{name}' (known: {known})")
                                      .format(name=name, known=known))])
    errors: list[InputError] = []
    ticket = _validate_file(project, path, models.PrinterTicket, errors,
                            context={"printers_dir": project / "printers"})
    if errors:
        raise InputErrors(errors)
    return ticket


def list_guides(project: Path) -> list[str]:
    """Return the slugs of every guide folder under content/ that holds a guide.yaml."""
    return sorted(p.parent.name for p in (project / "content").glob("*/guide.yaml")
                  if p.parent.name not in RESERVED_GUIDE_NAMES)


def list_brands(project: Path) -> list[str]:
    """Return the slugs of every brand folder that holds a brand.yaml."""
    return sorted(p.parent.name for p in (project / "brands").glob("*/brand.yaml"))


def _validate_file(project: Path, path: Path, model: type[M], errors: list[InputError],
                   context: dict[str, Any] | None = None,
                   fonts: models.Fonts | None = None) -> M | None:
    source = _read(project, path, errors)
    if source is None:
        return None
    return _validate_source(source, model, errors, context, fonts)


def _read(project: Path, path: Path, errors: list[InputError]) -> SourceFile | None:
    try:
        source = load_yaml(path, path.relative_to(project).as_posix())
    except InputErrors as exc:
        errors.extend(exc.errors)
        return None
    errors.extend(source.problems)
    return source


def _validate_source(source: SourceFile, model: type[M], errors: list[InputError],
                     context: dict[str, Any] | None = None,
                     fonts: models.Fonts | None = None) -> M | None:
    if not isinstance(source.data, dict):
        errors.append(InputError(source.display, 1, "", _(
            'this file should contain keys and values (like `title: "…"`), but it is empty '
            "or a list")))
        return None
    try:
        validated = model.model_validate(source.data, context=context)
    except ValidationError as exc:
        errors.extend(_explain(source, model, error) for error in exc.errors())
        return None
    if fonts is not None:
        _check_characters(source, fonts, errors)
    return validated


def font_characters(path: Path) -> frozenset[int]:
    """Return the code points a font file can draw."""
    return _font_characters(path.read_bytes())


@lru_cache(maxsize=8)  # keyed by the font's bytes, never by its name: a changed file is seen
def _font_characters(data: bytes) -> frozenset[int]:
    with TTFont(io.BytesIO(data), lazy=True) as font:
        return frozenset(font.getBestCmap())


def font_features(path: Path) -> frozenset[str]:
    """The OpenType feature tags (GSUB and GPOS) a font file offers."""
    return _font_features(path.read_bytes())


@lru_cache(maxsize=8)  # keyed by the font's bytes, like _font_characters
def _font_features(data: bytes) -> frozenset[str]:
    with TTFont(io.BytesIO(data), lazy=True) as font:
        return frozenset(record.FeatureTag for table in ("GSUB", "GPOS") if table in font
                         and font[table].table.FeatureList
                         for record in font[table].table.FeatureList.FeatureRecord)


def _check_features(source: SourceFile, fonts: models.Fonts, errors: list[InputError]) -> None:
    """Name every OpenType feature a brand turns on that its font does not have."""
    for role in ("body", "heading"):
        face = getattr(fonts, role)
        offered = font_features(face.files.regular) if face and face.features else frozenset()
        for index, tag in enumerate(face.features if face else []):
            if tag not in offered:
                listed = ", ".join(sorted(offered)) or _("none")
                errors.append(source.error(
                    ("fonts", role, "features", index),
                    _('the font "{family}" has no OpenType feature "{tag}" (it has: {listed}); '
                      "remove it, or choose a font that has it").format(
                          family=face.family, tag=tag, listed=listed)))


def _check_characters(source: SourceFile, fonts: models.Fonts, errors: list[InputError]) -> None:
    """Name every character that one of the brand's fonts cannot draw."""
    drawable = frozenset.intersection(*(font_characters(face.files.regular)
                                        for face in fonts.families))
    names = " / ".join(dict.fromkeys(face.family for face in fonts.families))
    for key_path, text in _strings(source.data, ()):
        for char in sorted({c for c in text if ord(c) not in drawable and c not in "\n\r\t"}):
            errors.append(source.error(key_path, _(
                'the character "{char}" ({code}) is not in the brand\'s font {font}; replace it'
            ).format(char=char, code=f"U+{ord(char):04X}", font=names)))


def _strings(data: Any, key_path: KeyPath) -> Iterator[tuple[KeyPath, str]]:
    if isinstance(data, str):
        yield key_path, data
    elif isinstance(data, dict):
        for key, value in data.items():
            yield from _strings(value, (*key_path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _strings(value, (*key_path, index))


def _check_unique_ids(project: Path, files: list[Path], sections: list[Any],
                      errors: list[InputError]) -> None:
    seen: dict[str, Path] = {}
    for path, section in zip(files, sections, strict=True):
        if section is None:
            continue
        if section.id in seen:
            first = seen[section.id].relative_to(project).as_posix()
            errors.append(InputError(path.relative_to(project).as_posix(), 1, "id",
                                     _('"{id}" is already the id of {file}').format(
                                         id=section.id, file=first)))
        seen.setdefault(section.id, path)


def _check_unique_poster_ids(source: SourceFile, poster_set: models.PosterSet,
                             errors: list[InputError]) -> None:
    seen: set[str] = set()
    for index, poster in enumerate(poster_set.posters):
        if poster.id in seen:
            errors.append(source.error(("posters", index, "id"),
                                       _('"{id}" is used by two posters').format(id=poster.id)))
        seen.add(poster.id)


# --- turning pydantic's errors into an editor's words --------------------------------

def _explain(source: SourceFile, model: type[BaseModel], error: dict[str, Any]) -> InputError:
    key_path = _data_path(source.data, error["loc"])
    return InputError(source.display, source.line_of(key_path), format_key(key_path),
                      _message(error, model))


def _data_path(data: Any, loc: tuple[str | int, ...]) -> KeyPath:
    """Keep the parts of pydantic's location that exist in the data (drop union tags)."""
    path: list[str | int] = []
    current = data
    for position, part in enumerate(loc):
        if isinstance(current, dict) and part in current:
            current = current[part]
            path.append(part)
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
            path.append(part)
        elif position == len(loc) - 1 and part != "[key]":  # "[key]": the key itself is wrong
            path.append(part)
    return tuple(path)


def _message(error: dict[str, Any], model: type[BaseModel]) -> str:
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx", {})
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "missing":
        return _("this key is required but missing")
    if kind == "extra_forbidden":
        return _unknown_key_message(model, error["loc"])
    if (value is None and kind.endswith("_type")) or kind == "string_too_short":
        return _("is empty; write a value after the colon")
    if kind in ("string_too_long", "too_long") and isinstance(value, str):
        return _("is too long ({length} characters, at most {limit}); shorten it").format(
            length=len(value), limit=ctx["max_length"])
    if kind == "string_pattern_mismatch":
        hint = models.PATTERN_HINTS.get(ctx.get("pattern"), N_("it is not in the expected form"))
        return _('"{value}" is not valid: {hint}').format(value=value, hint=_(hint))
    if kind.startswith("int_"):
        return _('"{value}" should be a whole number').format(value=value)
    if kind.startswith("float_"):
        return _('"{value}" should be a number').format(value=value)
    if kind.startswith("bool_"):
        return _('"{value}" should be true or false').format(value=value)
    if kind in ("greater_than_equal", "less_than_equal"):
        bound = ctx.get("ge", ctx.get("le"))
        message = (_('"{value}" is out of range (it should be at least {bound})')
                   if kind == "greater_than_equal" else
                   _('"{value}" is out of range (it should be at most {bound})'))
        return message.format(value=value, bound=bound)
    if kind == "literal_error" and error["loc"][-1] == "[key]":
        return _('"{value}" is not allowed as a key here; use one of: {allowed}').format(
            value=value, allowed=ctx["expected"])
    if kind == "literal_error":
        return _('"{value}" is not allowed here; use one of: {allowed}').format(
            value=value, allowed=ctx["expected"])
    if kind == "union_tag_invalid":
        return _('"{tag}" is not a known block type; use one of: {types}').format(
            tag=ctx.get("tag"), types=", ".join(models.BLOCK_TYPES))
    if kind == "union_tag_not_found":
        return _("this block has no `type`; add one of: {types}").format(
            types=", ".join(models.BLOCK_TYPES))
    if kind == "list_type":
        return _('should be a list (one item per line, each starting with "- ")')
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return _("should be a group of keys, each on its own indented line")
    if kind == "string_type":
        return _("should be text; put it in double quotes")
    if kind == "too_short":
        count = ctx.get("min_length", 1)
        return ngettext("needs at least {count} item", "needs at least {count} items",
                        count).format(count=count)
    if kind == "too_long":
        return _("has too many items (at most {limit})").format(limit=ctx.get("max_length"))
    return error["msg"]


def _unknown_key_message(model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    known = _known_keys(model, loc[:-1])
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    if close:
        return _('unknown key; did you mean "{key}"?').format(key=close[0])
    if known:
        return _("unknown key; the keys allowed here are: {keys}").format(keys=", ".join(known))
    return _("unknown key")


def _known_keys(model: type[BaseModel], loc: tuple[str | int, ...]) -> list[str]:
    """Walk the model classes along `loc` and list the keys allowed at its end."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(part, int):
            args = typing.get_args(current)
            current = args[0] if args else None
            continue
        options = _union_members(current)
        if options and len(options) > 1:
            current = next((m for m in options if _type_tag(m) == part), None)
            if current is not None:
                continue
            return []
        if isinstance(current, type) and issubclass(current, BaseModel) \
                and part in current.model_fields:
            current = current.model_fields[part].annotation
        else:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    while True:
        if typing.get_origin(annotation) is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        members = [m for m in _union_members(annotation) if m is not type(None)]
        if len(members) == 1:
            annotation = members[0]
            continue
        return annotation


def _union_members(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return tuple(_unwrap(m) if typing.get_origin(m) is typing.Annotated else m
                     for m in typing.get_args(annotation))
    return ()


def _type_tag(model: Any) -> str | None:
    if isinstance(model, type) and issubclass(model, BaseModel) and "type" in model.model_fields:
        args = typing.get_args(model.model_fields["type"].annotation)
        return args[0] if args else None
    return None
