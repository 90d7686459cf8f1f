"""From coded batches to the tables researchers use: quotes, matrix, summary.

All tables count respondent segments only (interviewer turns are never coded).
See CODEBOOK.md, "Case-level comparison", for the index and the typology.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from casecoder.codebook import Codebook
from casecoder.errors import InputError
from casecoder.records import SEGMENT_COLUMNS

QUOTE_COLUMNS = [
    "transcript_id", "case", "respondent_role", "speaker", "turn", "segment", "start", "end",
    "language", "text", "translation", "code", "source", "confidence", "rule",
    "codebook_version", "model_version", "review",
]
#: review_queue.csv: the pairs worth a look, in the order to look at them. ``assigned``
#: says whether the code is on the segment now, ``codes`` lists all its current codes;
#: a blank ``review`` leaves the pair as it is (see casecoder.annotations).
QUEUE_COLUMNS = [
    "priority", "transcript_id", "case", "respondent_role", "speaker", "turn", "segment",
    "start", "end", "language", "text", "translation", "code", "assigned", "codes",
    "probability", "threshold", "reason", "rule", "model_version", "review",
]

SUMMARY_COLUMNS = [
    "case", "n_transcripts", "n_segments", "n_coded", "political_will_index", "formality",
    "mode", "typology",
]


def load_batches(paths: Sequence[str | Path]) -> dict[str, list]:
    """Concatenate the batch JSONs written by :func:`casecoder.pipeline.code_batch`."""
    merged: dict[str, list] = {"transcripts": [], "segments": [], "quotes": [], "queue": [],
                               "translations": []}
    for path in sorted(Path(p) for p in paths):
        batch = json.loads(path.read_text(encoding="utf-8"))
        for key in merged:
            merged[key].extend(batch.get(key, []))
    return merged


def check_transcripts(transcripts: list[dict], folder: str = "") -> None:
    """Two files with one id, or a translation of nothing, are errors naming the files."""
    seen: dict[str, str] = {}
    for t in sorted(transcripts, key=lambda t: t["file"]):
        if t["id"] in seen:
            raise InputError(
                Path(folder) / t["file"],
                f"transcript id {t['id']!r} is also used by {Path(folder) / seen[t['id']]}",
            )
        seen[t["id"]] = t["file"]


def attach_translations(batches: dict[str, list], folder: str = "") -> dict[tuple[str, int], str]:
    """Map (original id, turn) -> translated turn text; check the files line up."""
    originals = {t["id"]: t for t in batches["transcripts"] if not t["translation_of"]}
    translated: dict[tuple[str, int], str] = {}
    for tr in sorted(batches["translations"], key=lambda t: t["file"]):
        where = Path(folder) / tr["file"]
        original = originals.get(tr["translation_of"])
        if original is None:
            raise InputError(where, f"translation_of: no transcript has the id {tr['translation_of']!r}")
        if len(tr["turns"]) != original["n_turns"]:
            raise InputError(
                where,
                f"{len(tr['turns'])} turns, but the original {Path(folder) / original['file']} "
                f"has {original['n_turns']}: a translation must match it turn by turn",
            )
        for number, text in enumerate(tr["turns"], start=1):
            translated[(original["id"], number)] = text
    return translated


def segments_table(batches: dict[str, list]) -> pd.DataFrame:
    frame = pd.DataFrame(batches["segments"], columns=SEGMENT_COLUMNS)
    return frame.sort_values(["transcript_id", "turn", "segment"], kind="stable").reset_index(drop=True)


_KEYS = ["transcript_id", "turn", "segment"]
_CONTEXT = ["case", "respondent_role", "speaker", "start", "end", "language", "text"]


def _in_context(rows: pd.DataFrame, segments: pd.DataFrame,
                translations: dict[tuple[str, int], str], extra: Sequence[str] = ()) -> pd.DataFrame:
    """(segment, code) rows with their segment's metadata, text and turn translation."""
    frame = rows.merge(segments[[*_KEYS, *_CONTEXT, *extra]], on=_KEYS, how="left",
                       validate="many_to_one")
    frame["translation"] = [translations.get((t, n), "") for t, n in
                            zip(frame["transcript_id"], frame["turn"], strict=True)]
    frame["review"] = ""
    return frame


def quotes_table(
    batches: dict[str, list],
    segments: pd.DataFrame,
    translations: dict[tuple[str, int], str],
    codebook: Codebook,
    model_version: str = "",
) -> pd.DataFrame:
    """One row per (respondent segment, code), in transcript, turn, segment, codebook order."""
    quotes = pd.DataFrame(batches["quotes"],
                          columns=[*_KEYS, "code", "source", "confidence", "rule"])
    frame = _in_context(quotes, segments, translations)
    frame["codebook_version"] = codebook_version(codebook)
    frame["model_version"] = [model_version if s != "rule" else "" for s in frame["source"]]
    order = {c: i for i, c in enumerate(codebook.ids)}
    frame["_order"] = frame["code"].map(order)
    frame = frame.sort_values([*_KEYS, "_order"], kind="stable")
    return frame[QUOTE_COLUMNS].reset_index(drop=True)


