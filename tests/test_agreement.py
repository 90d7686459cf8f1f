"""Intercoder agreement (agreement.csv) and the model as a coder (metrics.json "heldout").

The central example is worked by hand below: two coders, three codes, ten
segments. Every other test checks a rule of docs/agreement.md against that
example or against scikit-learn's and the krippendorff package's own figures.
"""

from __future__ import annotations

import json
import math
from itertools import combinations
from pathlib import Path

import krippendorff
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score

from casecoder.agreement import MEAN, POOLED, agreement, heldout_agreement, read_coders
from casecoder.cli import main
from casecoder.codebook import load_codebook
from casecoder.errors import InputError
from casecoder.report import render_report
from casecoder.settings import check_config
from casecoder.tables import read_table
from conftest import snakemake

CODES = ["FUNDED", "BROKE", "KIDS"]  # the codes of conftest's tiny codebook

# The hand-computed example. Segment n is "Segment n."; each coder's codes per segment:
#
#   segment   1        2       3       4       5       6      7      8     9     10
#   anna      FUNDED   FUNDED  FUNDED  FUNDED  -       BROKE  BROKE  KIDS  KIDS  KIDS
#   ben       FUNDED;  FUNDED  FUNDED  -       FUNDED  BROKE  -      KIDS  KIDS  KIDS
#             KIDS
#
# Per code, the 2x2 table (both coded / anna only / ben only / neither), then
#   percent agreement p_o = (both + neither) / 10
#   Cohen's kappa = (p_o - p_e) / (1 - p_e), p_e = pA*pB + (1-pA)*(1-pB)
#   Krippendorff's alpha (nominal, 2 coders, no missing): n = 20 values; the coincidence
#   matrix has o_01 = o_10 = number of disagreements d, n_1 = 2*both + d, n_0 = 2*neither + d;
#   alpha = 1 - (n - 1) * (o_01 + o_10) / (2 * n_0 * n_1) = 1 - 19 * 2d / (2 * n_0 * n_1).
#
# FUNDED: both 3 (1-3), anna only 1 (4), ben only 1 (5), neither 5.
#   p_o = 8/10 = 0.8; pA = pB = 0.4; p_e = 0.16 + 0.36 = 0.52; kappa = 0.28/0.48 = 0.583333
#   d = 2, n_1 = 8, n_0 = 12: alpha = 1 - 19*4/192 = 1 - 76/192 = 0.604167
# BROKE: both 1 (6), anna only 1 (7), neither 8.
#   p_o = 0.9; pA = 0.2, pB = 0.1; p_e = 0.02 + 0.72 = 0.74; kappa = 0.16/0.26 = 0.615385
#   d = 1, n_1 = 3, n_0 = 17: alpha = 1 - 19*2/102 = 1 - 38/102 = 0.627451
# KIDS: both 3 (8-10), ben only 1 (1), neither 6.
#   p_o = 0.9; pA = 0.3, pB = 0.4; p_e = 0.12 + 0.42 = 0.54; kappa = 0.36/0.46 = 0.782609
#   d = 1, n_1 = 7, n_0 = 13: alpha = 1 - 19*2/182 = 1 - 38/182 = 0.791209
# Pooled over the 30 (segment, code) decisions: both 7, anna only 2, ben only 2, neither 19.
#   p_o = 26/30 = 86.67 %; pA = pB = 9/30 = 0.3; p_e = 0.09 + 0.49 = 0.58;
#   kappa = (0.866667 - 0.58)/0.42 = 0.682540
#   n = 60, d = 4, n_1 = 18, n_0 = 42: alpha = 1 - 59*8/(2*42*18) = 1 - 472/1512 = 0.687831
# Mean of the three codes: percent (80 + 90 + 90)/3 = 86.67;
#   kappa (0.583333 + 0.615385 + 0.782609)/3 = 0.660442;
#   alpha (0.604167 + 0.627451 + 0.791209)/3 = 0.674276
ANNA = ["FUNDED", "FUNDED", "FUNDED", "FUNDED", "", "BROKE", "BROKE", "KIDS", "KIDS", "KIDS"]
BEN = ["FUNDED;KIDS", "FUNDED", "FUNDED", "", "FUNDED", "BROKE", "", "KIDS", "KIDS", "KIDS"]
HAND = {  # code: (percent agreement, Cohen's kappa, Krippendorff's alpha)
    "FUNDED": (80.0, 0.5833, 0.6042),
    "BROKE": (90.0, 0.6154, 0.6275),
    "KIDS": (90.0, 0.7826, 0.7912),
    POOLED: (86.67, 0.6825, 0.6878),
    MEAN: (86.67, 0.6604, 0.6743),
}


