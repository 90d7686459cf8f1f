"""Intercoder agreement: how far two or more coders agree on the codes of the same segments.

A *coder* is one annotation file (``text``, ``codes``, optional ``transcript_id``
and ``annotator``; see :mod:`casecoder.annotations`): a researcher's coding, a
colleague's, or the workflow's own ``segments.csv``, which has the same
columns. Segments are matched across files by their text (whitespace-
insensitive, :func:`casecoder.annotations.text_key`), and also by transcript
when every file has a ``transcript_id`` column.

Every code is a yes/no decision per segment. A segment a coder's file does not
list is *missing* for that coder, not "no code": absence of a code counts as
agreement only on segments both (all) coders saw.

- ``percent_agreement`` and ``cohen_kappa`` use the segments every coder saw.
  With more than two coders both are means over the pairs of coders
  (average pairwise percent agreement; Light's kappa, the mean of pairwise
  Cohen's kappas).
- ``krippendorff_alpha`` (nominal) uses every segment at least two coders saw;
  alpha handles the missing values itself.

Besides one row per code, the table has two overall rows over the codes that
some coder used on the compared segments: ``(all codes, pooled)`` treats every
(segment, code) decision as one unit, and ``(all codes, mean)`` is the
unweighted mean of the per-code figures, so a rare code counts as much as a
common one.

:func:`heldout_agreement` scores the trained model as one more coder against a
held-out annotation file, for ``metrics.json``.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd

from casecoder.annotations import parse_codes, text_key
from casecoder.errors import InputError
from casecoder.tables import read_table

log = logging.getLogger("casecoder")

POOLED = "(all codes, pooled)"
MEAN = "(all codes, mean)"
COLUMNS = ["code", "coders", "n_segments", "n_segments_alpha", "n_coded",
           "percent_agreement", "cohen_kappa", "krippendorff_alpha"]

SegmentKey = tuple[str, str]  # (transcript_id or "", text_key)


@dataclass
class Coder:
    """One coder's codes per segment, and the segment texts as the file gives them."""

    name: str
    file: str
    codes: dict[SegmentKey, frozenset[str]] = field(default_factory=dict)
    texts: dict[SegmentKey, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------
# Reading coders


def read_coders(paths: Sequence[str | Path], code_ids: Collection[str]) -> list[Coder]:
    """One coder per annotation file, matched by transcript too when every file has
    a ``transcript_id`` column."""
    frames = [_read_annotation_file(Path(p)) for p in paths]
    by_transcript = all("transcript_id" in frame.columns for frame in frames)
    coders = [_coder(Path(p), frame, set(code_ids), by_transcript)
              for p, frame in zip(paths, frames, strict=True)]
    _rename_duplicates(coders)
    return coders


def read_coder(path: str | Path, code_ids: Collection[str], *, by_transcript: bool = False
               ) -> Coder:
    """One annotation file as a coder (see :func:`read_coders`)."""
    return _coder(Path(path), _read_annotation_file(Path(path)), set(code_ids), by_transcript)


def _read_annotation_file(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(path, "annotation file not found")
    if path.suffix.lower() != ".csv":
        raise InputError(path, "agreement compares annotation CSV files (columns text, codes)")
    frame = read_table(path, required=("text", "codes"))
    if "review" in frame.columns and "code" in frame.columns:
        raise InputError(path, "a reviewed coded_quotes file lists (segment, code) pairs; "
                               "agreement needs one row per segment with columns text, codes")
    return frame


def _coder(path: Path, frame: pd.DataFrame, known: set[str], by_transcript: bool) -> Coder:
    """Read the rows; a segment listed twice with different codes is ambiguous and
    counts as missing for this coder (logged)."""
    annotators = {a.strip() for a in frame.get("annotator", []) if a.strip()}
    coder = Coder(name=annotators.pop() if len(annotators) == 1 else path.stem, file=str(path))
    transcripts = frame["transcript_id"] if by_transcript else [""] * len(frame)
    ambiguous: set[SegmentKey] = set()
    for row, (text, codes, transcript) in enumerate(
        zip(frame["text"], frame["codes"], transcripts, strict=True), start=2
    ):
        if not text.strip():
            raise InputError(path, "empty text", line=row)
        key = (transcript.strip(), text_key(text))
        label = frozenset(parse_codes(codes, known, path, row))
        if key in coder.codes and coder.codes[key] != label:
            ambiguous.add(key)
        coder.codes.setdefault(key, label)
        coder.texts.setdefault(key, text)
    for key in ambiguous:
        del coder.codes[key], coder.texts[key]
    if ambiguous:
        log.warning("%s: %d segment(s) listed more than once with different codes count as "
                    "not coded by %s", path, len(ambiguous), coder.name)
    return coder


def _rename_duplicates(coders: list[Coder]) -> None:
    names = [c.name for c in coders]
    for coder in coders:
        if names.count(coder.name) > 1:
            coder.name = f"{coder.name} ({Path(coder.file).name})"


# ---------------------------------------------------------------------------
# The figures


def decisions(coders: Sequence[Coder], code: str, segments: Sequence[SegmentKey]) -> np.ndarray:
    """Coders x segments: 1 = coded, 0 = seen but not coded, NaN = not seen."""
    data = np.full((len(coders), len(segments)), np.nan)
    for i, coder in enumerate(coders):
        for j, key in enumerate(segments):
            if key in coder.codes:
                data[i, j] = float(code in coder.codes[key])
    return data


def percent_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Share of segments (in percent) on which two coders made the same decision."""
    return float(np.mean(a == b) * 100) if len(a) else math.nan


def cohen_kappa(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's kappa of two coders' 0/1 decisions; NaN where undefined (no segment, or
    both coders made the same decision everywhere, so chance agreement is 1)."""
    from sklearn.metrics import cohen_kappa_score

    if not len(a) or (len(set(a)) == 1 and set(a) == set(b)):
        return math.nan
    return float(cohen_kappa_score(a.astype(int), b.astype(int), labels=[0, 1]))


def krippendorff_alpha(data: np.ndarray) -> float:
    """Krippendorff's alpha (nominal) of a coders x units matrix with NaN for missing;
    NaN where undefined (no unit two coders saw, or one value throughout)."""
    import krippendorff

    pairable = data[:, (~np.isnan(data)).sum(axis=0) >= 2]
    values = pairable[~np.isnan(pairable)]
    if not values.size or len(set(values)) < 2:
        return math.nan
    return float(krippendorff.alpha(reliability_data=data, value_domain=[0.0, 1.0],
                                     level_of_measurement="nominal"))


def _pairwise(common: np.ndarray, figure) -> float:
    """Mean of a two-coder figure over every pair of coders (rows), ignoring NaN pairs."""
    return _mean([figure(common[i], common[j]) for i, j in combinations(range(len(common)), 2)])


def agreement_figures(data: np.ndarray) -> dict:
    """Percent agreement, kappa and alpha of one coders x units matrix (see module doc)."""
    seen = ~np.isnan(data)
    common = data[:, seen.all(axis=0)]
    return {
        "n_segments": int(common.shape[1]),
        "n_segments_alpha": int((seen.sum(axis=0) >= 2).sum()),
        "n_coded": [int(row.sum()) for row in common],
        "percent_agreement": _pairwise(common, percent_agreement),
        "cohen_kappa": _pairwise(common, cohen_kappa),
        "krippendorff_alpha": krippendorff_alpha(data),
    }


def agreement_table(coders: Sequence[Coder], code_ids: Sequence[str]) -> pd.DataFrame:
    """One row per code, then the pooled and the mean row over the codes in use."""
    if len(coders) < 2:
        raise InputError("agreement", "needs at least two annotation files, one per coder "
                                      "(config key 'agreement')")
    segments = sorted(set().union(*(c.codes for c in coders)))
    matrices = {code: decisions(coders, code, segments) for code in code_ids}
    seen = np.array([[key in coder.codes for key in segments] for coder in coders])
    if not (seen.sum(axis=0) >= 2).any():
        raise InputError("agreement", "no segment is in two of the files "
                         f"({', '.join(c.file for c in coders)}): do they code the same segments?")
    figures = {code: agreement_figures(data) for code, data in matrices.items()}
    used = [code for code, data in matrices.items() if np.nansum(data) > 0]
    overall = {"n_segments": int(seen.all(axis=0).sum()),
               "n_segments_alpha": int((seen.sum(axis=0) >= 2).sum())}
    pooled = agreement_figures(np.hstack([matrices[c] for c in used])) if used else {}
    rows = [{"code": code, **figures[code]} for code in code_ids]
    rows.append({"code": POOLED, **pooled, **overall})
    rows.append({"code": MEAN, **_mean_row([figures[c] for c in used]), **overall})
    table = pd.DataFrame(rows).reindex(columns=COLUMNS)
    table["coders"] = ";".join(c.name for c in coders)
    table["n_coded"] = table["n_coded"].map(
        lambda v: ";".join(str(n) for n in v) if isinstance(v, list) else "")
    table["percent_agreement"] = table["percent_agreement"].astype(float).round(2)
    for column in ("cohen_kappa", "krippendorff_alpha"):
        table[column] = table[column].astype(float).round(4)
    return table


def _mean_row(figures: list[dict]) -> dict:
    return {name: _mean([f[name] for f in figures])
            for name in ("percent_agreement", "cohen_kappa", "krippendorff_alpha")}


def agreement(paths: Sequence[str | Path], code_ids: Sequence[str]) -> pd.DataFrame:
    """The agreement table of annotation files coding the same segments."""
    coders = read_coders(paths, code_ids)
    table = agreement_table(coders, code_ids)
    pooled = table[table["code"] == POOLED].iloc[0]
    log.info("%d coders (%s) on %d common segments: pooled percent agreement %.1f, kappa %.3f, "
             "alpha %.3f", len(coders), pooled["coders"], pooled["n_segments"],
             pooled["percent_agreement"], pooled["cohen_kappa"], pooled["krippendorff_alpha"])
    return table


# ---------------------------------------------------------------------------
# The model as a coder


def heldout_agreement(model, codebook, path: str | Path, training_texts: Sequence[str]) -> dict:
    """Score the trained model (its own thresholds, without the rules' union) against a
    held-out annotation file: per code and overall, as for two coders.

    Segments whose text is also in the training annotations are left out (they are
    not held out) and counted. Codes the model was not trained on are not scored.
    """
    from casecoder.rules import RuleTagger

    path = Path(path)
    human = read_coder(path, codebook.ids)
    in_training = {text_key(t) for t in training_texts}
    seen_in_training = [k for k in human.codes if k[1] in in_training]
    for key in seen_in_training:
        del human.codes[key], human.texts[key]
    if seen_in_training:
        log.warning("%s: %d held-out segment(s) are also in the training annotations and are "
                    "left out", path, len(seen_in_training))
    keys = list(human.codes)
    texts = [human.texts[k] for k in keys]
    rule_codes = list(getattr(model, "rule_codes_", []))
    hits = RuleTagger(codebook).hit_matrix(texts, rule_codes) if rule_codes and texts else None
    predicted = model.predict(texts, rule_hits=hits) if texts else []
    machine = Coder(name="model", file="",
                    codes={k: frozenset(p) for k, p in zip(keys, predicted, strict=True)})
    codes = list(model.codes_)
    matrices = {code: decisions([human, machine], code, keys) for code in codes}
    per_code = {}
    for code, data in matrices.items():
        figures = agreement_figures(data)
        per_code[code] = {
            "n_positive": figures["n_coded"][0],
            "n_predicted": figures["n_coded"][1],
            "percent_agreement": _json_number(figures["percent_agreement"], 2),
            "kappa": _json_number(figures["cohen_kappa"], 4),
            "alpha": _json_number(figures["krippendorff_alpha"], 4),
        }
    pooled = agreement_figures(np.hstack(list(matrices.values()))) if codes and keys else {}
    return {
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "n_segments": len(keys),
        "n_in_training": len(seen_in_training),
        "codes": per_code,
        "macro": {name: _json_number(_mean([m[name] for m in per_code.values()]), digits)
                  for name, digits in (("percent_agreement", 2), ("kappa", 4), ("alpha", 4))},
        "pooled": {
            "percent_agreement": _json_number(pooled.get("percent_agreement", math.nan), 2),
            "kappa": _json_number(pooled.get("cohen_kappa", math.nan), 4),
            "alpha": _json_number(pooled.get("krippendorff_alpha", math.nan), 4),
        },
        "untrained": [c for c in codebook.ids if c not in codes],
    }


def _mean(values: Sequence[float | None]) -> float:
    """Mean of the defined values (None and NaN are undefined); NaN when none is."""
    defined = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.mean(defined)) if defined else math.nan


def _json_number(value: float, digits: int) -> float | None:
    """Rounded, and None (JSON null) where the figure is undefined."""
    return None if math.isnan(value) else round(float(value), digits)


# ---------------------------------------------------------------------------
# The workflow against a gold coding of whole turns


def turn_scores(segments: pd.DataFrame, gold: pd.DataFrame) -> tuple[float, dict[str, float]]:
    """Macro-F1 of the workflow's codes per respondent turn against a gold coding of turns.

    ``segments`` is the workflow's ``segments.csv`` (``transcript_id``, ``turn``,
    ``codes``); ``gold`` has one row per turn (``transcript_id``, ``turn``,
    ``is_interviewer``, ``codes``), as the validation set's ``gold.csv``. A turn's
    codes are the union of its segments' codes. F1 is computed per code the gold
    uses, over the respondent turns; the macro is their unweighted mean.
    """
    from sklearn.metrics import f1_score
    from sklearn.preprocessing import MultiLabelBinarizer

    predicted: dict[tuple[str, int], set[str]] = {}
    for tid, turn, value in zip(segments["transcript_id"], segments["turn"],
                                segments["codes"].fillna(""), strict=True):
        predicted.setdefault((str(tid), int(turn)), set()).update(_split(value))
    gold = gold[gold["is_interviewer"].astype(int) == 0]
    keys = list(zip(gold["transcript_id"].astype(str), gold["turn"].astype(int), strict=True))
    missing = [k for k in keys if k not in predicted]
    if missing:
        raise InputError(None, f"gold turns the workflow did not produce: {missing[:5]}")
    truth = [_split(c) for c in gold["codes"].fillna("")]
    labels = sorted(set().union(*truth))
    binarizer = MultiLabelBinarizer(classes=labels)
    y_true = binarizer.fit_transform(truth)
    y_pred = binarizer.transform([predicted[k] & set(labels) for k in keys])
    per_code = dict(zip(labels, f1_score(y_true, y_pred, average=None, zero_division=0).tolist(),
                        strict=True))
    return float(f1_score(y_true, y_pred, average="macro", zero_division=0)), per_code


def _split(value: object) -> set[str]:
    return {c.strip() for c in str(value).split(";") if c.strip()}
