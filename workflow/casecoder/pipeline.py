"""The per-batch stage: read, segment, pseudonymise and code a batch of transcripts.

One job per batch (not per transcript) pays the start-up of spaCy, jieba and
the model once for many files. Batches are fixed by a hash of each file's path
(:func:`batch_of`), so adding a transcript changes one batch only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

from casecoder.coding import Combine, assign_codes, gather_evidence, review_candidates
from casecoder.errors import InputError
from casecoder.privacy import load_pseudonymiser

log = logging.getLogger("casecoder")


def batch_of(relative_path: str, batches: int) -> int:
    """The batch (0-based) a transcript belongs to: stable across runs and machines."""
    digest = hashlib.blake2b(relative_path.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % batches


def code_batch(
    files: Sequence[str | Path],
    *,
    transcripts: str | Path,
    codebook: str | Path,
    out: str | Path,
    model: str | Path | None = None,
    reviewed: str | Path | None = None,
    interviewer_labels: Sequence[str] = (),
    combine: Combine = "union",
    pseudonymise: str | bool = "auto",
) -> dict:
    """Code one batch of transcript files and write the batch's JSON.

    The JSON holds ``transcripts`` (metadata and file hashes), ``segments``
    (every segment of every original transcript), ``quotes`` (one entry per
    coded respondent segment and code), ``queue`` (review-queue candidates,
    see :func:`casecoder.coding.review_candidates`) and ``translations`` (the turn texts of
    translation files, attached to their originals at aggregation).
    """
    from casecoder.codebook import load_codebook
    from casecoder.rules import RuleTagger
    from casecoder.segment import get_segmenter
    from casecoder.transcripts import read_manifest, read_transcript

    started = time.perf_counter()
    folder = Path(transcripts)
    book = load_codebook(codebook)
    tagger = RuleTagger(book)
    code_model = None
    if model is not None:
        from casecoder.classifier import load_model

        code_model = load_model(Path(model), codebook_sha256=book.sha256)
    overrides = _load_reviewed(reviewed)
    manifest = read_manifest(folder)
    private = load_pseudonymiser(folder, pseudonymise)
    segmenter = get_segmenter()
    log.info("batch of %d file(s); codebook, rules%s and segmenter loaded in %.1f s",
             len(files), ", model" if code_model else "", time.perf_counter() - started)

    batch = {"transcripts": [], "segments": [], "quotes": [], "queue": [], "translations": []}
    for number, file in enumerate(sorted(Path(f) for f in files), start=1):
        transcript = read_transcript(file, folder, manifest, interviewer_labels)
        meta = transcript.meta
        batch["transcripts"].append({
            "id": transcript.id,
            "file": _relative(file, folder),
            "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
            "case": private(meta.get("case", "")),
            "respondent_role": meta.get("respondent_role", "other"),
            "language": meta.get("language", ""),
            "date": str(meta.get("date", "") or ""),
            "translation_of": transcript.translation_of or "",
            "n_turns": len(transcript.turns),
        })
        if transcript.translation_of:
            batch["translations"].append({
                "transcript_id": transcript.id,
                "file": _relative(file, folder),
                "translation_of": transcript.translation_of,
                "turns": [private(transcript.turn_text(t)) for t in transcript.turns],
            })
            log.info("[%d/%d] %s: translation of %s, %d turns", number, len(files),
                     transcript.id, transcript.translation_of, len(transcript.turns))
            continue
        segments = segmenter.segment(transcript)
        respondent = [s for s in segments if not s.is_interviewer]
        texts = [s.text for s in respondent]
        evidence = gather_evidence(texts, tagger, code_model, turns=[s.turn for s in respondent])
        coded = assign_codes(texts, tagger, code_model, combine=combine, reviewed=overrides,
                             evidence=evidence)
        queue = review_candidates(texts, evidence, code_model, coded, overrides)
        codes_of = {}
        for seg, assignments, candidates in zip(respondent, coded, queue, strict=True):
            codes_of[(seg.turn, seg.segment)] = [a.code for a in assignments]
            for c in candidates:
                batch["queue"].append({
                    "transcript_id": seg.transcript_id, "turn": seg.turn, "segment": seg.segment,
                    "code": c.code, "assigned": int(c.assigned), "probability": c.probability,
                    "threshold": c.threshold, "reason": c.reason, "rule": c.rule,
                    "rank": list(c.rank),
                })
            for a in assignments:
                batch["quotes"].append({
                    "transcript_id": seg.transcript_id, "turn": seg.turn, "segment": seg.segment,
                    "code": a.code, "source": a.source, "confidence": a.confidence, "rule": a.rule,
                })
        for seg in segments:
            batch["segments"].append({
                "transcript_id": seg.transcript_id,
                "case": private(seg.case),
                "respondent_role": seg.respondent_role,
                "speaker": private(seg.speaker),
                "is_interviewer": int(seg.is_interviewer),
                "turn": seg.turn,
                "segment": seg.segment,
                "start": seg.start,
                "end": seg.end,
                "language": seg.language,
                "text": private(seg.text),
                "codes": ";".join(codes_of.get((seg.turn, seg.segment), [])),
            })
        log.info("[%d/%d] %s: %d turns, %d segments, %d coded",
                 number, len(files), transcript.id, len(transcript.turns), len(segments),
                 sum(1 for s in respondent if codes_of[(s.turn, s.segment)]))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(batch, ensure_ascii=False, indent=0), encoding="utf-8")
    return batch


def _relative(file: Path, folder: Path) -> str:
    try:
        return file.resolve().relative_to(folder.resolve()).as_posix()
    except ValueError:
        return file.as_posix()


def _load_reviewed(path: str | Path | None) -> dict[str, frozenset[str]]:
    if path is None or not Path(path).is_file():
        return {}
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not a readable JSON file ({exc.msg})") from None
    return {k: frozenset(v) for k, v in raw.items()}
