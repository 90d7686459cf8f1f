"""Reading transcripts: files, encodings, formats, metadata, speaker turns, bad input."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from casecoder.errors import InputError
from casecoder.records import Transcript
from casecoder.transcripts import (
    decode,
    find_transcripts,
    read_manifest,
    read_transcript,
    split_turns,
)

DATA = Path(__file__).parent / "data"
REAL = DATA / "real_world"
FRONT = "---\ncase: County C\n---\n"


def write(folder: Path, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def read(folder: Path, name: str, content: str | bytes, encoding: str = "utf-8",
         **kwargs) -> Transcript:
    return read_transcript(write(folder, name, content, encoding), folder, **kwargs)


def turns_of(transcript: Transcript) -> list[tuple[str, bool, str]]:
    return [(t.speaker, t.is_interviewer, transcript.turn_text(t)) for t in transcript.turns]


def turns_in(text: str, labels=()) -> list[tuple[str, str]]:
    return [(t.speaker, text[t.start : t.end]) for t in split_turns(text, labels)]


# --------------------------------------------------------------------------- files


def test_find_transcripts_sorted_recursive_and_skipping_non_transcripts(tmp_path):
    for name in ["b.txt", "a.md", "sub/c.docx", "sub/d.vtt", "Z.TXT", "README.md", "readme.txt",
                 "manifest.csv", "pseudonyms.yaml", "notes.pdf", ".hidden.txt",
                 ".git/e.txt", "sub/~$lock.docx"]:
        write(tmp_path, name, "x")
    found = [p.relative_to(tmp_path).as_posix() for p in find_transcripts(tmp_path)]
    assert found == ["Z.TXT", "a.md", "b.txt", "sub/c.docx", "sub/d.vtt"]


def test_find_transcripts_errors_name_the_folder(tmp_path):
    with pytest.raises(InputError, match="no such folder") as missing:
        find_transcripts(tmp_path / "nowhere")
    assert "nowhere" in str(missing.value)
    (tmp_path / "empty").mkdir()
    write(tmp_path, "empty/README.md", "about")
    with pytest.raises(InputError, match="no transcript files") as empty:
        find_transcripts(tmp_path / "empty")
    assert "empty" in str(empty.value)
    with pytest.raises(InputError, match="not a folder"):
        find_transcripts(write(tmp_path, "file.txt", "x"))


# --------------------------------------------------------------------------- encodings

ZH = "问：县里有专项资金吗？\n答：有的，每年十万元，用于留守儿童的课后服务。"
ZH_TRADITIONAL = "問：縣裡有專項資金嗎？\n答：有的，每年十萬元，用於留守兒童的課後服務。"
EN = "Interviewer: Did the county help?\nOfficial: We don’t have money — “none at all”, café."


@pytest.mark.parametrize(("text", "encoding"), [
    (ZH, "utf-8"),
    (ZH, "utf-8-sig"),
    (ZH, "utf-16"),  # with BOM, little-endian on this machine
    (ZH, "gb18030"),
    (ZH, "gbk"),
    (ZH_TRADITIONAL, "big5"),
    (ZH_TRADITIONAL, "utf-8"),
    (EN, "cp1252"),
    (EN, "utf-16-le"),  # no BOM: recognised from its zero bytes
])
def test_decode_encodings(text, encoding):
    assert decode(text.encode(encoding), "x.txt") == text


@pytest.mark.parametrize("bom", [b"\xff\xfe", b"\xfe\xff"])
def test_decode_utf16_with_bom_both_byte_orders(bom):
    codec = "utf-16-le" if bom == b"\xff\xfe" else "utf-16-be"
    assert decode(bom + ZH.encode(codec), "x.txt") == ZH


@pytest.mark.parametrize(("text", "encoding"), [
    ("我们", "gb18030"), ("好", "gb18030"), ("王科长：我们县的留守儿童很多。", "gb18030"),
    ("縣政府", "big5"), ("敬老院的老人", "big5"),
])
def test_decode_short_chinese_files(text, encoding):
    assert decode(text.encode(encoding), "x.txt") == text


def test_decode_normalises_line_endings():
    assert decode(b"a\r\nb\rc\n", "x.txt") == "a\nb\nc\n"
    assert decode("问：好\r\n答：是\r\n".encode("gb18030"), "x.txt") == "问：好\n答：是\n"


PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.mark.parametrize(("data", "problem"), [
    (b"", "empty file"),
    (PNG, "cannot be decoded"),
    (b"text\x00with a zero byte", "cannot be decoded"),
    (b"Q: hello\x1b[31m red", "cannot be decoded"),
    (bytes(range(256)) * 4, "cannot be decoded"),
])
def test_decode_rejects_binary_and_empty_data(data, problem):
    with pytest.raises(InputError, match=problem) as error:
        decode(data, "interviews/x.txt")
    assert str(error.value).startswith("interviews/x.txt")


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "gb18030"])
def test_read_text_file_in_each_encoding_with_crlf(tmp_path, encoding):
    content = (FRONT + "问：县里支持吗？\n答：支持，每年拨专款。\n后来又加了人手。\n").replace("\n", "\r\n")
    data = content.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    transcript = read(tmp_path, "C-01.txt", data)
    assert turns_of(transcript) == [
        ("问", True, "县里支持吗？"),
        ("答", False, "支持，每年拨专款。\n后来又加了人手。"),
    ]
    assert "\r" not in transcript.text


def test_read_big5_file(tmp_path):
    transcript = read(tmp_path, "T-01.txt", FRONT + ZH_TRADITIONAL, "big5")
    assert turns_of(transcript)[1] == ("答", False, "有的，每年十萬元，用於留守兒童的課後服務。")


def test_read_markdown_with_bold_labels(tmp_path):
    text = FRONT + "# 访谈记录\n\n**访谈者**：您好。\n\n**王科长**：我们县里很重视。\n"
    transcript = read(tmp_path, "C-02.md", text)
    assert turns_of(transcript) == [
        ("unknown", False, "# 访谈记录"),
        ("访谈者", True, "您好。"),
        ("王科长", False, "我们县里很重视。"),
    ]


def test_read_docx_paragraphs_and_tables(tmp_path):
    import docx

    document = docx.Document()
    for line in ["问：您好，请介绍一下项目。", "答：我们从2016年开始做留守儿童的服务。", "后来县里也支持了。"]:
        document.add_paragraph(line)
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "问："
    table.rows[0].cells[1].text = "经费从哪里来？"
    path = tmp_path / "C-01.docx"
    document.save(str(path))
    transcript = read_transcript(path, tmp_path, {"C-01.docx": {"case": "County C"}})
    assert transcript.text.split("\n")[0] == "问：您好，请介绍一下项目。"
    assert turns_of(transcript) == [
        ("问", True, "您好，请介绍一下项目。"),
        ("答", False, "我们从2016年开始做留守儿童的服务。\n后来县里也支持了。"),
        ("问", True, "经费从哪里来？"),
    ]
    assert transcript.meta["case"] == "County C"


def test_read_broken_docx_names_the_file(tmp_path):
    path = write(tmp_path, "bad.docx", b"PK\x03\x04 not really a zip")
    with pytest.raises(InputError, match="not a readable .docx") as error:
        read_transcript(path, tmp_path, {"bad.docx": {"case": "C"}})
    assert "bad.docx" in str(error.value)


VTT_VOICES = """WEBVTT

