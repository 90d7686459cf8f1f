"""REFI-QDA export: the codebook and the coded transcripts, for the researchers' QDA tool.

REFI-QDA (https://www.qdasoftware.org) is the exchange standard that NVivo,
ATLAS.ti, MAXQDA and QualCoder import. casecoder writes two files:

- ``codebook.qdc`` (namespace ``urn:QDA-XML:codebook:1.0``): every code of the
  codebook, under its category (a parent code that is not codable itself). The
  standard has one free-text field per code, so the label, the definition in
  English and Chinese, the inclusion and exclusion notes and the examples are
  folded into the code's ``Description``.
- ``project.qdpx``: a zip of ``project.qde`` (``urn:QDA-XML:project:1.0``) and
  ``Sources/<guid>.txt``, one UTF-8 plain-text source per transcript. The
  project holds the coders as users, the codebook, the transcript metadata as
  variables of each source, and one case per case naming its transcripts. Every
  coded segment is a ``PlainTextSelection``; every row of ``coded_quotes.csv``
  is one ``Coding`` of it, whose user is who assigned the code
  (:func:`coder_of`), so a segment with two codes is one quotation with two
  codes in the QDA tool, and each code keeps its own coder.

Positions. The standard counts characters (Unicode code points, as Python's
``str`` does) from the start of the source's plain text. The source text is
``Transcript.text``, the decoded file with line endings normalised to ``\\n``,
which is what the ``start``/``end`` offsets of ``segments.csv`` point into; so
CRLF files, Chinese and emoji need no special care. When pseudonymisation is
on, the source text is pseudonymised piece by piece between segment boundaries
(:meth:`casecoder.privacy.Pseudonymiser.in_pieces`) and the positions move with
it, so every selection still gives back exactly the quote of ``coded_quotes.csv``.
Every quote is checked against its source before anything is written.

Reruns are byte-identical: GUIDs are UUID 5 of stable keys (codebook and code
IDs, transcript IDs, turn, segment and code), no dates are written, and the zip
entries carry one fixed time (:func:`casecoder.export.fixed_time_zip`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from lxml import etree

from casecoder import __version__
from casecoder.codebook import Code, Codebook, load_codebook
from casecoder.errors import InputError
from casecoder.privacy import Pseudonymiser
from casecoder.records import Transcript

CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
PROJECT_NS = "urn:QDA-XML:project:1.0"
PROJECT_ENTRY = "project.qde"
SOURCES_FOLDER = "Sources"
ORIGIN = f"casecoder {__version__}"

#: Users (coders) of the codings: rules, the model (with its version), both, a reviewer.
RULES_USER = "casecoder rules"
MODEL_USER = "casecoder model"
BOTH_USER = "casecoder rules+model"
REVIEWER_USER = "reviewer"

#: Transcript metadata exported as variables of each source, with what they mean.
VARIABLES = {
    "case": "The case (e.g. the county) the interview belongs to.",
    "respondent_role": "The respondent's role (official, township_official, "
                       "principal_volunteer, company_founder, social_worker, other).",
    "language": "Language of the transcript: zh, en or mixed.",
    "date": "Date of the interview.",
    "translation_of": "For a translation: the ID of the transcript it translates.",
}

_GUID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "casecoder:refi-qda")
_DIRECTION_COLOURS = {1: "#2E7D32", 0: "#607D8B", -1: "#C62828"}
_DIRECTION_SIGNS = {1: "+1", 0: "0", -1: "-1"}
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NAME_LENGTH = 60
_QUOTE_COLUMNS = ("transcript_id", "turn", "segment", "start", "end", "text", "code",
                  "source", "confidence", "rule", "model_version")


@dataclass(frozen=True)
class Coding:
    """One code on a selection: a row of coded_quotes.csv."""

    code: str
    coder: str  # the user who assigned the code
    note: str  # how: source, confidence, rule, model version


@dataclass
class Selection:
    """One coded segment of a source, with its codes."""

    start: int  # code points into the source's (pseudonymised) text
    end: int
    key: str  # stable identity (transcript, turn, segment) for the GUIDs
    about: str  # speaker, turn, segment, translation
    codings: list[Coding] = field(default_factory=list)

    @property
    def description(self) -> str:
        return "\n".join([*(c.note for c in self.codings), self.about])


@dataclass
class Source:
    """One transcript as a REFI-QDA text source: its text as exported, variables, codings."""

    transcript_id: str
    text: str
    variables: dict[str, str]
    selections: list[Selection] = field(default_factory=list)

    @property
    def case(self) -> str:
        return self.variables.get("case", "")


def guid(*key: object) -> str:
    """The GUID of a thing, the same for the same key in every run (UUID 5)."""
    return str(uuid.uuid5(_GUID_NAMESPACE, "\x1f".join(str(part) for part in key)))


def code_guid(book: Codebook, code_id: str) -> str:
    return guid("code", book.name, code_id)


def coder_of(source: str, model_version: str, reviewed: bool = False) -> str:
    """The user of a coding: the reviewer for a segment whose codes a researcher set,
    else the part of casecoder that assigned it (``source`` of coded_quotes.csv)."""
    if reviewed:
        return REVIEWER_USER
    name = {"rule": RULES_USER, "model": MODEL_USER, "rule+model": BOTH_USER}.get(source)
    if name is None:
        raise ValueError(f"unknown coding source {source!r}")
    return name if source == "rule" or not model_version else f"{name} {model_version}"


# --------------------------------------------------------------------------- codebook


def code_description(code: Code) -> str:
    """Everything the codebook says about a code, as one text (QDA tools show it as the
    code's memo or description)."""
    lines = [
        f"{code.label.en} / {code.label.zh}",
        f"Category: {code.category}. Direction: {_DIRECTION_SIGNS[code.direction]}.",
        "",
        f"Definition: {_one_line(code.definition.en)}",
        f"定义：{_one_line(code.definition.zh)}",
    ]
    for title, notes in (("Include", code.inclusion), ("Exclude", code.exclusion),
                         ("Examples (en)", code.examples.en), ("Examples (zh)", code.examples.zh)):
        if notes:
            lines += ["", f"{title}:", *(f"- {_one_line(note)}" for note in notes)]
    return "\n".join(lines)


def codebook_document(book: Codebook) -> bytes:
    """``codebook.qdc``: the codebook as a REFI-QDA codebook (urn:QDA-XML:codebook:1.0)."""
    root = etree.Element(f"{{{CODEBOOK_NS}}}CodeBook", nsmap={None: CODEBOOK_NS}, origin=ORIGIN)
    _add_codes(_element(root, "Codes"), book)
    return _serialise(root)


def _add_codes(codes: etree._Element, book: Codebook) -> None:
    """Categories as parent codes (not codable), each with its codes in codebook order."""
    for category in book.categories:
        members = [code for code in book.codes if code.category == category]
        if not members:
            continue
        parent = _element(codes, "Code", guid=guid("category", book.name, category),
                          name=category, isCodable="false")
        _element(parent, "Description", f"Category {category} of the codebook {book.name} "
                                         f"{book.version}.")
        for code in members:
            child = _element(parent, "Code", guid=code_guid(book, code.id), name=code.id,
                             isCodable="true", color=_DIRECTION_COLOURS[code.direction])
            _element(child, "Description", code_description(code))


# --------------------------------------------------------------------------- project


def build_sources(
    transcripts: Sequence[Transcript],
    segments: pd.DataFrame,
    quotes: pd.DataFrame,
    private: Pseudonymiser,
    reviewed: Iterable[str] = (),
    quotes_name: str = "coded_quotes.csv",
) -> list[Source]:
    """The transcripts as sources, each coded segment a selection into the exported text,
    each quote a coding of it.

    ``segments`` and ``quotes`` are the tables of segments.csv and coded_quotes.csv
    (offsets as ints); ``private`` is the run's pseudonymiser; ``reviewed`` holds the text keys (see
    :func:`casecoder.annotations.text_key`) of segments whose codes a researcher
    set. InputError (naming ``quotes_name`` and the row) when a quote is not the
    transcript's text at its offsets: the results are older than the transcripts.
    """
    from casecoder.annotations import text_key

    by_id = {t.id: t for t in transcripts}
    missing = sorted(set(quotes["transcript_id"]) - set(by_id))
    if missing:
        raise InputError(quotes_name, f"transcript {missing[0]!r} is not in the transcripts "
                         "folder (rerun the workflow)")
    cuts: dict[str, set[int]] = {}
    for table in (segments, quotes):
        for tid, start, end in zip(table["transcript_id"], table["start"], table["end"],
                                   strict=True):
            cuts.setdefault(tid, set()).update((int(start), int(end)))
    reviewed = set(reviewed)
    rows_of: dict[str, list[tuple[int, dict]]] = {}
    for index, row in enumerate(quotes.to_dict("records")):
        rows_of.setdefault(row["transcript_id"], []).append((index, row))
    sources = []
    for transcript in transcripts:
        text, where = private.in_pieces(transcript.text, cuts.get(transcript.id, ()))
        meta = transcript.meta
        source = Source(transcript.id, text, {name: private(str(meta.get(name) or ""))
                                              for name in VARIABLES})
        selections: dict[tuple[str, str], Selection] = {}
        for index, row in rows_of.get(transcript.id, []):
            start, end = int(row["start"]), int(row["end"])
            if start not in where or end not in where or text[where[start]:where[end]] != row["text"]:
                raise InputError(quotes_name, f"the quote of {transcript.id} at {start}-{end} is "
                                 "not the transcript's text there: the results are older than "
                                 "the transcript (rerun the workflow)", line=index + 2)
            segment = (str(row["turn"]), str(row["segment"]))
            if segment not in selections:
                selections[segment] = Selection(where[start], where[end],
                                                "\x1f".join((transcript.id, *segment)),
                                                _about(row))
            is_reviewed = text_key(transcript.text[start:end]) in reviewed
            selections[segment].codings.append(Coding(
                row["code"], coder_of(row["source"], row["model_version"], is_reviewed),
                _coding_note(row)))
        source.selections = list(selections.values())
        sources.append(source)
    return sources


def _coding_note(row: Mapping[str, object]) -> str:
    """``FUNDED: rule+model, confidence 0.93, rule FUNDED/fund-zh, model 0123456789ab``."""
    parts = [f"{row['code']}: {row['source']}", f"confidence {row['confidence']}"]
    if row.get("rule"):
        parts.append(f"rule {row['rule']}")
    if row.get("model_version"):
        parts.append(f"model {row['model_version']}")
    return ", ".join(parts)


def _about(row: Mapping[str, object]) -> str:
    about = f"speaker: {row.get('speaker', '')} (turn {row['turn']}, segment {row['segment']})"
    if row.get("translation"):
        about += f"\ntranslation: {row['translation']}"
    return about


def project_document(book: Codebook, sources: Sequence[Source], title: str = "") -> bytes:
    """``project.qde``: users, codebook, variables, cases and sources with their codings
    (urn:QDA-XML:project:1.0). Sources point to ``Sources/<guid>.txt`` in the archive."""
    root = etree.Element(f"{{{PROJECT_NS}}}Project", nsmap={None: PROJECT_NS},
                         name=_xml_text(title or f"{book.title.en} (casecoder)"), origin=ORIGIN)
    coders = _coders(sources)
    if coders:
        users = _element(root, "Users")
        for name in coders:
            _element(users, "User", guid=guid("user", name), name=name)
    _add_codes(_element(_element(root, "CodeBook"), "Codes"), book)
    types = _variable_types(sources)
    if types:
        variables = _element(root, "Variables")
        for name, kind in types.items():
            variable = _element(variables, "Variable", guid=guid("variable", name), name=name,
                                typeOfVariable=kind)
            _element(variable, "Description", VARIABLES[name])
    _add_cases(root, sources)
    if sources:
        elements = _element(root, "Sources")
        for source in sources:
            _add_source(elements, book, source, types)
    _element(root, "Description", _project_description(book, coders))
    return _serialise(root)


def project_archive(book: Codebook, sources: Sequence[Source], title: str = "") -> bytes:
    """``project.qdpx``: the zip of ``project.qde`` and the sources' plain text."""
    from casecoder.export import fixed_time_zip

    entries = [(PROJECT_ENTRY, project_document(book, sources, title))]
    entries += [(f"{SOURCES_FOLDER}/{source_guid(s)}.txt", s.text.encode("utf-8"))
                for s in sources]
    return fixed_time_zip(entries)


def source_guid(source: Source) -> str:
    return guid("source", source.transcript_id)


def _coders(sources: Sequence[Source]) -> list[str]:
    """The users that coded something: rules, model, rules+model, then the reviewer."""
    used = {c.coder for source in sources for s in source.selections for c in s.codings}
    kinds = (RULES_USER, MODEL_USER, BOTH_USER, REVIEWER_USER)

    def rank(name: str) -> tuple[int, str]:
        kind = next((i for i, k in enumerate(kinds) if name == k or name.startswith(k + " ")),
                    len(kinds))
        return kind, name

    return sorted(used, key=rank)


def _variable_types(sources: Sequence[Source]) -> dict[str, str]:
    """Variables that have a value somewhere: Date when every value is an ISO date, else Text."""
    types = {}
    for name in VARIABLES:
        values = [s.variables[name] for s in sources if s.variables.get(name)]
        if values:
            types[name] = "Date" if all(_is_date(v) for v in values) else "Text"
    return types


def _is_date(value: str) -> bool:
    if not _ISO_DATE.fullmatch(value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _add_cases(root: etree._Element, sources: Sequence[Source]) -> None:
    members: dict[str, list[Source]] = {}
    for source in sources:
        if source.case:
            members.setdefault(source.case, []).append(source)
    if not members:
        return
    cases = _element(root, "Cases")
    for name in sorted(members):
        case = _element(cases, "Case", guid=guid("case", name), name=name)
        for source in members[name]:
            _element(case, "SourceRef", targetGUID=source_guid(source))


def _add_source(parent: etree._Element, book: Codebook, source: Source,
                types: Mapping[str, str]) -> None:
    key = source_guid(source)
    element = _element(parent, "TextSource", guid=key, name=source.transcript_id,
                       plainTextPath=f"internal://{key}.txt")
    for selection in source.selections:
        quote = source.text[selection.start:selection.end]
        item = _element(element, "PlainTextSelection", guid=guid("selection", selection.key),
                        name=_short(quote), startPosition=str(selection.start),
                        endPosition=str(selection.end),
                        creatingUser=guid("user", selection.codings[0].coder))
        _element(item, "Description", selection.description)
        for code in selection.codings:
            coding = _element(item, "Coding", guid=guid("coding", selection.key, code.code),
                              creatingUser=guid("user", code.coder))
            _element(coding, "CodeRef", targetGUID=code_guid(book, code.code))
    for name, kind in types.items():
        value = source.variables.get(name)
        if value:
            variable = _element(element, "VariableValue")
            _element(variable, "VariableRef", targetGUID=guid("variable", name))
            _element(variable, "DateValue" if kind == "Date" else "TextValue", value)


def _project_description(book: Codebook, coders: Sequence[str]) -> str:
    return "\n".join([
        f"Coded by {ORIGIN} with the codebook {book.name} {book.version} "
        f"(sha256 {book.sha256[:12]}).",
        "Each coding's user says who assigned the code: 'casecoder rules' (a codebook rule "
        "fired), 'casecoder model <version>' (the trained classifier, at or above the code's "
        "threshold), 'casecoder rules+model <version>' (both), 'reviewer' (a researcher's "
        "review, read back when the model was trained).",
        "Each selection's description gives the source, confidence, rule and model version "
        "of each of its codes, and the speaker, turn and segment.",
        "Positions count Unicode characters (code points) of the source text.",
        f"Coders in this project: {', '.join(coders) or 'none'}.",
    ])


# --------------------------------------------------------------------------- files


def export_qda(
    *,
    transcripts: str | Path,
    codebook: str | Path,
    segments: str | Path,
    quotes: str | Path,
    qdc: str | Path,
    qdpx: str | Path,
    pseudonymise: str | bool = "auto",
    reviewed: str | Path | None = None,
    title: str = "",
) -> list[Source]:
    """Write ``codebook.qdc`` and ``project.qdpx`` from the transcripts folder and the
    result tables (segments.csv, coded_quotes.csv) of one run.

    ``pseudonymise`` must be the run's setting (see
    :func:`casecoder.privacy.load_pseudonymiser`); ``reviewed`` is the training's
    ``reviewed.json`` (the segments whose codes a reviewer set), when there is one.
    """
    from casecoder.privacy import load_pseudonymiser
    from casecoder.tables import read_table
    from casecoder.transcripts import find_transcripts, read_manifest, read_transcript

    folder = Path(transcripts)
    book = load_codebook(codebook)
    for table in (segments, quotes):
        if not Path(table).is_file():
            raise InputError(table, "file not found (run the workflow first)")
    segment_table = _with_offsets(read_table(segments, ("transcript_id", "start", "end")))
    quote_table = _with_offsets(read_table(quotes, _QUOTE_COLUMNS))
    private = load_pseudonymiser(folder, pseudonymise)
    manifest = read_manifest(folder)
    texts = [read_transcript(file, folder, manifest) for file in find_transcripts(folder)]
    sources = build_sources(texts, segment_table, quote_table, private,
                            _reviewed_keys(reviewed), quotes_name=str(quotes))
    for path, data in ((qdc, codebook_document(book)),
                       (qdpx, project_archive(book, sources, title))):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)
    return sources


def _with_offsets(table: pd.DataFrame) -> pd.DataFrame:
    for column in ("start", "end"):
        table[column] = table[column].astype(int)
    return table


def _reviewed_keys(path: str | Path | None) -> set[str]:
    if path is None or not Path(path).is_file():
        return set()
    try:
        return set(json.loads(Path(path).read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not a readable JSON file ({exc.msg})") from None


# --------------------------------------------------------------------------- XML


def _element(parent: etree._Element, tag: str, text: str | None = None,
             **attributes: str) -> etree._Element:
    """A child in the parent's namespace; text and attributes made XML-safe."""
    namespace = etree.QName(parent).namespace
    child = etree.SubElement(parent, f"{{{namespace}}}{tag}",
                             {name: _xml_text(value) for name, value in attributes.items()})
    if text is not None:
        child.text = _xml_text(text)
    return child


def _serialise(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _xml_text(text: str) -> str:
    """Text without the characters XML 1.0 cannot hold (form feeds from Word, say)."""
    return _NOT_XML.sub("", text)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _short(text: str) -> str:
    text = _one_line(text)
    return text if len(text) <= _NAME_LENGTH else text[: _NAME_LENGTH - 1] + "…"