def write_coding(path: Path, codes: list[str | None], *, annotator: str = "",
                 transcript: str | None = None) -> Path:
    """An annotation CSV: segment n ('Segment n.') with codes[n-1]; None = not in the file."""
    rows = [{"text": f"Segment {n}.", "codes": c} for n, c in enumerate(codes, start=1)
            if c is not None]
    frame = pd.DataFrame(rows, columns=["text", "codes"])
    if annotator:
        frame["annotator"] = annotator
    if transcript is not None:
        frame.insert(0, "transcript_id", transcript)
    frame.to_csv(path, index=False, encoding="utf-8-sig")
    return path


def matrix(*codings: list[str | None], code: str) -> np.ndarray:
    """Coders x segments, 1/0/NaN, straight from the lists (the packages' input)."""
    return np.array([[np.nan if c is None else float(code in c.split(";")) for c in coding]
                     for coding in codings])


def by_code(table: pd.DataFrame) -> dict[str, dict]:
    return {row["code"]: row for row in table.to_dict("records")}


@pytest.fixture
def two_coders(tmp_path: Path) -> list[Path]:
    return [write_coding(tmp_path / "anna.csv", ANNA, annotator="anna"),
            write_coding(tmp_path / "ben.csv", BEN, annotator="ben")]


# ---------------------------------------------------------------- the hand-computed example


def test_hand_computed_example(two_coders):
    rows = by_code(agreement(two_coders, CODES))
    assert list(rows) == [*CODES, POOLED, MEAN]
    for code, (percent, kappa, alpha) in HAND.items():
        row = rows[code]
        assert row["coders"] == "anna;ben"
        assert row["n_segments"] == 10 and row["n_segments_alpha"] == 10
        assert row["percent_agreement"] == pytest.approx(percent, abs=0.005), code
        assert row["cohen_kappa"] == pytest.approx(kappa, abs=5e-5), code
        assert row["krippendorff_alpha"] == pytest.approx(alpha, abs=5e-5), code
    assert rows["FUNDED"]["n_coded"] == "4;4" and rows["KIDS"]["n_coded"] == "3;4"
    assert rows[POOLED]["n_coded"] == "9;9"


