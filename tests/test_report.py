"""report.html: self-contained, escaped, four case sections, strongest quotes first."""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from casecoder.aggregate import QUOTE_COLUMNS
from casecoder.codebook import Codebook, parse_codebook
from casecoder.report import case_anchors, render_report, strongest_quotes, write_report

CASES = ["County C", "County Y", "County J", "S县"]
SCRIPT = "<script>alert('x')</script> 我们没有钱"
TRANSLATION = "The county set up a special fund & asked the city for more."


def _code(cid: str, category: str, direction: int, en: str, zh: str) -> dict:
    return {
        "id": cid, "category": category, "direction": direction,
        "label": {"en": en, "zh": zh},
        "definition": {"en": f"Segments about {en.lower()}.", "zh": f"关于{zh}的片段。"},
        "examples": {"en": ["one", "two"], "zh": ["一", "二"]},
    }


@pytest.fixture(scope="module")
def codebook() -> Codebook:
    return parse_codebook({
        "name": "pw-test", "version": "0.3",
        "title": {"en": "Political will (test)", "zh": "政治意愿（测试）"},
        "categories": ["political_will", "partnership", "context", "target"],
        "codes": [
            _code("PW_RESOURCES_COMMITTED", "political_will", 1, "Resources committed", "投入资源"),
            _code("PW_RESOURCES_WITHHELD", "political_will", -1, "Resources withheld", "拒绝投入"),
            _code("PART_FORMAL", "partnership", 0, "Formal partnership", "正式合作"),
            _code("PART_INFORMAL", "partnership", 0, "Informal partnership", "非正式合作"),
            _code("CTX_FISCAL_CONSTRAINT", "context", 0, "Fiscal constraint", "财政约束"),
            _code("TGT_CHILDREN", "target", 0, "Left-behind children", "留守儿童"),
        ],
    }, "test.yaml")


def quote(case: str, code: str, turn: int, text: str, *, source: str = "rule",
          confidence: float = 1.0, translation: str = "", transcript: str = "",
          speaker: str = "王主任", language: str = "zh") -> dict:
    return {
        "transcript_id": transcript or f"{case[-1]}-01", "case": case,
        "respondent_role": "official", "speaker": speaker, "turn": turn, "segment": 1,
        "start": turn * 100, "end": turn * 100 + len(text), "language": language, "text": text,
        "translation": translation, "code": code, "source": source, "confidence": confidence,
        "rule": f"{code}/kw" if "rule" in source else "", "codebook_version": "pw-test 0.3",
        "model_version": "" if source == "rule" else "abc", "review": "",
    }


# County C, PW_RESOURCES_COMMITTED: rule hits first, then by confidence, then turn order.
ORDER_ROWS = [
    quote("County C", "PW_RESOURCES_COMMITTED", 20, "model only, very sure", source="model",
          confidence=0.99, language="en", speaker="Li Wei"),
    quote("County C", "PW_RESOURCES_COMMITTED", 9, "县里专门拨了钱（rule, later turn）"),
    quote("County C", "PW_RESOURCES_COMMITTED", 3, "两种方法都命中了（rule+model 0.70）",
          source="rule+model", confidence=0.70),
    quote("County C", "PW_RESOURCES_COMMITTED", 2, "县里设立了专项资金。", translation=TRANSLATION),
]


@pytest.fixture(scope="module")
def tables(codebook: Codebook) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rows = [
        *ORDER_ROWS,
        quote("County C", "PART_FORMAL", 4, "我们签了购买服务合同。"),
        quote("County C", "TGT_CHILDREN", 2, "县里设立了专项资金。"),
        quote("County Y", "PW_RESOURCES_WITHHELD", 5, "打了报告，一直没有回音。"),
        quote("County Y", "PART_FORMAL", 6, "They tendered it to the cheapest bidder.",
              language="en", speaker="Manager Liu", source="model", confidence=0.81),
        quote("County J", "PART_INFORMAL", 3, "No contract, just the students' goodwill.",
              language="mixed", speaker="Student leader"),
        quote("County J", "TGT_CHILDREN", 3, "留守儿童 in the village school.", language="mixed",
              speaker="Student leader"),
        quote("S县", "CTX_FISCAL_CONSTRAINT", 1, SCRIPT, transcript="S-01"),
        quote("S县", "PW_RESOURCES_WITHHELD", 2, "=SUM(A1) 他们不给钱", transcript="S-01"),
    ]
    quotes = pd.DataFrame(rows, columns=QUOTE_COLUMNS)
    counts = quotes.groupby(["case", "code"]).size()
    matrix = pd.DataFrame([{"case": c, **{k: int(counts.get((c, k), 0)) for k in codebook.ids}}
                           for c in CASES])
    summary = pd.DataFrame({
        "case": CASES, "n_transcripts": [2, 1, 1, 1], "n_segments": [40, 20, 18, 12],
        "n_coded": [6, 2, 2, 2], "political_will_index": [1.0, -1.0, math.nan, -1.0],
        "formality": ["formal", "formal", "informal", "unclear"],
        "mode": ["unclear", "unclear", "unclear", "unclear"],
        "typology": ["formal-unclear", "formal-unclear", "informal-unclear", "unclear-unclear"],
        "coded_official": [6, 1, 0, 2], "coded_company_founder": [0, 1, 0, 0],
        "coded_principal_volunteer": [0, 0, 2, 0],
    })
    return quotes, matrix, summary


