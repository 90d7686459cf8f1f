"""report.html: one self-contained page that compares the cases.

The page is what most researchers will look at first, so it puts pictures
before tables and quotes behind every number: the case x code heat map, the
summary table with the political-will index and typology, a profile of the
+1/-1 political-will codes per case, and per case the strongest quotes for
each code, in the original language with the translation beneath. When the
run has them, two methods sections follow: intercoder agreement
(agreement.csv) and the model as a coder (metrics.json).

Everything is inline, so the file can be mailed, archived or opened offline:
the charts are built with altair (Vega-Lite) and rendered to SVG at build time
by vl-convert, styles are in the page, and no font, script or image is
fetched. Every text from the data goes through Jinja2's autoescaping. The same
input gives the same bytes (no timestamps unless the caller passes them in
``run_info``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import altair as alt
import pandas as pd
import vl_convert
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from casecoder.codebook import Code, Codebook

QUOTES_PER_CODE = 3
FONT_STACK = (
    'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, '
    '"PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif'
)
DIRECTION_COLOURS = {1: "#1a7f4b", -1: "#b8322a", 0: "#5b6470"}
_PLUS_SHADES = ["#1a7f4b", "#4da56f", "#86c79a", "#b9e0c3", "#0f5a34", "#65b58a"]
_MINUS_SHADES = ["#b8322a", "#d8654f", "#ee9c83", "#f6c9b8", "#8a1f19", "#e07f6a"]


# ---------------------------------------------------------------------------
# The public entry point


def write_report(
    quotes: pd.DataFrame,
    matrix: pd.DataFrame,
    summary: pd.DataFrame,
    codebook: Codebook,
    path: Path,
    *,
    title: str | None = None,
    run_info: Mapping[str, str] | None = None,
    agreement: pd.DataFrame | None = None,
    metrics: Mapping | None = None,
) -> None:
    """Render the comparison page from the result tables and write it to ``path``."""
    html = render_report(quotes, matrix, summary, codebook, title=title, run_info=run_info,
                         agreement=agreement, metrics=metrics)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(html, encoding="utf-8", newline="\n")


def render_report(
    quotes: pd.DataFrame,
    matrix: pd.DataFrame,
    summary: pd.DataFrame,
    codebook: Codebook,
    *,
    title: str | None = None,
    run_info: Mapping[str, str] | None = None,
    agreement: pd.DataFrame | None = None,
    metrics: Mapping | None = None,
) -> str:
    """The page as a string (see :func:`write_report`).

    ``agreement`` is agreement.csv as read back; ``metrics`` is the model's
    metrics.json. Each adds its methods section when given.
    """
    cases = case_order(summary, matrix, quotes)
    anchors = case_anchors(cases)
    counts = code_counts(matrix, quotes, cases, codebook)
    n_coded = _coded_per_case(summary, counts)
    context = {
        "title": title or codebook.title.en,
        "subtitle": codebook.title.zh if not title else "",
        "codebook": codebook,
        "stats": _stats(quotes, summary, cases),
        "run_info": dict(run_info or {}),
        "heatmap_svg": chart_svg(
            heatmap_chart(heatmap_frame(counts, n_coded, codebook), codebook), "heatmap-svg",
        ) if cases else None,
        "profile_svg": chart_svg(
            profile_chart(profile_frame(counts, codebook), codebook, cases), "profile-svg",
        ) if cases and any(c.direction for c in codebook.codes) else None,
        "summary": _summary_rows(summary, cases, anchors),
        "role_columns": _role_columns(summary),
        "cases": _case_sections(quotes, counts, summary, codebook, cases, anchors),
        "categories": _legend(codebook),
        "agreement": agreement_view(agreement) if agreement is not None and len(agreement) else None,
        "model_coder": model_coder_view(metrics, codebook) if metrics else None,
    }
    return _environment().get_template("report.html.j2").render(**context)


# ---------------------------------------------------------------------------
# Cases and counts


def case_order(summary: pd.DataFrame, matrix: pd.DataFrame, quotes: pd.DataFrame) -> list[str]:
    """Cases in the summary's order, then any that only the matrix or the quotes know."""
    cases: dict[str, None] = {}
    for frame in (summary, matrix, quotes):
        if "case" in frame.columns:
            cases.update(dict.fromkeys(str(c) for c in frame["case"]))
    return list(cases)


