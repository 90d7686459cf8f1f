"""Write a deterministic benchmark corpus of N bilingual interview transcripts.

    python bench/make_corpus.py --n 1000 --out bench/out/corpus-1000

Each transcript is about 10 KB, in the formats the bundled transcripts use:
UTF-8 .txt with front matter, GB18030 .txt (metadata in manifest.csv), .md,
.docx and WebVTT. The text is recombined from a bank of interview sentences
(Chinese, English and mixed) so segmentation and tagging do realistic work.
The same seed and N always give the same files.
"""

from __future__ import annotations

import argparse
import csv
import random
from datetime import datetime
from pathlib import Path

ZH = [
    "县里每年拿出三十万元专项资金，专门用于留守儿童的关爱服务。",
    "说实话，这两年精力基本都放在脱贫攻坚上了，这块工作顾不上。",
    "我们跟公司签了购买服务的合同，一期七天，每期一百个孩子。",
    "乡镇干部一户一户去家里走访，跟孩子的爷爷奶奶沟通。",
    "敬老院里住着三十多个五保老人，两个人一间房。",
    "护理员就两个，都是本村的妇女，没有受过专业培训。",
    "上面文件下来了，要求月底之前必须完成，我们只能赶进度。",
    "他们来就是拍几张照片，拿材料回去写总结，活动本身不怎么管。",
    "志愿者从最开始的三个人，发展到现在一百多人。",
    "我们向县里打过报告申请经费，一直没有回音。",
    "领导很重视，亲自牵头成立了工作专班，各部门一起商量方案。",
    "那天天气特别热，路上堵了快两个小时。",
    "嗯，对，是这样的。",
    "您喝点水，我们慢慢聊。",
    "这个项目后来成了县里的品牌，家长反映都很好。",
    "因为没有资金，机构只办了一次活动，后来就解散了。",
    "省里购买了社工服务，项目结束以后就没有下文了。",
    "我们的 volunteer 大多是大学生，暑假过来支教。",
    "老人们生病了只能送到镇上的卫生院，院里没有医生。",
    "孩子们在夏令营里学游泳、画画，还有心理辅导课。",
]
EN = [
    "The county set aside a special fund of 300,000 yuan for the children's programme.",
    "Honestly, poverty alleviation took all of our energy for two years.",
    "We signed a purchase-of-service contract after a public tender.",
    "Township officials visited every family before the camp started.",
    "The nursing home had thirty-five residents and only two untrained workers.",
    "They came to take photos for their report and left after an hour.",
    "Our volunteers grew from three students to more than a hundred.",
    "We asked the county for support several times, but nobody replied.",
    "The county head chaired the working group himself.",
    "The road was terrible after the rain, so we were late.",
    "Yes. That's right.",
    "Dr. Li from the U.S. office joined us at 3 p.m. on Friday.",
    "The programme became a signature project and is still running.",
    "Without funding the agency held one event and then disbanded.",
    "The provincial government paid for the social workers until 2017.",
]
LABELS = [("访谈者", "受访者"), ("问", "答"), ("Interviewer", "Respondent"), ("Q", "A")]
CASES = [f"County {c}" for c in "ABCDEFGHKLMN"]
ROLES = ["official", "township_official", "company_founder", "principal_volunteer",
         "social_worker", "other"]


def _turns(rng: random.Random, size: int) -> list[tuple[bool, str]]:
    turns, length, interviewer = [], 0, True
    while length < size:
        bank = ZH if rng.random() < 0.7 else EN
        n = rng.randint(1, 2) if interviewer else rng.randint(2, 7)
        text = ("" if bank is ZH else " ").join(rng.choice(bank) for _ in range(n))
        turns.append((interviewer, text))
        length += len(text.encode("utf-8")) + 12
        interviewer = not interviewer
    return turns


def write_corpus(n: int, out: Path, seed: int = 42, size: int = 10_000) -> list[Path]:
    """Write n transcripts into out (created); return their paths."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    manifest = []
    paths = []
    for i in range(n):
        tid = f"T{i:05d}"
        case, role = rng.choice(CASES), rng.choice(ROLES)
        q, a = rng.choice(LABELS)
        turns = _turns(rng, size)
        kind = ["txt", "txt", "txt", "gb18030", "md", "docx", "vtt"][i % 7]
        sub = out / f"site{i % 10}"
        sub.mkdir(exist_ok=True)
        if kind == "vtt":
            path = sub / f"{tid}.vtt"
            lines = ["WEBVTT", ""]
            for k, (is_q, text) in enumerate(turns):
                start, end = k * 20, k * 20 + 19
                lines += [f"00:{start // 60:02d}:{start % 60:02d}.000 --> "
                          f"00:{end // 60:02d}:{end % 60:02d}.000",
                          f"<v {'Interviewer' if is_q else 'Respondent'}>{text}", ""]
            path.write_text("\n".join(lines), encoding="utf-8")
            manifest.append({"file": path.relative_to(out).as_posix(), "id": tid, "case": case,
                             "respondent_role": role})
        elif kind == "docx":
            import docx

            path = sub / f"{tid}.docx"
            document = docx.Document()
            for is_q, text in turns:
                document.add_paragraph(f"{q if is_q else a}：{text}")
            document.core_properties.created = datetime(2018, 7, 1)
            document.save(path)
            manifest.append({"file": path.relative_to(out).as_posix(), "id": tid, "case": case,
                             "respondent_role": role})
        else:
            body = "\n".join(f"{q if is_q else a}：{text}" for is_q, text in turns) + "\n"
            if kind == "gb18030":
                path = sub / f"{tid}.txt"
                path.write_bytes(body.encode("gb18030"))
                manifest.append({"file": path.relative_to(out).as_posix(), "id": tid,
                                 "case": case, "respondent_role": role})
            else:
                path = sub / f"{tid}.{'md' if kind == 'md' else 'txt'}"
                front = f"---\nid: {tid}\ncase: {case}\nrespondent_role: {role}\n---\n"
                path.write_text(front + body, encoding="utf-8")
        paths.append(path)
    with open(out / "manifest.csv", "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, ["file", "id", "case", "respondent_role"])
        writer.writeheader()
        writer.writerows(manifest)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    paths = write_corpus(args.n, args.out, args.seed)
    total = sum(p.stat().st_size for p in paths)
    print(f"{len(paths)} transcripts, {total / 1e6:.1f} MB in {args.out}")


if __name__ == "__main__":
    main()