@pytest.fixture(scope="module")
def html(tables, codebook: Codebook) -> str:
    quotes, matrix, summary = tables
    return render_report(quotes, matrix, summary, codebook,
                         run_info={"model": "abc123def456", "run": "2024-05-01 <test>"})


class _Outline(HTMLParser):
    """The case sections, the figures of quotes, and every src/href of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.links: list[str] = []
        self.figures: list[list[tuple[str, str]]] = []  # per quote: (class or tag, text)
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.links += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href", "srcset")]
        if tag == "section" and "case" in (found.get("class") or "").split():
            self.sections.append(found.get("id") or "")
        if tag == "figure" and found.get("class") == "quote":
            self.figures.append([])
        self._in.append(found.get("class") or tag)

    def handle_endtag(self, tag: str) -> None:
        if self._in:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if self.figures and data.strip() and self._in:
            self.figures[-1].append((self._in[-1], data.strip()))


def outline(html: str) -> _Outline:
    parser = _Outline()
    parser.feed(html)
    return parser


def test_nothing_is_loaded_from_elsewhere(html: str):
    links = outline(html).links
    assert links, "the page has in-page links"
    assert all(link.startswith("#") for link in links), links
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert not re.search(r"url\(\s*['\"]?\s*(https?:)?//|@import|<link\b|<script\s+src", html, re.I)
    assert "<svg" in html  # charts are inline


def test_four_case_sections_with_anchors(html: str):
    assert outline(html).sections == ["case-county-c", "case-county-y", "case-county-j", "case-s县"]
    for anchor in ("case-county-c", "case-s县"):
        assert f'href="#{anchor}"' in html


def test_case_anchors_are_unique():
    assert case_anchors(["A b", "a-b", "A  B!", ""]) == {
        "A b": "case-a-b", "a-b": "case-a-b-2", "A  B!": "case-a-b-3", "": "case-case"}


def test_quotes_are_escaped(html: str):
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; 我们没有钱" in html
    assert "2024-05-01 &lt;test&gt;" in html
    assert html.count("<script>") == 1  # only the page's own print helper


def test_translation_beneath_the_original(html: str):
    figure = next(f for f in outline(html).figures if ("translation", TRANSLATION) in f)
    kinds = [kind for kind, _ in figure]
    assert figure[0] == ("blockquote", "县里设立了专项资金。")
    assert kinds.index("blockquote") < kinds.index("translation") < kinds.index("cite")
    assert ("cite", "C-01 · 王主任 · turn 2") in figure
    assert '<blockquote lang="zh">' in html and '<p class="translation" lang="en">' in html


def test_strongest_quotes_rule_hits_first_then_confidence_then_turn(tables):
    quotes, _, _ = tables
    best = strongest_quotes(quotes)[("County C", "PW_RESOURCES_COMMITTED")]
    assert best["turn"].tolist() == [2, 9, 3]  # rule 1.0 (turns 2, 9), rule+model 0.70
    assert len(best) == 3  # the model-only hit is the fourth


def test_strongest_quotes_in_page_order(html: str):
    section = html[html.index('id="case-county-c"'):html.index('id="case-county-y"')]
    block = section[section.index("PW_RESOURCES_COMMITTED"):section.index("PART_FORMAL")]
    positions = [block.index(t) for t in ("县里设立了专项资金", "rule, later turn", "rule+model 0.70")]
    assert positions == sorted(positions)
    assert "model only, very sure" not in block
    assert "+1 more in coded_quotes.xlsx" in block


def test_header_summary_and_legend(html: str, codebook: Codebook):
    assert "Political will (test)" in html and "政治意愿（测试）" in html
    assert "pw-test 0.3" in html and "abc123def456" in html
    assert "+1.00" in html and "\u22121.00" in html and "\u2014" in html  # index; NaN shows a dash
    assert "principal volunteer" in html  # coded_<role> columns
    legend = html[html.index('<details id="codebook"'):]
    for code in codebook.codes:
        assert code.id in legend and code.definition.en in legend and code.definition.zh in legend
    assert '<span class="dir dir-minus">\u22121</span>' in legend


def test_heat_map_has_every_case_and_code_with_counts_on_hover(html: str, codebook: Codebook):
    heatmap = html[html.index('data-chart="heatmap"'):html.index('id="summary"')]
    tips = re.findall(r"<title>([^<]*)</title>", heatmap)
    assert len(tips) == len(CASES) * len(codebook.ids)
    assert "County C · PW_RESOURCES_COMMITTED (Resources committed): 4 of 6 coded segments (67%)" \
        in tips
    assert "PW_RESOURCES_WITHHELD  \u22121" in heatmap  # direction visible on the axis


def test_same_input_same_page(tables, codebook: Codebook, html: str, tmp_path: Path):
    quotes, matrix, summary = tables
    path = tmp_path / "report.html"
    write_report(quotes, matrix, summary, codebook, path,
                 run_info={"model": "abc123def456", "run": "2024-05-01 <test>"})
    assert path.read_text(encoding="utf-8") == html


def test_no_quotes_at_all(codebook: Codebook):
    summary = pd.DataFrame({"case": ["County Q"], "n_transcripts": [1], "n_segments": [3],
                            "n_coded": [0], "political_will_index": [math.nan],
                            "formality": ["unclear"], "mode": ["unclear"],
                            "typology": ["unclear-unclear"]})
    matrix = pd.DataFrame([{"case": "County Q", **{c: 0 for c in codebook.ids}}])
    page = render_report(pd.DataFrame(columns=QUOTE_COLUMNS), matrix, summary, codebook,
                         title="Pilot")
    assert "<title>Pilot</title>" in page and "No coded quotes for this case." in page


@pytest.mark.browser
def test_page_renders_offline_in_chromium(tables, codebook: Codebook, tmp_path: Path):
    from browser import find_chromium, render

    if find_chromium() is None:
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    quotes, matrix, summary = tables
    page = tmp_path / "report.html"
    write_report(quotes, matrix, summary, codebook, page)
    seen = render(page, tmp_path / "report.png")
    assert seen["requests"] == []
    assert seen["console_errors"] == []
    assert seen["heatmap_elements"] >= 1
    assert seen["heatmap_cells"] == len(CASES) * len(codebook.ids)
    assert seen["case_sections"] == ["case-county-c", "case-county-y", "case-county-j", "case-s县"]
    assert seen["scroll_width"] <= 1366  # no sideways scrolling at laptop width
    assert (tmp_path / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_odd_tables_still_give_a_page():
    """No signed codes, text cells in the summary, a case only the quotes know, no cases."""

    def plain(cid: str) -> dict:
        return _code(cid, "target", 0, cid.title(), cid)

    book = parse_codebook({"name": "n", "version": "1", "title": {"en": "T", "zh": "T"},
                           "categories": ["target"], "codes": [plain("A"), plain("B")]}, "x")
    summary = pd.DataFrame({"case": ["X"], "n_transcripts": ["1"], "n_segments": ["3"],
                            "n_coded": [""], "political_will_index": [""], "formality": [""],
                            "mode": [""], "typology": [""]})
    quotes = pd.DataFrame([quote("Z", "A", 1, "只在引文里"), quote("Z", "A", 2, "第二条")],
                          columns=QUOTE_COLUMNS)
    page = render_report(quotes, pd.DataFrame(columns=["case", "A", "B"]), summary, book)
    assert outline(page).sections == ["case-x", "case-z"]
    assert 'id="profile"' not in page  # nothing signed to profile
    empty = render_report(pd.DataFrame(columns=QUOTE_COLUMNS), pd.DataFrame(columns=["case"]),
                          pd.DataFrame(columns=["case", "n_coded"]), book)
    assert "No cases" in empty and outline(empty).sections == []