def test_same_figures_as_the_packages(two_coders):
    rows = by_code(agreement(two_coders, CODES))
    for code in CODES:
        data = matrix(ANNA, BEN, code=code)
        assert rows[code]["cohen_kappa"] == pytest.approx(cohen_kappa_score(*data), abs=5e-5)
        assert rows[code]["krippendorff_alpha"] == pytest.approx(
            krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"), abs=5e-5)
    pooled = np.hstack([matrix(ANNA, BEN, code=code) for code in CODES])
    assert rows[POOLED]["cohen_kappa"] == pytest.approx(cohen_kappa_score(*pooled), abs=5e-5)
    assert rows[POOLED]["krippendorff_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=pooled, level_of_measurement="nominal"), abs=5e-5)


CARL = ["FUNDED", "", "FUNDED", "FUNDED", "FUNDED", "BROKE", "BROKE", "KIDS", "", "KIDS"]


def test_three_coders(two_coders, tmp_path):
    files = [*two_coders, write_coding(tmp_path / "carl.csv", CARL, annotator="carl")]
    rows = by_code(agreement(files, CODES))
    for code in CODES:
        data = matrix(ANNA, BEN, CARL, code=code)
        pairs = list(combinations(range(3), 2))
        row = rows[code]
        assert row["coders"] == "anna;ben;carl" and row["n_coded"].count(";") == 2
        # percent agreement and kappa: means over the three pairs of coders
        assert row["percent_agreement"] == pytest.approx(
            np.mean([(data[i] == data[j]).mean() * 100 for i, j in pairs]), abs=0.005)
        assert row["cohen_kappa"] == pytest.approx(
            np.mean([cohen_kappa_score(data[i], data[j]) for i, j in pairs]), abs=5e-5)
        # alpha: all three coders at once
        assert row["krippendorff_alpha"] == pytest.approx(
            krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"), abs=5e-5)
    # hand check of one pair's share: FUNDED anna/carl differ on 2 and 5, ben/carl on 2 and 4
    assert rows["FUNDED"]["percent_agreement"] == pytest.approx((80 + 80 + 80) / 3, abs=0.005)


def test_a_missing_segment_is_missing_data_not_absence(tmp_path):
    # ben never saw segment 10 (which anna coded KIDS) and alone saw segment 11 (no code).
    anna = write_coding(tmp_path / "anna.csv", ANNA)
    ben = write_coding(tmp_path / "ben.csv", [*BEN[:9], None, ""])
    rows = by_code(agreement([anna, ben], CODES))
    kids = rows["KIDS"]
    assert kids["n_segments"] == 9 and kids["n_segments_alpha"] == 9
    # segments 1-9 only: KIDS both 2 (8, 9), ben only 1 (1), neither 6: p_o = 8/9.
    # Had the missing segment counted as "not KIDS" for ben, p_o would be 8/10 or 9/11.
    assert kids["percent_agreement"] == pytest.approx(100 * 8 / 9, abs=0.005)
    assert kids["cohen_kappa"] == pytest.approx(
        cohen_kappa_score(matrix(ANNA[:9], code="KIDS")[0], matrix(BEN[:9], code="KIDS")[0]),
        abs=5e-5)
    # alpha gets the missing values as NaN and leaves those units out itself
    data = matrix([*ANNA, None], [*BEN[:9], None, ""], code="KIDS")
    assert kids["krippendorff_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"), abs=5e-5)


def test_three_coders_with_gaps_use_common_segments_for_kappa_and_pairs_for_alpha(tmp_path):
    files = [write_coding(tmp_path / "a.csv", ANNA),
             write_coding(tmp_path / "b.csv", [None, *BEN[1:]]),
             write_coding(tmp_path / "c.csv", [*CARL[:9], None])]
    row = by_code(agreement(files, CODES))["FUNDED"]
    assert row["n_segments"] == 8  # segments 2-9: every coder saw them
    assert row["n_segments_alpha"] == 10  # segments 1 and 10 were seen by two coders
    data = matrix(ANNA, [None, *BEN[1:]], [*CARL[:9], None], code="FUNDED")
    assert row["krippendorff_alpha"] == pytest.approx(
        krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"), abs=5e-5)


def test_a_code_nobody_used_has_no_kappa_or_alpha_and_stays_out_of_the_overall_rows(tmp_path):
    anna = write_coding(tmp_path / "a.csv", [c.replace("BROKE", "") for c in ANNA])
    ben = write_coding(tmp_path / "b.csv", [c.replace("BROKE", "") for c in BEN])
    rows = by_code(agreement([anna, ben], CODES))
    assert rows["BROKE"]["percent_agreement"] == 100.0
    assert math.isnan(rows["BROKE"]["cohen_kappa"]) and math.isnan(rows["BROKE"]["krippendorff_alpha"])
    assert rows[MEAN]["cohen_kappa"] == pytest.approx((0.5833 + 0.7826) / 2, abs=1e-4)
    assert rows[MEAN]["percent_agreement"] == pytest.approx(85.0)


def test_segments_match_by_transcript_when_every_file_has_one(tmp_path):
    # Same text in two transcripts: two segments when both files give transcript_id.
    for name, codes in (("a", ["FUNDED", ""]), ("b", ["FUNDED", "FUNDED"])):
        pd.DataFrame({"transcript_id": ["T1", "T2"], "text": ["Same words.", " Same  words. "],
                      "codes": codes}).to_csv(tmp_path / f"{name}.csv", index=False)
    coders = read_coders([tmp_path / "a.csv", tmp_path / "b.csv"], CODES)
    assert len(coders[0].codes) == 2
    row = by_code(agreement([tmp_path / "a.csv", tmp_path / "b.csv"], CODES))["FUNDED"]
    assert row["n_segments"] == 2 and row["percent_agreement"] == 50.0


def test_a_segment_listed_twice_with_different_codes_is_missing_for_that_coder(tmp_path):
    anna = write_coding(tmp_path / "a.csv", ANNA)
    frame = pd.read_csv(write_coding(tmp_path / "b.csv", BEN), dtype=str, keep_default_na=False)
    pd.concat([frame, pd.DataFrame([{"text": "Segment 1.", "codes": "BROKE"},
                                    {"text": "Segment 2.", "codes": "FUNDED"}])]).to_csv(
        tmp_path / "b.csv", index=False)
    row = by_code(agreement([anna, tmp_path / "b.csv"], CODES))["FUNDED"]
    assert row["n_segments"] == 9  # segment 1 is ambiguous for ben; segment 2 is not


# ---------------------------------------------------------------- user mistakes


@pytest.mark.parametrize(("header", "row", "message"), [
    ("text,code", "Segment 1.,FUNDED", "missing column codes"),
    ("txt,codes", "Segment 1.,FUNDED", "missing column text"),
    ("text,codes", "Segment 1.,FUNDED;NOPE", "line 2: unknown code 'NOPE'"),
    ("text,codes", '" ",FUNDED', "line 2: empty text"),
])
def test_bad_files_are_one_line_errors_naming_the_file(two_coders, tmp_path, header, row, message):
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{header}\n{row}\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        agreement([two_coders[0], bad], CODES)
    assert str(bad) in str(info.value) and message in str(info.value)
    assert "\n" not in str(info.value)


def test_fewer_than_two_files_or_no_common_segment_is_an_error(two_coders, tmp_path):
    with pytest.raises(InputError, match="at least two annotation files"):
        agreement(two_coders[:1], CODES)
    other = tmp_path / "other.csv"
    other.write_text("text,codes\nSomething else.,FUNDED\n", encoding="utf-8")
    with pytest.raises(InputError, match="no segment is in two of the files"):
        agreement([two_coders[0], other], CODES)


def test_a_reviewed_coded_quotes_file_is_refused_with_a_reason(two_coders, tmp_path):
    review = tmp_path / "review.csv"
    review.write_text("text,codes,code,review\nSegment 1.,FUNDED,FUNDED,y\n", encoding="utf-8")
    with pytest.raises(InputError, match="one row per segment"):
        agreement([two_coders[0], review], CODES)


# ---------------------------------------------------------------- the command and the config


def test_command_writes_a_spreadsheet_safe_csv(tmp_path, tiny_codebook_file):
    files = [write_coding(tmp_path / "anna.csv", ANNA, annotator="=HYPERLINK(1)"),
             write_coding(tmp_path / "ben.csv", BEN)]
    out = tmp_path / "results" / "agreement.csv"
    assert main(["agreement", "--codebook", str(tiny_codebook_file), "--out", str(out),
                 *map(str, files)]) == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw
    assert "'=HYPERLINK(1);ben" in raw.decode("utf-8-sig")
    table = read_table(out)
    assert list(table.columns) == ["code", "coders", "n_segments", "n_segments_alpha", "n_coded",
                                   "percent_agreement", "cohen_kappa", "krippendorff_alpha"]
    assert table["code"].tolist() == [*CODES, POOLED, MEAN]
    assert table["coders"][0] == "=HYPERLINK(1);ben"  # read back exactly
    assert float(table["cohen_kappa"][0]) == pytest.approx(0.5833)


def test_command_error_is_one_line(tmp_path, tiny_codebook_file, capsys):
    missing = tmp_path / "nope.csv"
    assert main(["agreement", "--codebook", str(tiny_codebook_file), "--out",
                 str(tmp_path / "a.csv"), str(missing), str(missing)]) == 1
    assert capsys.readouterr().err.strip() == f"casecoder: error: {missing}: annotation file not found"


@pytest.fixture
def root(tmp_path):
    for folder in ("transcripts", "annotations", "codebooks"):
        (tmp_path / folder).mkdir()
    (tmp_path / "codebooks" / "political_will.yaml").write_text("x: 1", encoding="utf-8")
    (tmp_path / "coder1.csv").write_text("text,codes\n", encoding="utf-8")
    (tmp_path / "annotations" / "train.csv").write_text("text,codes\n", encoding="utf-8")
    return tmp_path


def test_config_defaults_and_accepted_values(root):
    full = check_config({}, root)
    assert full["agreement"] == [] and full["heldout_annotations"] == ""
    # a file the run itself writes into the results folder need not exist yet
    assert check_config({"agreement": ["coder1.csv", "results/segments.csv"]}, root)["agreement"]
    assert check_config({"agreement": "coder1.csv,results/segments.csv"}, root)["agreement"] == [
        "coder1.csv", "results/segments.csv"]
    assert check_config({"heldout_annotations": "coder1.csv"}, root)["heldout_annotations"]
    assert check_config({"heldout_annotations": None}, root)["heldout_annotations"] == ""


@pytest.mark.parametrize(("config", "message"), [
    ({"agreement": ["coder1.csv", "coder2.csv"]}, "config key 'agreement': no such file: coder2.csv"),
    ({"heldout_annotations": "gone.csv"}, "config key 'heldout_annotations': no such file: gone.csv"),
    ({"heldout_annotations": "annotations/train.csv"}, "is in the annotations folder"),
    ({"agreement": [""]}, "config key 'agreement.0'"),
])
def test_config_errors_name_the_file(root, config, message):
    with pytest.raises(InputError) as info:
        check_config(config, root)
    assert message in str(info.value) and "\n" not in str(info.value)


# ---------------------------------------------------------------- the model as a coder


class StubModel:
    """Codes FUNDED and BROKE from a fixed answer sheet, through the public predict API."""

    codes_ = ["FUNDED", "BROKE"]
    rule_codes_: list[str] = []

    def __init__(self, answers: dict[str, list[str]]):
        self.answers = answers

    def predict(self, texts, rule_hits=None):
        assert rule_hits is None
        return [self.answers[t] for t in texts]


def test_heldout_scores_the_model_as_a_second_coder(tmp_path, tiny_codebook_file):
    book = load_codebook(tiny_codebook_file)
    heldout = write_coding(tmp_path / "heldout.csv", ANNA)
    # The model answers as ben did (KIDS, which it was not trained on, aside), and
    # segment 10 is also a training text, so it is not held out.
    answers = {f"Segment {n}.": [c for c in codes.split(";") if c and c != "KIDS"]
               for n, codes in enumerate(BEN, start=1)}
    result = heldout_agreement(StubModel(answers), book, heldout, [" Segment  10. "])
    assert result["file"] == "heldout.csv" and len(result["sha256"]) == 64
    assert result["n_segments"] == 9 and result["n_in_training"] == 1
    assert result["untrained"] == ["KIDS"] and set(result["codes"]) == {"FUNDED", "BROKE"}
    for code in ("FUNDED", "BROKE"):
        data = matrix(ANNA[:9], [";".join(answers[f"Segment {n}."]) for n in range(1, 10)],
                      code=code)
        figures = result["codes"][code]
        assert figures["kappa"] == pytest.approx(cohen_kappa_score(*data), abs=5e-5)
        assert figures["alpha"] == pytest.approx(
            krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"), abs=5e-5)
        assert figures["n_positive"] == int(data[0].sum())
        assert figures["n_predicted"] == int(data[1].sum())
    # BROKE on segments 1-9: both 1 (6), human only 1 (7), neither 7: p_o = 8/9,
    # p_e = 2/9 * 1/9 + 7/9 * 8/9 = 58/81, kappa = (72/81 - 58/81) / (23/81) = 14/23
    assert result["codes"]["BROKE"]["kappa"] == pytest.approx(14 / 23, abs=5e-5)
    assert result["macro"]["kappa"] == pytest.approx(
        np.mean([result["codes"][c]["kappa"] for c in ("FUNDED", "BROKE")]), abs=1e-4)
    json.dumps(result, allow_nan=False)  # JSON-ready: no NaN


def _toy_annotations(folder: Path) -> None:
    """A small bilingual training set for the tiny codebook."""
    fragments = [("县里拨了专项资金", "FUNDED"), ("政府安排了三十万预算", "FUNDED"),
                 ("村里没钱", "BROKE"), ("我们实在没钱", "BROKE"),
                 ("留守儿童有人管了", "KIDS"), ("孩子们很开心", "KIDS"),
                 ("我们开了好几次会", ""), ("天气一直不太好", ""), ("路上走了两个小时", "")]
    rows = []
    for i, (first, code1) in enumerate(fragments):
        for second, code2 in fragments[i + 1:]:
            rows.append({"text": f"{first}，{second}。",
                         "codes": ";".join(sorted({code1, code2} - {""}))})
    folder.mkdir()
    pd.DataFrame(rows).to_csv(folder / "toy.csv", index=False)


def test_train_model_writes_heldout_figures_and_keeps_the_other_keys(tmp_path, tiny_codebook_file):
    from casecoder import steps
    from casecoder.classifier import load_model
    from casecoder.rules import RuleTagger

    _toy_annotations(tmp_path / "annotations")
    heldout = tmp_path / "heldout.csv"
    texts = ["县里又拨了一笔专项资金。", "我们没钱了。", "留守儿童很开心。", "开会开了一天。",
             "政府的预算到位了，孩子们很开心。", "县里拨了专项资金，我们开了好几次会。"]
    human = ["FUNDED", "BROKE", "KIDS", "", "FUNDED;KIDS", "FUNDED"]
    pd.DataFrame({"text": texts, "codes": human}).to_csv(heldout, index=False)
    runs = {}
    for name, extra in (("plain", None), ("heldout", heldout)):
        out = tmp_path / name
        steps.train_model(annotations=tmp_path / "annotations", codebook=tiny_codebook_file,
                          model=out / "model.skops", metrics=out / "metrics.json",
                          reviewed=out / "reviewed.json", folds=3, heldout=extra)
        runs[name] = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    held = runs["heldout"].pop("heldout")
    assert runs["heldout"] == runs["plain"]  # every existing key as it was
    assert held["n_segments"] == 5 and held["n_in_training"] == 1  # the last text was trained on
    book = load_codebook(tiny_codebook_file)
    model = load_model(tmp_path / "heldout" / "model.skops", codebook_sha256=book.sha256)
    scored = texts[:5]
    predicted = model.predict(scored, RuleTagger(book).hit_matrix(scored, model.rule_codes_))
    assert set(held["codes"]) == set(model.codes_) == set(CODES)
    for code in CODES:
        data = np.array([[code in h.split(";") for h in human[:5]],
                         [code in p for p in predicted]], dtype=float)
        kappa = cohen_kappa_score(*data) if len(set(data.ravel())) > 1 else None
        assert held["codes"][code]["kappa"] == (
            pytest.approx(kappa, abs=5e-5) if kappa is not None else None)
        assert held["codes"][code]["n_predicted"] == int(data[1].sum())


# ---------------------------------------------------------------- the report


PW = {"FUNDED": "PW_PRIORITY_HIGH", "BROKE": "CTX_FISCAL_CONSTRAINT", "KIDS": "TGT_CHILDREN"}


def political_will(coding: list[str]) -> list[str]:
    """The same coding with the bundled codebook's IDs."""
    return [";".join(PW[c] for c in codes.split(";") if c) for codes in coding]


def _report(agreement_table=None, metrics=None) -> str:
    book = load_codebook(Path(__file__).resolve().parents[1] / "codebooks" / "political_will.yaml")
    return render_report(pd.DataFrame(columns=["case", "code"]), pd.DataFrame(columns=["case"]),
                         pd.DataFrame(columns=["case"]), book, agreement=agreement_table,
                         metrics=metrics)


def test_report_shows_agreement_per_code_and_overall(tmp_path):
    book = load_codebook(Path(__file__).resolve().parents[1] / "codebooks" / "political_will.yaml")
    files = [write_coding(tmp_path / f"{name}.csv", political_will(coding), annotator=annotator)
             for name, annotator, coding in (("a", "anna <b>", ANNA), ("b", "ben", BEN))]
    page = _report(agreement(files, book.ids))
    assert 'id="agreement"' in page and 'href="#agreement"' in page
    assert "anna &lt;b&gt;" in page and "anna <b>" not in page
    # the hand example's pooled and mean figures, in a methods section's words
    assert "Cohen&rsquo;s kappa 0.68" in page and "Krippendorff&rsquo;s alpha (nominal) 0.69" in page
    assert "over the 3\n    codes in use, kappa was 0.66 and alpha 0.67" in page
    assert "percent agreement was 86.7%" in page
    assert '<span class="code-id">TGT_CHILDREN</span>' in page and "<td>0.78</td>" not in page
    assert '<td class="num">0.78</td>' in page
    assert 'id="model-coder"' not in page and 'id="agreement"' not in _report()


def test_report_states_the_model_as_a_coder(tmp_path):
    metrics = {
        "macro": {"kappa": 0.658}, "n_examples": 1980, "folds": 5,
        "codes": {"PW_PRIORITY_HIGH": {"kappa": 0.55, "f1": 0.57, "n_positive": 93},
                  "TGT_CHILDREN": {"kappa": 0.92, "f1": 0.94, "n_positive": 357}},
        "untrained": {"LEAD_TASK": 3},
    }
    page = _report(metrics=metrics)
    assert 'id="model-coder"' in page and "The model as a coder" in page
    assert "averaged 0.66 over 2 codes" in page and "(range 0.55 to 0.92)" in page
    assert "LEAD_TASK" in page and "held out" not in page
    metrics["heldout"] = {"file": "gold.csv", "n_segments": 70, "n_in_training": 0,
                          "codes": {"TGT_CHILDREN": {"n_positive": 20, "n_predicted": 18,
                                                     "kappa": 0.81, "alpha": 0.8}},
                          "macro": {"kappa": 0.81, "alpha": 0.8},
                          "pooled": {"kappa": -0.05, "alpha": None}}
    page = _report(metrics=metrics)
    assert "Against 70 held-out segments coded by a researcher" in page
    assert "kappa was\n    \u22120.05 and alpha \u2014" in page
    assert "<td class=\"num\">0.81</td>" in page and "<td class=\"num\">0.80</td>" in page


# ---------------------------------------------------------------- the workflow


@pytest.mark.slow
def test_snakemake_agreement_writes_agreement_csv(tmp_path):
    files = [write_coding(tmp_path / "anna.csv", political_will(ANNA[:6])),
             write_coding(tmp_path / "ben.csv", political_will(BEN[:6]))]
    results = tmp_path / "results"
    config = f"agreement=[{files[0]},{files[1]}]"
    snakemake("--cores", "1", "agreement", "--config", config, f"results={results}")
    table = read_table(results / "agreement.csv")
    row = table[table["code"] == "PW_PRIORITY_HIGH"].iloc[0]
    # segments 1-6: anna codes 1-4, ben 1, 2, 3, 5: both 3, one each, neither 1
    # p_o = 4/6; pA = pB = 4/6; p_e = 16/36 + 4/36 = 20/36; kappa = (24/36 - 20/36)/(16/36) = 0.25
    assert row["coders"] == "anna;ben" and row["n_segments"] == "6"
    assert float(row["percent_agreement"]) == pytest.approx(66.67)
    assert float(row["cohen_kappa"]) == pytest.approx(0.25)
    assert (results / "logs" / "agreement.log").is_file()
    assert (results / "benchmarks" / "agreement.tsv").is_file()
    assert not (results / "report.html").exists()  # the target builds agreement.csv alone
    # nothing changed: nothing to do
    again = snakemake("--cores", "1", "agreement", "--config", config, f"results={results}")
    assert "Nothing to be done" in again.stdout + again.stderr



def test_turn_scores_unite_segments_per_turn_and_skip_interviewers():
    from casecoder.agreement import turn_scores

    segments = pd.DataFrame({
        "transcript_id": ["T", "T", "T", "T"],
        "turn": [1, 2, 2, 3],
        "codes": ["", "TGT_CHILDREN", "PART_FORMAL", "PART_FORMAL"],
    })
    gold = pd.DataFrame({
        "transcript_id": ["T", "T", "T"],
        "turn": [1, 2, 3],
        "is_interviewer": [1, 0, 0],
        "codes": ["", "TGT_CHILDREN;PART_FORMAL", "TGT_CHILDREN"],
    })
    macro, per_code = turn_scores(segments, gold)
    # turn 2: both codes from two segments; turn 3: PART_FORMAL wrong, TGT_CHILDREN missed
    assert per_code == {"PART_FORMAL": pytest.approx(2 / 3), "TGT_CHILDREN": pytest.approx(2 / 3)}
    assert macro == pytest.approx(2 / 3)


def test_turn_scores_name_gold_turns_the_workflow_lacks():
    from casecoder.agreement import turn_scores

    segments = pd.DataFrame({"transcript_id": ["T"], "turn": [1], "codes": [""]})
    gold = pd.DataFrame({"transcript_id": ["T", "U"], "turn": [1, 4], "is_interviewer": [0, 0],
                         "codes": ["", "PART_FORMAL"]})
    with pytest.raises(InputError, match=r"did not produce: \[\('U', 4\)\]"):
        turn_scores(segments, gold)
