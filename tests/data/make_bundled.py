"""Regenerate the bundled transcripts that are not plain UTF-8 text, and check the gold coding.

The bundled interviews in ``transcripts/`` are the first thing a new user runs, and
``tests/data/bundled_gold.csv`` is their hand coding. Most transcripts are plain UTF-8
files edited directly; three are binary or tool-shaped and are written from the text
below so that they can be regenerated and reviewed as text:

- ``C-01.docx``: a Word document (paragraphs, ``问：``/``答：`` labels),
- ``Y-01.txt``: GB18030 with CRLF line endings, as Chinese Windows editors save it,
- ``J-02.vtt``: a WebVTT export with ``<v Speaker>`` voice tags and cue text split at
  subtitle length, as transcription tools write it.

Usage (from the repository root)::

    .venv/bin/python tests/data/make_bundled.py              # write the three files
    .venv/bin/python tests/data/make_bundled.py --check      # gold vs transcripts, exit 1 on drift
    .venv/bin/python tests/data/make_bundled.py --write-gold # refresh gold text, keep its codes

The check reads every transcript the simple way (decode, strip front matter, split on
label lines), independently of the ``casecoder`` package, so that a change in either the
transcripts or the reader cannot silently move the gold standard.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import textwrap
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TRANSCRIPTS = ROOT / "transcripts"
GOLD = ROOT / "tests" / "data" / "bundled_gold.csv"
GOLD_COLUMNS = ["transcript_id", "turn", "speaker", "is_interviewer", "text", "codes"]

#: Code IDs and their political-will direction (CODEBOOK.md; the IDs are a contract).
DIRECTIONS: dict[str, int] = {
    "PW_PRIORITY_HIGH": 1,
    "PW_PRIORITY_LOW": -1,
    "PW_RESOURCES_COMMITTED": 1,
    "PW_RESOURCES_WITHHELD": -1,
    "PW_ENGAGEMENT_ACTIVE": 1,
    "PW_ENGAGEMENT_PASSIVE": -1,
    "LEAD_DEVELOPMENT": 1,
    "LEAD_TASK": -1,
    "PART_FORMAL": 0,
    "PART_INFORMAL": 0,
    "PART_COLLABORATIVE": 1,
    "PART_INSTRUMENTAL": -1,
    "CTX_POLICY_MANDATE": 0,
    "CTX_FISCAL_CONSTRAINT": 0,
    "CTX_HIGHER_LEVEL_SUPPORT": 0,
    "PROV_CAPACITY_STRONG": 0,
    "PROV_CAPACITY_WEAK": 0,
    "PROV_VOLUNTEERS": 0,
    "PROV_SEEKS_SUPPORT": 0,
    "OUT_QUALITY_GOOD": 0,
    "OUT_QUALITY_POOR": 0,
    "OUT_SUSTAINED": 0,
    "OUT_DISCONTINUED": 0,
    "TGT_CHILDREN": 0,
    "TGT_ELDERLY": 0,
}

#: What the study found (CODEBOOK.md, case-level comparison); the gold must reproduce it.
EXPECTED_TYPOLOGY = {
    "County C": "formal-collaborative",
    "County Y": "formal-instrumental",
    "County J": "informal-collaborative",
    "County S": "informal-instrumental",
}

INTERVIEWER_LABELS = {"interviewer", "q", "i", "问", "访谈者", "采访者", "记者"}
FRONT_MATTER_KEYS = {
    "id",
    "case",
    "respondent_role",
    "language",
    "date",
    "translation_of",
    "interviewer",
}
ROLES = {
    "official",
    "township_official",
    "principal_volunteer",
    "company_founder",
    "social_worker",
    "other",
}

# ---------------------------------------------------------------------------------------
# Source text of the generated files
# ---------------------------------------------------------------------------------------

#: C-01, the deputy county head for civil affairs. One list item per Word paragraph.
C01_PARAGRAPHS = [
    "问：王县长您好，感谢您抽出时间。我们今天主要想了解一下县里关爱留守儿童工作的情况。录音笔我先打开了，您看可以吗？",
    "答：可以可以，没问题。你们是从市里过来的吧？这几天雨下得大，路上不好走，辛苦了。",
    "问：还好，就是进山那段有点堵。您先讲讲县里这项工作是怎么开始的？",
    "答：2016年国务院出台了关于加强农村留守儿童关爱保护工作的意见，这是全国性的文件，各地都要落实。我们县委主要领导看了文件以后非常重视，专门在常委会上讲，这件事不能走过场。",
    "问：您说的主要领导，是县委书记吧？他为什么对这件事这么上心？",
    "答：对。我们书记是博士毕业，以前在市里当过农村发展方面的部门副主任，对农村的情况很熟。他一直讲，农村发展不光是修路盖房子，人是最重要的。他要求我们把留守儿童关爱当成一项长期的责任，不是做一次就完了，还要在服务方式上创新。他的原话是，不想再看到那些老一套的方案。",
    "问：您说的老一套的方案，具体指的是什么？",
    "答：就是以前那种，发个文件，开个会，过节的时候去学校送点书包文具，拍个照，就算完成任务了。书记说这种做法孩子得不到什么实实在在的东西。",
    "问：那具体是怎么组织的呢？",
    "答：县里成立了一个专项工作组，由我牵头，民政、教育、团县委、妇联这些部门都参加。我们还请了学校、社区，也请了几家有可能提供服务的企业和社会组织，一起开会，大家一起商量方案怎么做。",
    "问：钱从哪里来？我们去过一些县，都说没有经费。",
    "答：这个是我们比较有底气的地方。2017年到2018年，县财政从本级预算里拿出30万元，设立了留守儿童关爱专项资金，另外我们又向上级争取了30万元的配套资金。据我了解，全省只有我们一个县单独设了这个专项资金。",
    "问：30万对一个县来说也不算少了。财政压力大不大？",
    "答：说实话，压力是有的，我们县也不富裕，别的口子也在要钱。有的同志一开始也有想法，觉得这个钱花在孩子身上，看不到什么政绩。但书记拍了板，就这么定了。",
    "问：后来为什么选了夏令营这个形式？",
    "答：是在一次政策研讨会上，一家做农村教育的公司，创始人姓周，他提出来可以给留守儿童办夏令营。这家公司办营有经验，团队也专业，场地设施都是现成的，而且主动提出按优惠价格来做。我们综合考虑了费用、内容和他们的资质，最后决定跟他们签合同，走正式的政府购买服务。",
    "问：签了合同以后，政府这边就交给公司了吗？",
    "答：不是交出去就不管了。方案是公司主导设计的，他们专业嘛，但是我们也一起讨论，一起改。",
    "哪些孩子参加、怎么跟家长沟通，都是我们跟乡镇一起做的。活动期间我们还专门派了一个项目专员，盯着孩子的安全。",
    "问：您觉得效果怎么样？",
    "答：反响很好，家长、孩子、学校都说好。现在这个夏令营已经成了我们县民生工作的一个品牌项目，明年还要接着办。当然也有不足，名额还是太少，一期一百个孩子，好多孩子报不上。",
    "问：好的，今天就先到这里吧，谢谢王县长。",
    "答：不客气，需要什么材料你们找办公室小李。中午在食堂吃个便饭再走。",
]

#: Y-01, a section chief of the County Y civil affairs bureau. Saved as GB18030 with CRLF.
Y01_TEXT = """\
---
id: Y-01
case: County Y
respondent_role: official
language: zh
date: 2018-09-12
---
访谈者：赵股长您好，我们是做养老服务研究的，想了解一下县里公办养老院改革的情况。
受访者：你们是哪个单位的？有介绍信吗？……哦，市里打过招呼的，那行。你们问吧，我知道的就说。
访谈者：县里是什么时候开始搞这项改革的？
受访者：今年年初。国家和省里都有文件，要求推进养老服务改革，公办养老机构可以交给社会力量来运营。上面有时间要求，年底前必须完成。
访谈者：时间这么紧，县里是怎么部署的？
受访者：县领导开了专题会，把任务分下来，民政局牵头，每个乡镇要报进度，一周一调度。我们现在最大的任务是脱贫攻坚，所以先把最困难的老人，就是五保老人，集中送到养老院里去，同时要在很短的时间内找到愿意接手养老院的公司。
访谈者：运营的钱从哪儿来？
受访者：我们县是贫困县，财政很紧张，没有多余的钱。所以就用了原来直接发给五保老人的供养资金，这笔钱不再发到老人手上，而是拨给接手的公司，由公司负责供养。
其实钱还是花在老人身上，只是换了一种方式。
访谈者：公司是怎么选的？
受访者：走了招标程序，公开的，合规的。最后是报价最低的那家中标了，一个老人一个月一千二百九十元，全包。我们也没办法，预算就这么多，报价高的我们出不起。
访谈者：一千二百九十元，这个标准是怎么定的？
受访者：这个我说不太清楚，是财政和局领导定的，我只负责具体事务。你们要问细的，得找我们局长，他这几天在市里开会。
访谈者：中标之前，有没有考察过这家公司，比如有没有专业的护理人员？
受访者：考察……当时时间太紧了，主要是看材料。他们有营业执照，经营范围里有养老服务，手续是齐的。
访谈者：现在养老院里老人的情况怎么样？
受访者：我们对老人是很关心的，这个你们可以放心。局长亲自去养老院看过两次，逢年过节都去慰问，送米送油，还给每个房间装了电视。
访谈者：平时有没有定期的检查或者考核？
受访者：日常管理是公司的事，合同里都写清楚了，他们负责。我们股室就三个人，全县那么多事，不可能天天盯着。出了问题他们会报上来的。
访谈者：有老人或者家属反映过问题吗？
受访者：这个……个别意见肯定有，老人嘛，饭菜咸了淡了都有意见。总体上是好的，比他们以前一个人在家里强多了，至少有人做饭，有人看着。
访谈者：好的，谢谢赵股长。
受访者：嗯。你们写的时候注意一下，有些情况是客观原因，我们县底子薄，不是我们不想做好。
"""

#: J-02, the leader of the student volunteer group, as (voice, text) turns; J-02.vtt.
J02_TURNS = [
    ("Interviewer", "Thanks for talking to us, Lin Yue. Can you tell me how the group started?"),
    (
        "Lin Yue",
        "Sure. In 2015 three of us, all students from the same village, came home for the summer and saw the kids just hanging around the shop playing games on their grandparents' phones. So we opened up the old classroom and started helping with homework. Nobody asked us to.",
    ),
    ("Interviewer", "Were you registered as an organisation?"),
    (
        "Lin Yue",
        "No, not at all, we were just students. The village committee lent us the room and paid the electricity, and the village head came by sometimes with a watermelon. That was the whole partnership, a handshake basically.",
    ),
    ("Interviewer", "When did the county get involved?"),
    (
        "Lin Yue",
        "In 2017. Someone from the Youth League came to the village first, and then the county party secretary himself came to one of our Saturday sessions. He sat at the back of the room with the kids for an hour. I'd never seen an official do that.",
    ),
    ("Interviewer", "What did they ask of you?"),
    (
        "Lin Yue",
        "They wanted us to register and to grow, to go from one village to the whole county. I told them straight, that's impossible with three students who are only home in the holidays. You can't recruit people who aren't here.",
    ),
    ("Interviewer", "How did they respond to that?"),
    (
        "Lin Yue",
        "Honestly, better than I expected. They didn't just tell us to work harder. They started the county volunteer campaign and got teachers, doctors and people from the government offices to sign up. Some of them only came because their boss told them to, I'll be honest, but a lot of them stayed.",
    ),
    ("Interviewer", "Sorry, can you say that last part again? A truck went past."),
    (
        "Lin Yue",
        "I said a lot of them stayed, teachers mostly. The trucks from the quarry go past all day, you get used to it.",
    ),
    ("Interviewer", "Do you feel the county treats you as a partner?"),
    (
        "Lin Yue",
        "Mostly, yes. We plan the activities, they help with rooms, with the schools, with the parents. When we disagree we argue it out at the monthly meeting. Once they asked us for photos for some report, but they've never asked us to put on a show for inspectors.",
    ),
    ("Interviewer", "And money?"),
    (
        "Lin Yue",
        "Money is the hard part. There's no budget for us, the county just doesn't have it. Half the time we pay for notebooks and snacks out of our own pockets, and last winter we couldn't run the heater in the community room because nobody would pay the bill.",
    ),
    ("Interviewer", "How big is the group now?"),
    (
        "Lin Yue",
        "Over a hundred volunteers in five communities, and more than five hundred kids have come through our classes. I still can't quite believe it when I say it out loud.",
    ),
    ("Interviewer", "What happens when you graduate?"),
    (
        "Lin Yue",
        "That's my big worry, I'm in my final year. The county people say they'll keep it going, and two of the teachers already run sessions without us, so maybe it doesn't need me anymore. Which is a good thing, I guess.",
    ),
    ("Interviewer", "Thank you. I'll stop the recording here."),
    (
        "Lin Yue",
        "Thanks. Oh, and if you're driving back tonight, take the new road, the old bridge is closed.",
    ),
]

#: Subtitle line length of the VTT export, in characters.
CUE_WIDTH = 42

#: Fixed zip timestamps and document properties, so regenerating gives identical bytes.
DOCX_TIME = (2018, 11, 5, 10, 0, 0)


# ---------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------


def write_docx(path: Path, paragraphs: list[str]) -> None:
    """Write one paragraph per item, then normalise the zip so the bytes are reproducible."""
    import datetime

    from docx import Document

    doc = Document()
    props = doc.core_properties
    props.author = ""
    props.last_modified_by = ""
    props.created = props.modified = datetime.datetime(*DOCX_TIME)
    props.revision = 1
    for text in paragraphs:
        doc.add_paragraph(text)
    buffer = io.BytesIO()
    doc.save(buffer)
    path.write_bytes(_fixed_zip(buffer.getvalue()))


def _fixed_zip(blob: bytes) -> bytes:
    """Rewrite a zip with constant member timestamps (python-docx stamps the current time)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(blob)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=DOCX_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def write_vtt(path: Path, turns: list[tuple[str, str]]) -> None:
    """One cue per subtitle-length chunk, each with its voice tag, timed at ~14 chars/second."""
    lines = ["WEBVTT", ""]
    clock, number = 1.0, 0
    for voice, text in turns:
        for chunk in textwrap.wrap(text, CUE_WIDTH, break_long_words=False, break_on_hyphens=False):
            number += 1
            end = clock + max(1.2, len(chunk) / 14)
            lines += [
                str(number),
                f"{_vtt_time(clock)} --> {_vtt_time(end)}",
                f"<v {voice}>{chunk}",
                "",
            ]
            clock = end + 0.1
        clock += 0.8
    path.write_text("\n".join(lines), encoding="utf-8")


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    h, rest = divmod(millis, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{ms:03d}"


def write_all() -> list[Path]:
    """Write every generated transcript and return their paths."""
    written = []
    path = TRANSCRIPTS / "C-01.docx"
    write_docx(path, C01_PARAGRAPHS)
    written.append(path)
    path = TRANSCRIPTS / "J-02.vtt"
    write_vtt(path, J02_TURNS)
    written.append(path)
    path = TRANSCRIPTS / "Y-01.txt"
    path.write_bytes(Y01_TEXT.replace("\n", "\r\n").encode("gb18030"))
    written.append(path)
    return written


# ---------------------------------------------------------------------------------------
# The simple reader used by the check
# ---------------------------------------------------------------------------------------

LABEL_LINE = re.compile(
    r"^(?:\[(?P<ts>\d{1,2}:\d{2}(?::\d{2})?)\]\s*)?"
    r"(?P<label>[^\s:：\[\]][^:：\[\]]{0,11}?)\s*[:：]\s*(?P<rest>.*)$"
)
SPEAKER_TIME_LINE = re.compile(
    r"^(?P<label>(?:说话人|Speaker )\s?\d+)\s+\d{1,2}:\d{2}(?::\d{2})?\s*$"
)
VOICE = re.compile(r"^<v\s+(?P<label>[^>]+)>(?P<rest>.*?)(?:</v>)?$")


@dataclass
class SimpleTurn:
    speaker: str
    is_interviewer: bool
    text: str


@dataclass
class SimpleTranscript:
    file: str  # relative to transcripts/
    meta: dict[str, str]
    turns: list[SimpleTurn]

    @property
    def id(self) -> str:
        return self.meta["id"]


def decode(blob: bytes) -> str:
    """UTF-8 (with or without BOM) first, GB18030 second: the two encodings bundled."""
    try:
        text = blob.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = blob.decode("gb18030")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """Return the YAML front matter (as strings) and the body after it."""
    if not text.startswith("---\n"):
        return {}, text
    end = text.index("\n---\n", 4)
    meta = yaml.safe_load(text[4:end]) or {}
    return {k: str(v) for k, v in meta.items()}, text[end + 5 :]


def split_turns(lines: list[str], interviewers: set[str]) -> list[SimpleTurn]:
    """Start a turn at each label line; join continuation lines with one space."""
    turns: list[SimpleTurn] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        spk = SPEAKER_TIME_LINE.match(line)
        lab = None if spk else LABEL_LINE.match(line)
        if spk or lab:
            label = (spk or lab)["label"].strip()
            rest = "" if spk else lab["rest"].strip()
            turns.append(SimpleTurn(label, label.lower() in interviewers, rest))
        elif turns:
            turns[-1].text = f"{turns[-1].text} {line}".strip()
        else:
            turns.append(SimpleTurn("unknown", False, line))
    return turns


def vtt_turns(text: str, interviewers: set[str]) -> list[SimpleTurn]:
    """Consecutive cues with the same voice form one turn."""
    turns: list[SimpleTurn] = []
    for block in text.split("\n\n"):
        lines = [ln for ln in block.strip().split("\n") if ln.strip()]
        if not any("-->" in ln for ln in lines):
            continue
        payload = lines[[i for i, ln in enumerate(lines) if "-->" in ln][0] + 1 :]
        for line in payload:
            voice = VOICE.match(line.strip())
            label = voice["label"].strip() if voice else (turns[-1].speaker if turns else "unknown")
            rest = (voice["rest"] if voice else line).strip()
            if turns and turns[-1].speaker == label:
                turns[-1].text = f"{turns[-1].text} {rest}"
            else:
                turns.append(SimpleTurn(label, label.lower() in interviewers, rest))
    return turns


def read_manifest() -> dict[str, dict[str, str]]:
    """Metadata rows by file: the only metadata source for the .docx and .vtt files."""
    path = TRANSCRIPTS / "manifest.csv"
    if not path.exists():
        return {}
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return {
            row["file"]: {k: v for k, v in row.items() if k != "file" and v}
            for row in csv.DictReader(fh)
        }


def read_transcript(path: Path, manifest: dict[str, dict[str, str]]) -> SimpleTranscript:
    """Read one bundled transcript the simple way."""
    rel = path.relative_to(TRANSCRIPTS).as_posix()
    if path.suffix == ".docx":
        from docx import Document

        meta, body = {}, "\n".join(p.text for p in Document(str(path)).paragraphs)
    else:
        meta, body = split_front_matter(decode(path.read_bytes()))
    meta = {"id": path.stem, **meta, **manifest.get(rel, {})}
    interviewers = set(INTERVIEWER_LABELS)
    if meta.get("interviewer"):
        interviewers.add(meta["interviewer"].lower())
    if path.suffix == ".vtt":
        turns = vtt_turns(body, interviewers)
    else:
        turns = split_turns(body.split("\n"), interviewers)
    return SimpleTranscript(rel, meta, turns)


def read_all() -> list[SimpleTranscript]:
    """Every bundled transcript in file-name order (the gold table's order)."""
    manifest = read_manifest()
    paths = sorted(
        p
        for p in TRANSCRIPTS.rglob("*")
        if p.suffix in {".txt", ".md", ".docx", ".vtt"} and p.name != "README.md"
    )
    return [read_transcript(p, manifest) for p in paths]


# ---------------------------------------------------------------------------------------
# Gold table
# ---------------------------------------------------------------------------------------


def read_gold() -> list[dict[str, str]]:
    """The gold rows as strings, exactly as stored, so the check compares what is on disk."""
    with GOLD.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def gold_rows(transcripts: list[SimpleTranscript], codes: dict[tuple[str, int], str]) -> list[dict]:
    """One row per turn of every original transcript, codes looked up by (id, turn)."""
    rows = []
    for t in transcripts:
        if t.meta.get("translation_of"):
            continue
        for n, turn in enumerate(t.turns, start=1):
            rows.append(
                {
                    "transcript_id": t.id,
                    "turn": n,
                    "speaker": turn.speaker,
                    "is_interviewer": int(turn.is_interviewer),
                    "text": turn.text,
                    "codes": "" if turn.is_interviewer else codes.get((t.id, n), ""),
                }
            )
    return rows


def write_gold(rows: list[dict]) -> None:
    """Plain UTF-8 with RFC 4180 quoting and LF endings, so diffs stay readable."""
    with GOLD.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=GOLD_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def refresh_gold() -> None:
    """Rewrite the gold text columns from the transcripts, keeping the codes already there."""
    codes = {}
    if GOLD.exists():
        codes = {(r["transcript_id"], int(r["turn"])): r["codes"] for r in read_gold()}
    write_gold(gold_rows(read_all(), codes))


# ---------------------------------------------------------------------------------------
# The check
# ---------------------------------------------------------------------------------------


def check_metadata(t: SimpleTranscript) -> list[str]:
    """Only the front-matter fields SPEC.md allows, and every field the workflow needs."""
    problems = []
    unknown = set(t.meta) - FRONT_MATTER_KEYS
    if unknown:
        problems.append(f"{t.file}: unexpected metadata {sorted(unknown)}")
    for key in ("case", "respondent_role", "language", "date"):
        if not t.meta.get(key):
            problems.append(f"{t.file}: no {key}")
    if t.meta.get("respondent_role") not in ROLES:
        problems.append(f"{t.file}: respondent_role {t.meta.get('respondent_role')!r}")
    if t.meta.get("language") not in {"zh", "en", "mixed"}:
        problems.append(f"{t.file}: language {t.meta.get('language')!r}")
    return problems


def check_alternation(t: SimpleTranscript) -> list[str]:
    """Interviewer first, then strictly alternating, two speakers, no `unknown` turn."""
    flags = [turn.is_interviewer for turn in t.turns]
    expected = [n % 2 == 0 for n in range(len(flags))]
    problems = []
    if flags != expected:
        problems.append(f"{t.file}: turns do not alternate interviewer/respondent")
    if len({turn.speaker for turn in t.turns}) != 2:
        problems.append(f"{t.file}: speakers {sorted({turn.speaker for turn in t.turns})}")
    if not 12 <= len(t.turns) <= 24:
        problems.append(f"{t.file}: {len(t.turns)} turns")
    return problems


def check_translations(transcripts: list[SimpleTranscript]) -> list[str]:
    """A translation's turns attach to the original's in order, so they must line up."""
    by_id = {t.id: t for t in transcripts}
    problems = []
    for t in transcripts:
        original = by_id.get(t.meta.get("translation_of", ""))
        if t.meta.get("translation_of") and original is None:
            problems.append(f"{t.file}: translation_of {t.meta['translation_of']} not found")
        elif original is not None:
            mine = [turn.is_interviewer for turn in t.turns]
            theirs = [turn.is_interviewer for turn in original.turns]
            if mine != theirs:
                problems.append(f"{t.file}: turns do not line up with {original.file}")
    return problems


def check_gold(transcripts: list[SimpleTranscript], gold: list[dict[str, str]]) -> list[str]:
    """Gold rows must equal the transcripts turn by turn, with valid codes."""
    codes = {(r["transcript_id"], int(r["turn"])): r["codes"] for r in gold}
    expected = gold_rows(transcripts, codes)
    problems = []
    if len(expected) != len(gold):
        problems.append(f"gold has {len(gold)} rows, transcripts have {len(expected)} turns")
    for want, have in zip(expected, gold, strict=False):
        where = f"{want['transcript_id']} turn {want['turn']}"
        for col in GOLD_COLUMNS[:-1]:
            if str(want[col]) != have[col]:
                problems.append(f"{where}: {col} {have[col]!r} != file {want[col]!r}")
        ids = [c for c in have["codes"].split(";") if c]
        bad = [c for c in ids if c not in DIRECTIONS]
        if bad:
            problems.append(f"{where}: unknown codes {bad}")
        if len(ids) != len(set(ids)):
            problems.append(f"{where}: duplicate codes")
        if have["is_interviewer"] == "1" and ids:
            problems.append(f"{where}: interviewer turn is coded")
    return problems


def case_summary(
    transcripts: list[SimpleTranscript], gold: list[dict[str, str]]
) -> dict[str, dict]:
    """The CODEBOOK.md case comparison, computed on gold respondent turns."""
    case_of = {t.id: t.meta["case"] for t in transcripts}
    summary: dict[str, dict] = {}
    for row in gold:
        if row["is_interviewer"] == "1":
            continue
        if row["transcript_id"] not in case_of:
            continue  # reported by check_gold
        s = summary.setdefault(case_of[row["transcript_id"]], Counter())
        ids = {c for c in row["codes"].split(";") if c in DIRECTIONS}  # unknown: check_gold
        s["turns"] += 1
        s["uncoded"] += not ids
        s["plus"] += any(DIRECTIONS[c] > 0 for c in ids)
        s["minus"] += any(DIRECTIONS[c] < 0 for c in ids)
        s["signed"] += any(DIRECTIONS[c] != 0 for c in ids)
        for c in ids:
            s[c] += 1
    return {case: _typology(s) for case, s in sorted(summary.items())}


def _typology(s: Counter) -> dict:
    def side(a: str, b: str, yes: str, no: str) -> str:
        return yes if s[a] > s[b] else no if s[b] > s[a] else "unclear"

    formality = side("PART_FORMAL", "PART_INFORMAL", "formal", "informal")
    mode = side("PART_COLLABORATIVE", "PART_INSTRUMENTAL", "collaborative", "instrumental")
    index = (s["plus"] - s["minus"]) / s["signed"] if s["signed"] else float("nan")
    return {"index": index, "typology": f"{formality}-{mode}", **s}


def check_cases(summary: dict[str, dict]) -> list[str]:
    problems = []
    for case, want in EXPECTED_TYPOLOGY.items():
        have = summary.get(case, {}).get("typology")
        if have != want:
            problems.append(f"{case}: typology {have} (the study: {want})")
    if len(summary) == len(EXPECTED_TYPOLOGY):
        idx = {case: s["index"] for case, s in summary.items()}
        if not (min(idx["County C"], idx["County J"]) > 0 > idx["County Y"] > idx["County S"]):
            problems.append(f"political-will index order differs from the study: {idx}")
    return problems


def check() -> int:
    """Print the case comparison from the gold coding; return 1 if anything drifted."""
    transcripts = read_all()
    gold = read_gold()
    problems = []
    for t in transcripts:
        problems += check_metadata(t) + check_alternation(t)
    problems += check_translations(transcripts) + check_gold(transcripts, gold)
    summary = case_summary(transcripts, gold)
    problems += check_cases(summary)
    originals = [t for t in transcripts if not t.meta.get("translation_of")]
    print(f"{len(originals)} interviews, {len(gold)} gold turns")
    for case, s in summary.items():
        print(
            f"{case}: {s['turns']} respondent turns, {s['uncoded']} uncoded, "
            f"index {s['index']:+.2f} (+{s['plus']} -{s['minus']} of {s['signed']}), "
            f"{s['typology']}"
        )
    for p in problems:
        print("PROBLEM", p)
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="verify the gold coding")
    parser.add_argument("--write-gold", action="store_true", help="refresh gold text columns")
    args = parser.parse_args()
    if args.check:
        return check()
    if args.write_gold:
        refresh_gold()
        return 0
    for path in write_all():
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