00:00:01.000 --> 00:00:04.000
<v Interviewer>How did the county help?</v>

00:00:04.500 --> 00:00:08.000
<v Lin Yue>They gave us a room.
And some money &amp; staff.</v>

NOTE a comment that is not spoken

00:00:08.500 --> 00:00:10.000
<v Lin Yue>Not much, though.</v>

00:00:10.500 --> 00:00:12.000
<v.loud Interviewer>Why <i>not</i>?</v>
"""

VTT_PREFIXES = """WEBVTT

1
00:00:01.000 --> 00:00:03.000
访谈者：县里支持吗？

2
00:00:03.500 --> 00:00:06.000
王科长：支持的。

3
00:00:06.500 --> 00:00:08.000
每年都有专项资金。

4
00:00:08.500 --> 00:00:09.000
访谈者：好的。
"""


def test_read_vtt_with_voice_tags(tmp_path):
    transcript = read_transcript(write(tmp_path, "J-02.vtt", VTT_VOICES), tmp_path,
                                 {"J-02.vtt": {"case": "County J"}})
    assert turns_of(transcript) == [
        ("Interviewer", True, "How did the county help?"),
        ("Lin Yue", False, "They gave us a room.\nAnd some money & staff.\nNot much, though."),
        ("Interviewer", True, "Why not?"),
    ]
    assert [t.timestamp for t in transcript.turns] == ["00:00:01.000", "00:00:04.500",
                                                      "00:00:10.500"]
    assert transcript.meta["language"] == "en"


def test_read_vtt_with_name_prefixes(tmp_path):
    transcript = read_transcript(write(tmp_path, "J-03.vtt", VTT_PREFIXES), tmp_path,
                                 {"J-03.vtt": {"case": "County J"}})
    assert turns_of(transcript) == [
        ("访谈者", True, "县里支持吗？"),
        ("王科长", False, "支持的。\n每年都有专项资金。"),
        ("访谈者", True, "好的。"),
    ]
    assert transcript.turns[1].timestamp == "00:00:03.500"


def test_read_malformed_vtt_names_the_file(tmp_path):
    path = write(tmp_path, "x.vtt", "not a vtt file\n")
    with pytest.raises(InputError, match="not a valid WebVTT") as error:
        read_transcript(path, tmp_path, {"x.vtt": {"case": "C"}})
    assert "x.vtt" in str(error.value)


# --------------------------------------------------------------------------- metadata


def test_front_matter_fields_and_offsets(tmp_path):
    text = ("---\nid: 01\ncase: County C\nrespondent_role: official\ndate: 2018-07-15\n"
            "interviewer: [李老师, Helper]\n---\n李老师：您好。\nHelper: Welcome.\n王科长：好。\n")
    transcript = read(tmp_path, "C-01.md", text)
    assert transcript.text == text
    assert transcript.id == "01"
    meta = transcript.meta
    assert (meta["case"], meta["respondent_role"], meta["date"]) == ("County C", "official",
                                                                    "2018-07-15")
    assert meta["interviewer"] == "李老师;Helper"
    assert [(t.speaker, t.is_interviewer) for t in transcript.turns] == [
        ("李老师", True), ("Helper", True), ("王科长", False)]
    assert transcript.turns[0].start == text.index("您好")


def test_metadata_defaults_and_language_detection(tmp_path):
    zh = read(tmp_path, "a.txt", FRONT + "问：你好。\n答：我们县里有很多留守儿童，Dr. Wang 也来过。")
    en = read(tmp_path, "b.txt", FRONT + "Q: Hello.\nA: We had no money, 一点 none.")
    mixed = read(tmp_path, "c.txt", FRONT + "Q: What about 专项资金?\nA: 县里每年给我们拨款, "
                 "but it is never enough for the kids.")
    assert (zh.id, zh.meta["respondent_role"], zh.meta["language"]) == ("a", "other", "zh")
    assert en.meta["language"] == "en"
    assert mixed.meta["language"] == "mixed"
    assert zh.meta["translation_of"] == "" and zh.translation_of is None


def test_manifest_overrides_front_matter(tmp_path):
    write(tmp_path, "sub/C-01.txt", "---\ncase: Old\nlanguage: zh\n---\n问：好。\n")
    write(tmp_path, "manifest.csv", "file,case,respondent_role,interviewer\n"
          "sub/C-01.txt,County C,official,\n\n", "utf-8-sig")
    manifest = read_manifest(tmp_path)
    assert manifest == {"sub/C-01.txt": {"case": "County C", "respondent_role": "official"}}
    transcript = read_transcript(tmp_path / "sub" / "C-01.txt", tmp_path, manifest)
    assert transcript.path == "sub/C-01.txt"
    assert (transcript.meta["case"], transcript.meta["language"]) == ("County C", "zh")


def test_manifest_in_gb18030_and_absent(tmp_path):
    assert read_manifest(tmp_path) == {}
    write(tmp_path, "访谈.txt", "问：好。")
    write(tmp_path, "manifest.csv", "file,case\n访谈.txt,甲县\n", "gb18030")
    assert read_manifest(tmp_path) == {"访谈.txt": {"case": "甲县"}}


def test_translation_needs_no_case(tmp_path):
    transcript = read(tmp_path, "C-02-en.md", "---\ntranslation_of: C-02\n---\nQ: Hello.\n")
    assert transcript.translation_of == "C-02"


@pytest.mark.parametrize(("content", "problem", "line"), [
    ("", "empty file", None),
    ("   \n\n", "no text", None),
    (PNG, "cannot be decoded", None),
    ("---\ncase: [unclosed\n---\nQ: hi\n", "not valid YAML", 3),
    ("---\n- a list\n---\nQ: hi\n", "must be 'field: value'", 2),
    ("---\ncase: C\nQ: hi\n", "never closed", 1),
    ("---\ncase: C\nregion: north\n---\nQ: hi\n", "unknown front-matter field 'region'", 3),
    ("---\ncase: C\nrespondent_role: [a, b]\n---\nQ: hi\n", "single value", 3),
    ("Q: hello\n", "no case", None),
    ("---\ncase: C\n---\n\n  \n", "no turns", None),
])
def test_bad_transcripts_name_file_and_line(tmp_path, content, problem, line):
    path = write(tmp_path, "bad.txt", content)
    with pytest.raises(InputError, match=problem) as error:
        read_transcript(path, tmp_path)
    assert error.value.source == str(path)
    assert error.value.line == line


@pytest.mark.parametrize(("manifest", "problem", "line"), [
    ("name,case\na.txt,C\n", "no 'file' column", 1),
    ("file,case,region\na.txt,C,north\n", "unknown column 'region'", 1),
    ("file,case\na.txt,C\nmissing.txt,C\n", "no such transcript file: missing.txt", 3),
    ("file,case\na.txt,C\na.txt,D\n", "listed twice", 3),
    ("file,case\n,C\n", "row without a file name", 2),
])
def test_bad_manifest_names_file_and_line(tmp_path, manifest, problem, line):
    write(tmp_path, "a.txt", "Q: hi")
    write(tmp_path, "manifest.csv", manifest)
    with pytest.raises(InputError, match=problem) as error:
        read_manifest(tmp_path)
    assert "manifest.csv" in str(error.value)
    assert error.value.line == line


# --------------------------------------------------------------------------- turns

LABEL_STYLES = [
    ("Interviewer: How are you?", "Interviewer", "How are you?"),
    ("Q: How are you?", "Q", "How are you?"),
    ("A: Fine.", "A", "Fine."),
    ("问：您好。", "问", "您好。"),
    ("答：好。", "答", "好。"),
    ("访谈者：您好。", "访谈者", "您好。"),
    ("受访者：好的。", "受访者", "好的。"),
    ("县民政局干部：我们有专项资金。", "县民政局干部", "我们有专项资金。"),
    ("王科长：我们有专项资金。", "王科长", "我们有专项资金。"),
    ("王科长:我们有专项资金。", "王科长", "我们有专项资金。"),
    ("Official: We have a special fund.", "Official", "We have a special fund."),
    ("Principal volunteer: We train them.", "Principal volunteer", "We train them."),
    ("Dr. Li: The kids are fine.", "Dr. Li", "The kids are fine."),
    ("CC: Roger.", "CC", "Roger."),
    ("P: Roger.", "P", "Roger."),
    ("R1: Yes, we did.", "R1", "Yes, we did."),
    ("Speaker 2: Yes.", "Speaker 2", "Yes."),
    ("说话人1：是的。", "说话人1", "是的。"),
    ("受访者A：是的。", "受访者A", "是的。"),
    ("陈老师：孩子们很喜欢。", "陈老师", "孩子们很喜欢。"),
    ("老王：没问题。", "老王", "没问题。"),
    ("刘书记（县委）：我们很重视。", "刘书记（县委）", "我们很重视。"),
    ("**Interviewer:** Hello.", "Interviewer", "Hello."),
    ("**王科长**：你好。", "王科长", "你好。"),
    ("[00:12:03] 王科长：我们有钱。", "王科长", "我们有钱。"),
    ("00:12 Official: We have money.", "Official", "We have money."),
    ("(00:12:03) Q: Why?", "Q", "Why?"),
    ("[00:00:00:03] CC: Roger.", "CC", "Roger."),
    ("张三(00:01:05)：我们开始吧。", "张三", "我们开始吧。"),
    ("Ｑ：全角标签。", "Ｑ", "全角标签。"),
    ("- Interviewer: Hello.", "Interviewer", "Hello."),
    ("【主持人】：大家好。", "主持人", "大家好。"),
    ("Interviewer (Zhang): Hello.", "Interviewer (Zhang)", "Hello."),
    ("某局长：我们研究一下。", "某局长", "我们研究一下。"),
    ("村民甲：孩子都在家。", "村民甲", "孩子都在家。"),
    ("Speaker 1 (00:01:02): Hello.", "Speaker 1", "Hello."),
    ("訪談者：請問經費呢？", "訪談者", "請問經費呢？"),
    ("王科長：縣裡有專項資金。", "王科長", "縣裡有專項資金。"),
]


@pytest.mark.parametrize(("line", "speaker", "said"), LABEL_STYLES)
def test_label_styles(line, speaker, said):
    assert turns_in(line + "\n继续。\n") == [(speaker, said + "\n继续。")]


NOT_LABELS = [
    "他当时说：我们没钱。",
    "她表示：县里会支持。",
    "The point is: we had no money.",
    "He said: no money.",
    "Here's the thing: nobody came.",
    "国家保障未成年人的下列权利：",
    "第九条 农村五保供养包括下列供养内容：",
    "具有下列情形之一的，不得作为被委托人：",
    "主要有以下几点：",
    "问题是：没有人管。",
    "具体来说：我们先调研。",
    "Note: the recording stopped.",
    "Date: 2018-07-15",
    "时间：2018年7月15日",
    "We met at 10:30 in the office.",
    "See http://example.org for more.",
    "20. Voltages: main 24, 25.",
    "dizziness: I've run the head checks.",
    "我们的目标很简单，就是：让孩子有人管。",
    "[glossary:ASCS|ASCS] is 112.",
    "Long story short: it failed.",
    "他问：你们怎么办？",
    "有些人：觉得不好。",
    "我们村的人：都出去打工了。",
    "他當時說：我們沒錢。",
]


@pytest.mark.parametrize("line", NOT_LABELS)
def test_sentences_with_a_colon_are_not_labels(line):
    text = "Official: We start.\n" + line + "\n"
    assert turns_in(text) == [("Official", "We start.\n" + line)]


def test_sentence_with_colon_before_first_label_is_unknown_text():
    text = "他当时说：我们没钱。\n问：然后呢？\n"
    assert turns_in(text) == [("unknown", "他当时说：我们没钱。"), ("问", "然后呢？")]


def test_lowercase_or_unusual_labels_count_when_they_recur():
    text = "official: we had money.\ninterviewer: why?\nofficial: the county gave it.\n"
    assert [speaker for speaker, _ in turns_in(text)] == ["official", "interviewer", "official"]
    once = "Q: why?\nofficial: the county gave it.\n"
    assert turns_in(once) == [("Q", "why?\nofficial: the county gave it.")]


def test_speaker_time_lines_start_turns():
    text = ("说话人1 00:01:02\n您好，我们开始吧。\n\n说话人2 00:01:10\n好的。\n第二行。\n"
            "Speaker 2 00:02:00\nYes.\n")
    turns = split_turns(text)
    assert [(t.speaker, t.timestamp, text[t.start:t.end]) for t in turns] == [
        ("说话人1", "00:01:02", "您好，我们开始吧。"),
        ("说话人2", "00:01:10", "好的。\n第二行。"),
        ("Speaker 2", "00:02:00", "Yes."),
    ]


def test_lone_timestamp_belongs_to_the_next_turn():
    text = "[00:00:01]\nQ: Hello?\n\n[00:00:05]\nA: Hi.\n"
    turns = split_turns(text)
    assert [(t.speaker, t.timestamp) for t in turns] == [("Q", "[00:00:01]"), ("A", "[00:00:05]")]


def test_text_before_first_label_is_unknown_and_continuations_join():
    text = "访谈记录\n地点：县民政局\n\n问：您好。\n  请介绍一下。\n答：好的。\n"
    assert turns_in(text) == [
        ("unknown", "访谈记录\n地点：县民政局"),
        ("问", "您好。\n  请介绍一下。"),
        ("答", "好的。"),
    ]


def test_meta_lines_are_metadata_and_split_a_turn_around_them():
    text = ("[00:00:01:26]\n_page : 149\n_tape : \nP: Cabin pressure coming down.\n"
            "_page : 150\n     Flight very smooth now.\nCC: Roger.\n_extra : END\n")
    turns = split_turns(text)
    assert [(t.speaker, t.timestamp, t.meta, text[t.start:t.end]) for t in turns] == [
        ("P", "[00:00:01:26]", {"page": "149", "tape": ""}, "Cabin pressure coming down."),
        ("P", "[00:00:01:26]", {"page": "150"}, "Flight very smooth now."),
        ("CC", None, {"extra": "END"}, "Roger."),
    ]


def test_label_without_text_makes_no_turn():
    text = "Q:\nA: Yes.\n王科长：\n"
    assert turns_in(text) == [("A", "Yes.")]


def test_body_start_skips_front_matter():
    text = "---\ncase: A: B\n---\nQ: hi\n"
    body_start = text.index("Q:")
    assert [(t.speaker, text[t.start:t.end]) for t in split_turns(text, body_start=body_start)] == [
        ("Q", "hi")]


@pytest.mark.parametrize(("label", "expected"), [
    ("Interviewer", True), ("interviewer", True), ("INTERVIEWER", True), ("Interviewer 2", True),
    ("Q", True), ("q", True), ("Ｑ", True), ("Q1", True), ("I", True), ("问", True),
    ("访谈者", True), ("访谈者1", True), ("采访者", True), ("记者", True), ("访问者", True),
    ("主持人", True), ("Helper", True), ("李老师", True), ("A", False), ("答", False),
    ("Official", False), ("王科长", False), ("問", True), ("訪談者", True), ("記者", True),
    ("答", False),
])
def test_interviewer_labels(label, expected):
    turns = split_turns(f"{label}：你好。\n", interviewer_labels=["Helper", "李老师"])
    assert turns[0].is_interviewer is expected


def test_turn_offsets_tile_turn_text_exactly(tmp_path):
    text = FRONT + "问：  您好。  \n\n  后来呢？\n答：\n\n 我们县里有钱。 \n"
    transcript = read(tmp_path, "x.txt", text)
    assert turns_of(transcript) == [("问", True, "您好。  \n\n  后来呢？"), ("答", False, "我们县里有钱。")]
    assert [t.number for t in transcript.turns] == [1, 2]


# --------------------------------------------------------------------------- real texts


def test_real_nasa_transcript(tmp_path):
    started = time.perf_counter()
    path = REAL / "spacelog_ma6_TEC_en.txt"
    transcript = read_transcript(path, REAL, {path.name: {"case": "MA-6"}})
    assert time.perf_counter() - started < 10
    speakers = {t.speaker for t in transcript.turns}
    assert {"CC", "P", "CT", "R", "S"} <= speakers
    assert not any(s.startswith(("_", "[")) for s in speakers)
    stamped = [t for t in transcript.turns if t.timestamp]
    assert len(stamped) >= 0.99 * len(transcript.turns)  # a few turns have no time line
    assert all(t.timestamp.startswith("[") for t in stamped)
    assert transcript.turns[0].timestamp == "[-00:00:00:03]"
    assert transcript.turns[0].meta == {"page": "148", "tape": ""}
    pages = [t.meta["page"] for t in transcript.turns if "page" in t.meta]
    assert len(pages) == transcript.text.count("\n_page :") == 45
    for turn in transcript.turns:
        said = transcript.turn_text(turn)
        assert "_page" not in said and "_tape" not in said and "_extra" not in said
    assert transcript.meta["language"] == "en"


@pytest.mark.parametrize("name", ["zh_农村五保供养工作条例_2006.md", "zh_未成年人保护法_2024.md"])
def test_real_chinese_laws_are_one_unknown_turn(name):
    path = REAL / name
    started = time.perf_counter()
    transcript = read_transcript(path, REAL, {name: {"case": "law"}})
    assert time.perf_counter() - started < 10
    assert [t.speaker for t in transcript.turns] == ["unknown"]
    assert transcript.meta["language"] == "zh"


LINE_PIECES = ["问：", "答：", "Official: ", "[00:01:02]", "_page : 3", "说话人1 00:01:02", "",
               "  ", "\t", "我们没钱。", "他说：好", "Note: x", "We had no money.", "：", ":",
               "**王科长**：", "12:30"]


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(st.lists(st.sampled_from(LINE_PIECES), max_size=3).map("".join),
                      max_size=12))
def test_turns_are_ordered_trimmed_and_free_of_metadata(lines):
    text = "\n".join(lines)
    turns = split_turns(text)
    assert [t.number for t in turns] == list(range(1, len(turns) + 1))
    previous_end = 0
    for turn in turns:
        said = text[turn.start : turn.end]
        assert previous_end <= turn.start < turn.end
        assert said == said.strip()
        line_start = text.rfind("\n", 0, turn.start) + 1
        whole_lines = said.split("\n")[0 if not text[line_start : turn.start].strip() else 1:]
        assert not any(line.lstrip().startswith("_page") for line in whole_lines)
        previous_end = turn.end
    spoken = [line for line in lines if line.strip() and not line.strip().startswith("_page")]
    if spoken and not turns:
        assert all(line.strip() in ("[00:01:02]", "12:30") or line.rstrip().endswith(("：", ":",
                   "00:01:02")) for line in spoken)
