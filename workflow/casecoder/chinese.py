"""Chinese text helpers shared by the rule tagger and the classifier.

Both match on Simplified Chinese: Traditional text (Taiwan, Hong Kong, older
archives) is converted with OpenCC before matching, while quotes keep the
original characters. jieba is loaded once per process and kept quiet.
"""

from __future__ import annotations

import logging
import re
import tempfile
from functools import cache

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@cache
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional -> Simplified Chinese (other text unchanged)."""
    return _t2s().convert(text) if CJK.search(text) else text


@cache
def jieba_tokenizer():
    """The process-wide jieba tokenizer, initialised quietly with a writable cache."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    logging.getLogger("jieba").setLevel(logging.WARNING)
    jieba.dt.tmp_dir = tempfile.gettempdir()
    jieba.dt.initialize()
    return jieba.dt


def cut(text: str) -> list[str]:
    """jieba tokens of text (default, non-HMM-off mode), in order, covering it."""
    return jieba_tokenizer().lcut(text)
