"""The codebook: the researchers' document, checked strictly before any job runs.

A codebook is a YAML file (see ``codebooks/political_will.yaml`` and
docs/codebook-format.md). Its structure is a pydantic model with unknown fields
forbidden, so a typo in a field name is an error rather than a rule that
silently never fires. Every error names the file, the code and the field.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from casecoder.errors import InputError

Language = Literal["zh", "en"]
CODE_ID = r"^[A-Za-z][A-Za-z0-9_]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bilingual(_Strict):
    """A text in English and Chinese; both are required."""

    en: str = Field(min_length=1)
    zh: str = Field(min_length=1)


class Examples(_Strict):
    """Example quotes per language (at least two each)."""

    en: list[str] = Field(min_length=2)
    zh: list[str] = Field(min_length=2)


class Rule(_Strict):
    """A keyword or regular-expression rule for one code in one language.

    - ``keywords``: terms. Chinese terms match on jieba word boundaries when
      ``match`` is ``word`` (so 资金 does not fire inside 资金池 split as one
      word) or anywhere when ``match`` is ``chars``. English terms match
      case-insensitively on word boundaries, with inflections (fund, funds,
      funded, funding).
    - ``patterns``: Python regular expressions searched in the segment
      (case-insensitive; Traditional Chinese is converted to Simplified first).
    - ``requires``: the rule fires only if one of these terms also occurs.
    - ``unless``: the rule does not fire if one of these terms occurs.
    - ``negated``: a hit preceded by a negation in its clause (没有专项资金,
      "no special fund") does not assign the code; it assigns these codes
      instead (possibly none). ``negatable: false`` turns the check off.
    """

    name: str = Field(min_length=1, pattern=r"^[\w.-]+$")
    language: Language
    keywords: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    match: Literal["word", "chars"] = "word"
    requires: list[str] = Field(default_factory=list)
    unless: list[str] = Field(default_factory=list)
    negatable: bool = True
    negated: list[str] = Field(default_factory=list)

    @field_validator("keywords", "requires", "unless")
    @classmethod
    def _no_blank_terms(cls, terms: list[str]) -> list[str]:
        for term in terms:
            if not term.strip():
                raise ValueError("blank term")
        return terms

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"bad regular expression {pattern!r}: {exc}") from None
        return patterns

    @model_validator(mode="after")
    def _has_something_to_match(self) -> Rule:
        if not self.keywords and not self.patterns:
            raise ValueError("a rule needs keywords or patterns")
        return self


class Code(_Strict):
    """One code of the codebook."""

    id: str = Field(pattern=CODE_ID)
    category: str
    direction: Literal[-1, 0, 1]
    label: Bilingual
    definition: Bilingual
    inclusion: list[str] = Field(default_factory=list)
    exclusion: list[str] = Field(default_factory=list)
    examples: Examples
    rules: list[Rule] = Field(default_factory=list)

    @field_validator("rules")
    @classmethod
    def _rule_names_unique(cls, rules: list[Rule]) -> list[Rule]:
        names = [rule.name for rule in rules]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate rule name {dupes[0]!r}")
        return rules


class Negators(_Strict):
    zh: list[str] = Field(default_factory=list)
    en: list[str] = Field(default_factory=list)


class Codebook(_Strict):
    """A whole codebook: its name, version, categories and codes."""

    name: str = Field(min_length=1)
    version: str = Field(min_length=1)
    title: Bilingual
    description: str = ""
    categories: list[str] = Field(min_length=1)
    negators: Negators | None = None
    codes: list[Code] = Field(min_length=1)

    # Filled in by load_codebook: the file's SHA-256, so models and outputs can
    # say which version of the codebook they were made with.
    sha256: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Codebook:
        ids = [code.id for code in self.codes]
        seen: set[str] = set()
        for code in self.codes:
            if code.id in seen:
                raise _CodeError(code.id, "id", "duplicate code id")
            seen.add(code.id)
            if code.category not in self.categories:
                raise _CodeError(
                    code.id,
                    "category",
                    f"unknown category {code.category!r} (the codebook lists {', '.join(self.categories)})",
                )
            for rule in code.rules:
                for other in rule.negated:
                    if other not in ids:
                        raise _CodeError(
                            code.id, f"rules.{rule.name}.negated", f"unknown code id {other!r}"
                        )
        return self

    @property
    def ids(self) -> list[str]:
        return [code.id for code in self.codes]

    def code(self, code_id: str) -> Code:
        for code in self.codes:
            if code.id == code_id:
                return code
        raise KeyError(code_id)

    def directions(self) -> dict[str, int]:
        return {code.id: code.direction for code in self.codes}


class _CodeError(ValueError):
    """A consistency error that already knows the code and field it concerns."""

    def __init__(self, code_id: str, field: str, problem: str):
        self.code_id, self.field, self.problem = code_id, field, problem
        super().__init__(f"code {code_id}, field {field}: {problem}")


def _describe(error: dict, raw: dict) -> str:
    """Turn one pydantic error into 'code X, field Y: problem'."""
    loc = list(error.get("loc", ()))
    ctx_error = (error.get("ctx") or {}).get("error")
    if isinstance(ctx_error, _CodeError):
        return str(ctx_error)
    message = error.get("msg", "invalid")
    message = message.removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        message = "unknown field"
    elif error.get("type") == "missing":
        message = "missing (required)"
    if len(loc) >= 2 and loc[0] == "codes" and isinstance(loc[1], int):
        codes = raw.get("codes") or []
        entry = codes[loc[1]] if loc[1] < len(codes) else {}
        code_id = entry.get("id") if isinstance(entry, dict) else None
        who = f"code {code_id}" if code_id else f"code #{loc[1] + 1}"
        rest = loc[2:]
        if len(rest) >= 2 and rest[0] == "rules" and isinstance(rest[1], int):
            rules = entry.get("rules") or [] if isinstance(entry, dict) else []
            rule = rules[rest[1]] if rest[1] < len(rules) else {}
            name = rule.get("name") if isinstance(rule, dict) else None
            rest = ["rules", name or f"#{rest[1] + 1}", *rest[2:]]
        field = ".".join(str(p) for p in rest) or "(code)"
        return f"{who}, field {field}: {message}"
    field = ".".join(str(p) for p in loc) or "(top level)"
    return f"field {field}: {message}"


def parse_codebook(raw: object, source: str | Path) -> Codebook:
    """Validate an already-parsed YAML document; raise InputError naming the problem."""
    if not isinstance(raw, dict):
        raise InputError(source, "a codebook must be a YAML mapping with 'name', 'codes', ...")
    try:
        return Codebook.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = len(exc.errors()) - 1
        suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise InputError(source, _describe(first, raw) + suffix) from None


def load_codebook(path: str | Path) -> Codebook:
    """Read and validate a codebook file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "codebook file not found")
    data = path.read_bytes()
    try:
        raw = yaml.safe_load(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise InputError(path, f"not a readable YAML file ({exc.reason})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        line = mark.line + 1 if mark is not None else None
        raise InputError(path, f"not a readable YAML file ({problem})", line=line) from None
    codebook = parse_codebook(raw, path)
    return codebook.model_copy(update={"sha256": hashlib.sha256(data).hexdigest()})


@lru_cache(maxsize=8)
def cached_codebook(path: str) -> Codebook:
    """load_codebook, once per process and path."""
    return load_codebook(path)