def case_anchors(cases: Sequence[str]) -> dict[str, str]:
    """A unique, readable HTML id per case: 'County C' -> 'case-county-c', 'C县' -> 'case-c县'."""
    anchors: dict[str, str] = {}
    used: set[str] = set()
    for case in cases:
        slug = re.sub(r"[^\w]+", "-", case.casefold()).strip("-_") or "case"
        anchor, n = f"case-{slug}", 2
        while anchor in used:
            anchor, n = f"case-{slug}-{n}", n + 1
        used.add(anchor)
        anchors[case] = anchor
    return anchors


def code_counts(
    matrix: pd.DataFrame, quotes: pd.DataFrame, cases: Sequence[str], codebook: Codebook
) -> pd.DataFrame:
    """Coded respondent segments per case (rows) and code (columns), zeros filled.

    The matrix is the source; a case or code it lacks is counted from the quotes.
    """
    from_quotes = (
        quotes.drop_duplicates(["transcript_id", "turn", "segment", "code"])
        .groupby(["case", "code"]).size()
        if len(quotes) else pd.Series(dtype=int)
    )
    given = matrix.set_index("case") if "case" in matrix.columns else pd.DataFrame()
    table = pd.DataFrame(0, index=list(cases), columns=codebook.ids, dtype=int)
    for case in cases:
        for code in codebook.ids:
            if case in given.index and code in given.columns:
                table.loc[case, code] = int(given.loc[case, code])
            else:
                table.loc[case, code] = int(from_quotes.get((case, code), 0))
    return table


def _coded_per_case(summary: pd.DataFrame, counts: pd.DataFrame) -> dict[str, int]:
    """Coded respondent segments per case: the heat map's denominator."""
    given: dict[str, float] = {}
    if {"case", "n_coded"} <= set(summary.columns):
        numbers = pd.to_numeric(summary["n_coded"], errors="coerce")
        given = {str(c): n for c, n in zip(summary["case"], numbers, strict=True) if n == n}
    return {case: int(given.get(case, counts.loc[case].max())) for case in counts.index}


# ---------------------------------------------------------------------------
# Charts (altair -> Vega-Lite -> SVG at build time)


def _sign(direction: int) -> str:
    return {1: "+1", -1: "\u22121", 0: "0"}[direction]


def _category_label(category: str) -> str:
    return category.replace("_", " ")


def _axis_label(code: Code) -> str:
    return f"{code.id}  {_sign(code.direction)}" if code.direction else code.id


def heatmap_frame(counts: pd.DataFrame, n_coded: Mapping[str, int], codebook: Codebook) -> pd.DataFrame:
    """One row per (case, code): count, share of the case's coded segments, hover text."""
    rows = []
    for case in counts.index:
        total = n_coded.get(case, 0)
        for code in codebook.codes:
            count = int(counts.loc[case, code.id])
            share = count / total if total else 0.0
            rows.append({
                "case": case,
                "code": _axis_label(code),
                "category": _category_label(code.category),
                "count": count,
                "share": share,
                "label": str(count) if count else "",
                "tip": f"{case} \u00b7 {code.id} ({code.label.en}): {count} of {total} coded "
                       f"segments ({share:.0%})",
            })
    return pd.DataFrame(rows)