def queue_table(
    batches: dict[str, list],
    segments: pd.DataFrame,
    translations: dict[tuple[str, int], str],
    model_version: str = "",
    limit: int = 0,
) -> pd.DataFrame:
    """The review queue: near-threshold pairs first (closest first), then rule/model
    disagreements (strongest first); ties in transcript, turn, segment, code order.
    ``limit`` keeps the first so many pairs (0: all)."""
    queue = pd.DataFrame(batches["queue"],
                         columns=[*_KEYS, "code", "assigned", "probability", "threshold",
                                  "reason", "rule", "rank"])
    queue["_group"] = [r[0] for r in queue["rank"]]
    queue["_distance"] = [r[1] for r in queue["rank"]]
    queue = queue.sort_values(["_group", "_distance", *_KEYS, "code"], kind="stable")
    if limit:
        queue = queue.head(limit)
    frame = _in_context(queue, segments, translations, extra=["codes"])
    frame["priority"] = range(1, len(frame) + 1)
    frame["model_version"] = model_version
    return frame[QUEUE_COLUMNS].reset_index(drop=True)


def codebook_version(codebook: Codebook) -> str:
    return f"{codebook.name} {codebook.version} ({codebook.sha256[:12]})"


def case_code_matrix(quotes: pd.DataFrame, cases: Sequence[str], codebook: Codebook) -> pd.DataFrame:
    """Number of coded respondent segments per case and code (all codes, zeros kept)."""
    counts = (quotes.drop_duplicates(["transcript_id", "turn", "segment", "code"])
              .groupby(["case", "code"]).size())
    rows = []
    for case in cases:
        row = {"case": case}
        for code in codebook.ids:
            row[code] = int(counts.get((case, code), 0))
        rows.append(row)
    return pd.DataFrame(rows, columns=["case", *codebook.ids])


def political_will_index(codes_per_segment: Sequence[set[str]], directions: dict[str, int]) -> float:
    """(segments with +1 codes - segments with -1 codes) / segments with any ±1 code."""
    plus = minus = either = 0
    for codes in codes_per_segment:
        signs = {directions.get(c, 0) for c in codes}
        has_plus, has_minus = 1 in signs, -1 in signs
        plus += has_plus
        minus += has_minus
        either += has_plus or has_minus
    return round((plus - minus) / either, 4) if either else math.nan


def _compare(a: int, b: int, first: str, second: str) -> str:
    return first if a > b else second if b > a else "unclear"


def case_summary(segments: pd.DataFrame, transcripts: list[dict], codebook: Codebook) -> pd.DataFrame:
    """One row per case: counts, political-will index, formality, mode, typology, by role."""
    resp = segments[segments["is_interviewer"] == 0]
    codes = resp["codes"].map(lambda s: set(s.split(";")) if s else set())
    directions = codebook.directions()
    roles = sorted({t["respondent_role"] for t in transcripts if not t["translation_of"]})
    rows = []
    for case in sorted({t["case"] for t in transcripts if not t["translation_of"]}):
        mask = resp["case"] == case
        case_codes = list(codes[mask])
        count = {c: sum(c in s for s in case_codes) for c in ("PART_FORMAL", "PART_INFORMAL",
                                                                "PART_COLLABORATIVE",
                                                                "PART_INSTRUMENTAL")}
        formality = _compare(count["PART_FORMAL"], count["PART_INFORMAL"], "formal", "informal")
        mode = _compare(count["PART_COLLABORATIVE"], count["PART_INSTRUMENTAL"],
                        "collaborative", "instrumental")
        row = {
            "case": case,
            "n_transcripts": sum(1 for t in transcripts if t["case"] == case and not t["translation_of"]),
            "n_segments": int(mask.sum()),
            "n_coded": sum(1 for s in case_codes if s),
            "political_will_index": political_will_index(case_codes, directions),
            "formality": formality,
            "mode": mode,
            "typology": f"{formality}-{mode}",
        }
        case_roles = resp.loc[mask, "respondent_role"]
        for role in roles:
            in_role = (case_roles == role).to_numpy()
            row[f"coded_{role}"] = sum(1 for s, r in zip(case_codes, in_role, strict=True) if s and r)
        rows.append(row)
    return pd.DataFrame(rows, columns=[*SUMMARY_COLUMNS, *(f"coded_{r}" for r in roles)])