def heatmap_chart(frame: pd.DataFrame, codebook: Codebook) -> alt.FacetChart:
    """Codes down (grouped by category, signed), cases across; colour = share, text = count."""
    cases = list(dict.fromkeys(frame["case"]))
    step = max(36, min(120, 560 // max(len(cases), 1)))
    upright = step >= 90  # many cases: narrower cells, slanted names
    top = max(float(frame["share"].max()) if len(frame) else 0.0, 0.05)
    sign_colour = {
        "condition": [
            {"test": "indexof(datum.value, '+1') >= 0", "value": DIRECTION_COLOURS[1]},
            {"test": "indexof(datum.value, '\u22121') >= 0", "value": DIRECTION_COLOURS[-1]},
        ],
        "value": "#222",
    }
    base = alt.Chart().encode(
        x=alt.X("case:N", sort=cases, title=None,
                axis=alt.Axis(orient="top", labelAngle=0 if upright else -40,
                              labelAlign="center" if upright else "left",
                              labelLimit=step - 6 if upright else 160, labelFontSize=12,
                              labelFontWeight="bold", ticks=False, domain=False)),
        y=alt.Y("code:N", sort=[_axis_label(c) for c in codebook.codes], title=None,
                axis=alt.Axis(labelLimit=260, labelFontSize=11, ticks=False, domain=False,
                              labelColor=sign_colour)),
    )
    share = alt.Color("share:Q", title="share of coded segments",
                      scale=alt.Scale(scheme="blues", domain=[0, top], nice=False),
                      legend=alt.Legend(format=".0%", orient="bottom", gradientLength=220,
                                        titleFontSize=11, direction="horizontal"))
    cells = base.mark_rect(stroke="white", strokeWidth=1.5).encode(
        # "Never" must not look like "a little": empty cells are paper-grey, not pale blue.
        color=alt.condition("datum.count == 0", alt.value("#f3f5f7"), share),
        description=alt.Description("tip:N"),
    )
    numbers = base.mark_text(fontSize=11, aria=False).encode(
        text="label:N",
        color=alt.condition(f"datum.share > {top * 0.55}", alt.value("white"), alt.value("#1d2a3a")),
    )
    return (
        alt.layer(cells, numbers, data=frame)
        .properties(width=alt.Step(step), height=alt.Step(22))
        .facet(row=alt.Row("category:N", sort=[_category_label(c) for c in codebook.categories],
                           title=None,
                           header=alt.Header(labelAngle=0, labelOrient="top", labelAnchor="start",
                                             labelFontSize=11, labelFontWeight="bold",
                                             labelColor="#5b6470", labelPadding=2)),
               spacing=4)
        .resolve_scale(y="independent")
        .configure_view(stroke=None)
        .configure(font=FONT_STACK, background="transparent")
    )


def profile_frame(counts: pd.DataFrame, codebook: Codebook) -> pd.DataFrame:
    """One row per (case, signed code): segments coded, negative for -1 codes."""
    rows = []
    for case in counts.index:
        for code in codebook.codes:
            if not code.direction:
                continue
            count = int(counts.loc[case, code.id])
            rows.append({
                "case": case,
                "code": code.id,
                "value": code.direction * count,
                "order": _stack_order(code, codebook),
                "tip": f"{case} \u00b7 {code.id} ({_sign(code.direction)}, {code.label.en}): "
                       f"{count} segments",
            })
    return pd.DataFrame(rows, columns=["case", "code", "value", "order", "tip"])


def _stack_order(code: Code, codebook: Codebook) -> int:
    """Stack each side from the zero line outwards in codebook order."""
    same = [c.id for c in codebook.codes if c.direction == code.direction]
    return same.index(code.id)


def profile_chart(frame: pd.DataFrame, codebook: Codebook, cases: Sequence[str]) -> alt.LayerChart:
    """Diverging bars: -1 codes to the left, +1 codes to the right, one bar per case."""
    plus = [c.id for c in codebook.codes if c.direction == 1]
    minus = [c.id for c in codebook.codes if c.direction == -1]
    colours = [_PLUS_SHADES[i % len(_PLUS_SHADES)] for i in range(len(plus))] + \
              [_MINUS_SHADES[i % len(_MINUS_SHADES)] for i in range(len(minus))]
    bars = alt.Chart(frame).mark_bar(stroke="white", strokeWidth=0.5).encode(
        x=alt.X("sum(value):Q", title="\u2190 segments with \u22121 codes \u00b7 segments with +1 codes \u2192",
                axis=alt.Axis(format="d", labelExpr="abs(datum.value)", tickMinStep=1,
                              titleFontWeight="normal", titleColor="#5b6470")),
        y=alt.Y("case:N", sort=list(cases), title=None,
                axis=alt.Axis(labelFontSize=12, labelFontWeight="bold", ticks=False, domain=False,
                              labelLimit=200)),
        color=alt.Color("code:N", scale=alt.Scale(domain=plus + minus, range=colours),
                        legend=alt.Legend(title=None, orient="right", labelFontSize=10,
                                          symbolType="square", labelLimit=220)),
        order=alt.Order("order:Q"),
        description=alt.Description("tip:N"),
    )
    zero = alt.Chart(pd.DataFrame({"x": [0]})).mark_rule(color="#333", strokeWidth=1).encode(x="x:Q")
    return (
        alt.layer(bars, zero)
        .properties(width=560, height=alt.Step(30))
        .configure_view(stroke=None)
        .configure(font=FONT_STACK, background="transparent")
    )


def chart_svg(chart: alt.TopLevelMixin, name: str) -> Markup:
    """Render a chart to inline SVG, with each mark's description as its hover tooltip.

    vl-convert puts the ``description`` channel into the marks' aria-label (already
    XML-escaped); a ``<title>`` child with the same text is what browsers show on hover.
    Element ids (gradients, clip paths) are renamed after ``name``: vl-convert numbers
    them per process, which would make the page differ between runs and let two
    charts on one page collide.
    """
    version = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    if version not in vl_convert.get_vegalite_versions():
        version = None
    svg = vl_convert.vegalite_to_svg(chart.to_dict(), vl_version=version, allowed_base_urls=[])
    svg = re.sub(
        r'<path ([^>]*?)aria-label="([^"]*)"([^>]*?)role="graphics-symbol"([^>]*?)/>',
        r'<path \1aria-label="\2"\3role="graphics-symbol"\4><title>\2</title></path>',
        svg,
    )
    return Markup(_rename_ids(svg, name))


def _rename_ids(svg: str, name: str) -> str:
    ids = list(dict.fromkeys(re.findall(r'\bid="([^"]+)"', svg)))
    for number, old in enumerate(ids):
        new = f"{name}-{number}"
        svg = re.sub(rf'(\bid="|url\(#|href="#){re.escape(old)}(?=[")])', rf"\g<1>{new}", svg)
    return svg


# ---------------------------------------------------------------------------
# Page content


def _stats(quotes: pd.DataFrame, summary: pd.DataFrame, cases: Sequence[str]) -> list[tuple[str, str]]:
    def total(column: str) -> str:
        if column not in summary.columns:
            return "\u2014"
        return f"{int(pd.to_numeric(summary[column], errors='coerce').fillna(0).sum()):,}"

    return [
        ("cases", f"{len(cases):,}"),
        ("transcripts", total("n_transcripts")),
        ("segments", total("n_segments")),
        ("coded segments", total("n_coded")),
        ("coded quotes", f"{len(quotes):,}"),
    ]


def _role_columns(summary: pd.DataFrame) -> list[tuple[str, str]]:
    """(column, heading) for the coded_<role> columns."""
    return [(c, c.removeprefix("coded_").replace("_", " ")) for c in summary.columns
            if c.startswith("coded_")]


def _index_text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return "\u2014"
    number = float(value)
    return f"{number:+.2f}".replace("-", "\u2212")


def _index_bar(value: object) -> dict[str, float] | None:
    """Left offset and width (percent of the track) of a bar drawn from the centre."""
    if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
        return None
    number = max(-1.0, min(1.0, float(value)))
    left = 50.0 + min(number, 0.0) * 50.0
    return {"left": round(left, 2), "width": round(abs(number) * 50.0, 2),
            "sign": "plus" if number > 0 else "minus" if number < 0 else "zero"}


def _summary_rows(summary: pd.DataFrame, cases: Sequence[str], anchors: Mapping[str, str]) -> list[dict]:
    by_case = {str(r["case"]): r for r in summary.to_dict("records")} if "case" in summary else {}
    rows = []
    for case in cases:
        row = by_case.get(case, {})
        rows.append({
            "case": case,
            "anchor": anchors[case],
            "cells": row,
            "index_text": _index_text(row.get("political_will_index")),
            "index_bar": _index_bar(row.get("political_will_index")),
            "formality": str(row.get("formality", "") or "unclear"),
            "mode": str(row.get("mode", "") or "unclear"),
            "typology": str(row.get("typology", "")),
        })
    return rows


@dataclass
class QuoteView:
    """One quote as the page shows it."""

    text: str
    translation: str
    language: str
    cite: str
    source: str
    rule: str


@dataclass
class CodeView:
    """One code within a case: its count and strongest quotes."""

    code: Code
    sign: str
    count: int
    quotes: list[QuoteView] = field(default_factory=list)

    @property
    def more(self) -> int:
        return max(self.count - len(self.quotes), 0)


def strongest_quotes(quotes: pd.DataFrame, n: int = QUOTES_PER_CODE) -> dict[tuple[str, str], pd.DataFrame]:
    """The n strongest quotes per (case, code).

    Rule hits come before model-only ones (a researcher can see why they fired),
    then higher confidence, then transcript and turn order so ties are stable.
    """
    if not len(quotes):
        return {}
    frame = quotes.drop_duplicates(["transcript_id", "turn", "segment", "code"]).copy()
    frame["_model_only"] = ~frame["source"].astype(str).str.contains("rule")
    frame["_confidence"] = pd.to_numeric(frame["confidence"], errors="coerce").fillna(0.0)
    frame = frame.sort_values(
        ["_model_only", "_confidence", "transcript_id", "turn", "segment"],
        ascending=[True, False, True, True, True], kind="stable",
    )
    return {(str(case), str(code)): group.head(n)
            for (case, code), group in frame.groupby(["case", "code"], sort=False)}


def _quote_view(row: Mapping[str, object]) -> QuoteView:
    source = str(row.get("source", ""))
    confidence = pd.to_numeric(row.get("confidence"), errors="coerce")
    shown = source if source == "rule" or pd.isna(confidence) else f"{source} {float(confidence):.2f}"
    speaker = str(row.get("speaker", "")) or "unknown speaker"
    return QuoteView(
        text=str(row.get("text", "")),
        translation=str(row.get("translation", "") or ""),
        language={"zh": "zh", "en": "en"}.get(str(row.get("language", "")), ""),
        cite=f"{row.get('transcript_id', '')} \u00b7 {speaker} \u00b7 turn {row.get('turn', '')}",
        source=shown,
        rule=str(row.get("rule", "") or ""),
    )


def _case_sections(
    quotes: pd.DataFrame,
    counts: pd.DataFrame,
    summary: pd.DataFrame,
    codebook: Codebook,
    cases: Sequence[str],
    anchors: Mapping[str, str],
) -> list[dict]:
    best = strongest_quotes(quotes)
    rows = {r["case"]: r for r in _summary_rows(summary, cases, anchors)}
    sections = []
    for case in cases:
        codes = []
        for code in codebook.codes:
            chosen = best.get((case, code.id))
            count = int(counts.loc[case, code.id])
            if not count and chosen is None:
                continue
            views = [_quote_view(r) for r in chosen.to_dict("records")] if chosen is not None else []
            codes.append(CodeView(code=code, sign=_sign(code.direction), count=max(count, len(views)),
                                  quotes=views))
        sections.append({"case": case, "anchor": anchors[case], "summary": rows[case],
                         "codes": codes})
    return sections


# ---------------------------------------------------------------------------
# Methods sections: intercoder agreement and the model as a coder


def _figure(value: object, digits: int = 2) -> str:
    """A kappa or alpha as a methods section prints it; an em dash where undefined."""
    number = pd.to_numeric(value, errors="coerce")
    if value is None or pd.isna(number):
        return "\u2014"
    return f"{float(number):.{digits}f}".replace("-", "\u2212")


def _percent(value: object) -> str:
    number = pd.to_numeric(value, errors="coerce")
    return "\u2014" if value is None or pd.isna(number) else f"{float(number):.1f}%"


def agreement_view(table: pd.DataFrame) -> dict:
    """agreement.csv as the page shows it: one row per code, the overall rows, a summary."""
    from casecoder.agreement import MEAN, POOLED

    def row(record: Mapping) -> dict:
        n_coded = [n for n in str(record.get("n_coded", "")).split(";") if n]
        return {"code": str(record["code"]), "n_segments": str(record["n_segments"]),
                "n_coded": " / ".join(n_coded), "used": any(n != "0" for n in n_coded),
                "percent": _percent(record["percent_agreement"]),
                "kappa": _figure(record["cohen_kappa"]),
                "alpha": _figure(record["krippendorff_alpha"])}

    records = table.to_dict("records")
    overall = {str(r["code"]): row(r) for r in records if r["code"] in (POOLED, MEAN)}
    codes = [row(r) for r in records if r["code"] not in (POOLED, MEAN)]
    return {
        "coders": [c for c in str(records[0]["coders"]).split(";") if c],
        "codes": codes,
        "pooled": overall.get(POOLED),
        "mean": overall.get(MEAN),
        "n_segments_alpha": str(records[0].get("n_segments_alpha", "")),
        "n_used": sum(r["used"] for r in codes),
    }


def model_coder_view(metrics: Mapping, codebook: Codebook) -> dict | None:
    """metrics.json as a coder's figures: cross-validated kappa against the training
    labels per code and, with a held-out file, kappa and alpha against it."""
    codes = metrics.get("codes", {})
    if not codes:
        return None
    heldout = metrics.get("heldout") or {}
    held_codes = heldout.get("codes", {})
    rows = []
    for code in codebook.ids:
        if code not in codes:
            continue
        cv, held = codes[code], held_codes.get(code, {})
        rows.append({"code": code, "n_positive": cv.get("n_positive", ""),
                     "kappa": _figure(cv.get("kappa")), "f1": _figure(cv.get("f1")),
                     "held_positive": held.get("n_positive", ""),
                     "held_predicted": held.get("n_predicted", ""),
                     "held_kappa": _figure(held.get("kappa")),
                     "held_alpha": _figure(held.get("alpha"))})
    kappas = [float(codes[r["code"]]["kappa"]) for r in rows]
    macro, held_macro = metrics.get("macro", {}), heldout.get("macro", {})
    return {
        "rows": rows,
        "n_examples": f"{metrics.get('n_examples', 0):,}",
        "folds": metrics.get("folds", ""),
        "kappa": _figure(macro.get("kappa")),
        "kappa_min": _figure(min(kappas)),
        "kappa_max": _figure(max(kappas)),
        "untrained": list(metrics.get("untrained", {})),
        "heldout": {
            "file": heldout.get("file", ""),
            "n_segments": heldout.get("n_segments", 0),
            "n_in_training": heldout.get("n_in_training", 0),
            "kappa": _figure(held_macro.get("kappa")),
            "alpha": _figure(held_macro.get("alpha")),
            "pooled_kappa": _figure(heldout.get("pooled", {}).get("kappa")),
            "pooled_alpha": _figure(heldout.get("pooled", {}).get("alpha")),
        } if heldout else None,
    }


def _legend(codebook: Codebook) -> list[tuple[str, list[tuple[Code, str]]]]:
    return [(category, [(c, _sign(c.direction)) for c in codebook.codes if c.category == category])
            for category in codebook.categories
            if any(c.category == category for c in codebook.codes)]


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("casecoder", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
