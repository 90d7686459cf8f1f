"""The trained classifier: learning, honest metrics, determinism and safe loading.

A small bilingual toy set (written here, not the bundled annotations) keeps the
tests fast; the figures on the bundled annotations are in docs/model.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import skops.io

from casecoder.classifier import (
    THRESHOLDS,
    TRUSTED_TYPES,
    CodeModel,
    assign_folds,
    best_threshold,
    build_features,
    count_ngrams,
    load_model,
    near_duplicate_groups,
    normalise,
    part_features,
    save_model,
    train,
    word_tokens,
)
from casecoder.errors import InputError

CODES = ["FUNDS", "KIDS", "ELDERLY", "RARE"]
BOOK = "a" * 64
MARKER = "casecoder-classifier-test-marker"

# Fragments whose combinations make a toy corpus: each fragment brings its codes.
FRAGMENTS = {
    "zh": [
        ("县里拨了专项资金", {"FUNDS"}), ("政府安排了三十万预算", {"FUNDS"}),
        ("留守儿童暑假有人管了", {"KIDS"}), ("孩子们在夏令营很开心", {"KIDS"}),
        ("敬老院的五保老人", {"ELDERLY"}), ("老人们吃得比以前好", {"ELDERLY"}),
        ("我们开了好几次会", set()), ("天气一直不太好", set()), ("路上走了两个小时", set()),
    ],
    "en": [
        ("the county set aside a special fund", {"FUNDS"}),
        ("they put money in the budget", {"FUNDS"}),
        ("the left-behind kids had somewhere to go", {"KIDS"}),
        ("the children loved the summer camp", {"KIDS"}),
        ("the old people in the nursing home", {"ELDERLY"}),
        ("the elderly residents ate better", {"ELDERLY"}),
        ("we had several meetings", set()), ("the weather was bad", set()),
        ("the road took two hours", set()),
    ],
}


def toy_corpus() -> tuple[list[str], list[set[str]]]:
    """Pairs of fragments in both languages, plus three RARE rows (too few to train)."""
    texts, labels = [], []
    for language, fragments in FRAGMENTS.items():
        joiner = "，" if language == "zh" else ", and "
        for i, (first, codes1) in enumerate(fragments):
            for second, codes2 in fragments[i + 1:]:
                texts.append(first + joiner + second + ("。" if language == "zh" else "."))
                labels.append(codes1 | codes2)
    for n in range(3):
        texts.append(f"罕见的说法第{n}次")
        labels.append({"RARE"})
    return texts, labels


@pytest.fixture(scope="module")
def trained():
    texts, labels = toy_corpus()
    return train(texts, labels, CODES, folds=4, seed=0, log=lambda line: None)


@pytest.fixture(scope="module")
def saved(trained, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "model.skops"
    save_model(trained.model, path, codebook_sha256=BOOK, data_sha256="b" * 64)
    return path


def _copy(saved: Path, tmp_path: Path) -> Path:
    target = tmp_path / "model.skops"
    target.write_bytes(saved.read_bytes())
    target.with_suffix(".json").write_bytes(saved.with_suffix(".json").read_bytes())
    return target


def _replace_model(path: Path, data: bytes) -> None:
    """What an attacker who can write both files does: new bytes, matching sidecar hash."""
    path.write_bytes(data)
    sidecar = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    sidecar["model_sha256"] = hashlib.sha256(data).hexdigest()
    path.with_suffix(".json").write_text(json.dumps(sidecar), encoding="utf-8")


class Payload:
    """A custom class that would leave a marker file if it were ever instantiated on load."""

    def __init__(self, marker: str):
        self.marker = marker

    def __setstate__(self, state):
        Path(state["marker"]).write_text("code ran", encoding="utf-8")

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "code ran"))


# ---------------------------------------------------------------- learning


@pytest.mark.parametrize(("text", "code"), [
    ("县里又拨了一笔专项资金。", "FUNDS"),
    ("The county put money in the budget again.", "FUNDS"),
    ("留守儿童很开心。", "KIDS"),
    ("The kids loved it.", "KIDS"),
    ("敬老院的老人们很好。", "ELDERLY"),
    ("The old people in the home.", "ELDERLY"),
    ("敬老院的老人們很好。", "ELDERLY"),  # Traditional characters meet the same features
])
def test_learns_obvious_codes(trained, text, code):
    assert code in trained.model.predict([text])[0]


def test_unrelated_text_gets_no_code(trained):
    assert trained.model.predict(["天气一直不太好。", "The road took two hours."]) == [[], []]


def test_codes_with_too_few_examples_are_reported_not_dropped(trained):
    assert trained.model.codes_ == ["FUNDS", "KIDS", "ELDERLY"]
    assert trained.metrics["untrained"] == {"RARE": 3}


def test_predict_proba_shape_and_range(trained):
    probs = trained.model.predict_proba(["a", "留守儿童", ""])
    assert probs.shape == (3, 3)
    assert ((probs >= 0) & (probs <= 1)).all()
    assert trained.model.predict_proba([]).shape == (0, 3)


def test_nothing_trainable_gives_an_empty_model(tmp_path):
    texts, labels = toy_corpus()
    result = train(texts, labels, CODES, min_examples=1000, log=lambda line: None)
    assert result.model.codes_ == []
    assert result.metrics["untrained"] == {"FUNDS": 30, "KIDS": 30, "ELDERLY": 30, "RARE": 3}
    assert result.model.predict_proba(["x", "y"]).shape == (2, 0)
    assert result.model.predict(["x"]) == [[]]
    save_model(result.model, tmp_path / "m.skops", codebook_sha256=BOOK, data_sha256="")
    assert load_model(tmp_path / "m.skops", codebook_sha256=BOOK).codes_ == []


def test_no_annotations_at_all_gives_an_empty_model():
    result = train([], [], CODES, log=lambda line: None)
    assert result.model.codes_ == [] and result.metrics["n_examples"] == 0
    assert result.metrics["untrained"] == {code: 0 for code in CODES}
    assert result.model.predict(["留守儿童"]) == [[]]


def test_too_few_texts_is_a_clear_error():
    with pytest.raises(InputError, match="too few distinct annotated segments"):
        train(["a", "a ", "b"], [{"FUNDS"}, {"FUNDS"}, set()], CODES, min_examples=1,
              log=lambda line: None)


def test_progress_is_logged_per_fold_and_per_code():
    texts, labels = toy_corpus()
    lines: list[str] = []
    train(texts, labels, CODES, folds=3, log=lines.append)
    assert any("RARE (3)" in line for line in lines)
    for number, code in enumerate(["FUNDS", "KIDS", "ELDERLY"], start=1):
        assert any(line.startswith(f"[{number}/3] {code}:") for line in lines)
    for number in range(1, 7):  # 3 outer folds and 3 pairs of folds
        assert any(line.startswith(f"[part {number}/6] without fold") for line in lines)


# ---------------------------------------------------------------- metrics


def test_metrics_structure_and_ranges(trained):
    metrics = trained.metrics
    assert list(metrics) == ["macro", "codes", "untrained", "n_examples", "folds", "seed",
                             "design", "comparison"]
    assert list(metrics["codes"]) == ["FUNDS", "KIDS", "ELDERLY"]  # codebook order
    assert metrics["n_examples"] == len(toy_corpus()[0])
    assert metrics["folds"] == 4 and metrics["seed"] == 0
    assert set(metrics["macro"]) == {"precision", "recall", "f1", "kappa"}
    for values in [metrics["macro"], *metrics["codes"].values()]:
        for name in ("precision", "recall", "f1"):
            assert 0.0 <= values[name] <= 1.0
        assert -1.0 <= values["kappa"] <= 1.0
        assert all(round(v, 4) == v for v in values.values() if isinstance(v, float))
    for code, values in metrics["codes"].items():
        assert values["threshold"] == trained.model.thresholds_[code]
        assert THRESHOLDS[0] <= values["threshold"] <= THRESHOLDS[-1]
        assert values["n_positive"] == 30
    # the toy codes are easy, though toy texts sharing a fragment are near duplicates
    # and share a fold, so many held-out texts hold a fragment never trained on
    assert metrics["macro"]["f1"] > 0.6
    assert metrics["macro"]["kappa"] > 0.4
    assert metrics["comparison"] == {metrics["design"]: metrics["macro"]["f1"]}
    json.dumps(metrics)


def test_compare_records_every_design():
    texts, labels = toy_corpus()
    metrics = train(texts, labels, CODES, folds=3, compare=True, log=lambda line: None).metrics
    assert set(metrics["comparison"]) == {"lr-char+word", "svm-char+word", "lr-char"}
    assert metrics["comparison"][metrics["design"]] == metrics["macro"]["f1"]


def test_best_threshold_maximises_f1_within_the_clip():
    probs = np.array([0.9, 0.7, 0.45, 0.4, 0.1, 0.05])
    truth = np.array([1, 1, 1, 0, 0, 0])
    assert 0.41 <= best_threshold(probs, truth) <= 0.45
    assert best_threshold(np.array([0.25, 0.22, 0.01]), np.array([1, 1, 0])) == 0.21
    assert best_threshold(np.array([0.95, 0.9, 0.1]), np.array([1, 1, 0])) == 0.5  # plateau middle


def test_folds_keep_near_duplicates_together_and_spread_rare_codes():
    # 40 unrelated texts: eight characters each, drawn without overlap
    texts = ["".join(chr(0x4E00 + 8 * i + k) for k in range(8)) for i in range(40)]
    texts += ["Same text!", "same  text"]  # equal but for case, spaces and punctuation
    texts += ["The county gave us 60,000 yuan for the summer camp in 2019.",
              "The county gave us 80,000 yuan for the summer camp in 2021."]  # a paraphrase
    Y = np.zeros((44, 1), dtype=np.int8)
    Y[:8, 0] = 1
    folds = assign_folds(texts, Y, 4, seed=1)
    assert folds[40] == folds[41]
    assert folds[42] == folds[43]
    assert sorted(np.bincount(folds[:8], minlength=4)) == [2, 2, 2, 2]


def test_near_duplicate_groups_join_paraphrases_only():
    texts = ["县里每年拿出三十万专项资金给留守儿童办夏令营。",
             "县里每年拿出二十万专项资金给留守儿童办夏令营。",
             "敬老院的老人冬天没有暖气。",
             "The township never answered our letters about the roof.",
             "The township never once answered our letters about the leaking roof.",
             "We signed a three-year contract with the company."]
    groups = near_duplicate_groups(texts, block=2)
    assert groups[0] == groups[1]
    assert groups[3] == groups[4]
    assert len({groups[0], groups[2], groups[3], groups[5]}) == 4


# ---------------------------------------------------------------- features


@pytest.mark.parametrize(("raw", "expected"), [
    ("臺灣的老人們", "台湾的老人们"),
    ("ＡＢＣ  Fund\n2018年", "abc fund 0000年"),
])
def test_normalise(raw, expected):
    assert normalise(raw) == expected


def test_part_features_equal_features_fitted_on_the_part_alone():
    """What makes the metrics honest: held-out rows never shape vocabulary or idf."""
    texts, _ = toy_corpus()
    train_rows = np.arange(len(texts)) % 3 != 0
    ngrams = count_ngrams(texts, ["char", "word"])
    ours = part_features([ngrams["char"], ngrams["word"]], train_rows)
    fitted = build_features().fit([t for t, keep in zip(texts, train_rows, strict=True) if keep])
    np.testing.assert_allclose(ours.toarray(), fitted.transform(texts).toarray(), atol=1e-12)


def test_word_tokens_split_mixed_text():
    tokens = word_tokens(normalise("县里拨了专项资金 for the summer camp."))
    assert "专项资金" in tokens and "summer" in tokens and "." not in tokens


# ---------------------------------------------------------------- determinism and saving


def test_training_twice_gives_identical_thresholds_and_bytes(trained, saved, tmp_path):
    texts, labels = toy_corpus()
    again = train(texts, labels, CODES, folds=4, seed=0, log=lambda line: None)
    assert again.model.thresholds_ == trained.model.thresholds_
    assert json.dumps(again.metrics) == json.dumps(trained.metrics)
    save_model(again.model, tmp_path / "again.skops", codebook_sha256=BOOK, data_sha256="b" * 64)
    assert (tmp_path / "again.skops").read_bytes() == saved.read_bytes()


def test_worker_processes_do_not_change_the_bytes(saved, tmp_path):
    texts, labels = toy_corpus()
    alone = train(texts, labels, CODES, folds=4, seed=0, n_jobs=1, log=lambda line: None)
    save_model(alone.model, tmp_path / "alone.skops", codebook_sha256=BOOK, data_sha256="b" * 64)
    assert (tmp_path / "alone.skops").read_bytes() == saved.read_bytes()


def test_saved_bytes_do_not_depend_on_the_process(saved, tmp_path):
    """Another interpreter, another hash seed: the same bytes (no ids, dates or set order)."""
    script = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[2])\n"
        "from test_classifier import toy_corpus, CODES, BOOK\n"
        "from casecoder.classifier import train, save_model\n"
        "r = train(*toy_corpus(), CODES, folds=4, seed=0, log=lambda line: None)\n"
        "save_model(r.model, Path(sys.argv[1]), codebook_sha256=BOOK, data_sha256='b' * 64)\n"
    )
    out = tmp_path / "other.skops"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-c", script, str(out), str(Path(__file__).parent)],
                   check=True, env=env, timeout=120)
    assert out.read_bytes() == saved.read_bytes()
    assert out.with_suffix(".json").read_bytes() == saved.with_suffix(".json").read_bytes()


def test_sidecar_ties_the_model_to_its_inputs(trained, saved):
    sidecar = json.loads(saved.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["codebook_sha256"] == BOOK
    assert sidecar["data_sha256"] == "b" * 64
    assert sidecar["model_sha256"] == hashlib.sha256(saved.read_bytes()).hexdigest()
    assert sidecar["codes"] == trained.model.codes_
    assert sidecar["thresholds"] == trained.model.thresholds_
    assert set(sidecar["versions"]) == {"scikit-learn", "skops", "casecoder"}


def test_round_trip_gives_the_same_probabilities(trained, saved):
    loaded = load_model(saved, codebook_sha256=BOOK)
    assert isinstance(loaded, CodeModel)
    texts = ["县里拨了专项资金，留守儿童很开心。", "The old people in the home.", "天气"]
    np.testing.assert_array_equal(loaded.predict_proba(texts), trained.model.predict_proba(texts))
    assert loaded.thresholds_ == trained.model.thresholds_
    assert loaded.predict(texts) == trained.model.predict(texts)


def test_the_allow_list_is_exactly_what_the_models_need(saved, trained_with_rules, tmp_path):
    """The default design (with rules and naive Bayes) and the text-only one together."""
    with_rules = tmp_path / "rules.skops"
    save_model(trained_with_rules.model, with_rules, codebook_sha256=BOOK, data_sha256="d")
    needed = set(skops.io.get_untrusted_types(file=saved))
    needed |= set(skops.io.get_untrusted_types(file=with_rules))
    assert sorted(needed) == sorted(TRUSTED_TYPES)


# ---------------------------------------------------------------- refusing bad files


def test_another_codebook_is_refused(saved):
    with pytest.raises(InputError, match="another codebook; retrain") as err:
        load_model(saved, codebook_sha256="c" * 64)
    assert str(err.value).startswith(str(saved))


def test_missing_sidecar_is_refused(saved, tmp_path):
    path = _copy(saved, tmp_path)
    path.with_suffix(".json").unlink()
    with pytest.raises(InputError, match="model.json is missing"):
        load_model(path, codebook_sha256=BOOK)


def test_unreadable_sidecar_is_refused(saved, tmp_path):
    path = _copy(saved, tmp_path)
    path.with_suffix(".json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="unreadable"):
        load_model(path, codebook_sha256=BOOK)


def test_flipped_bytes_are_refused(saved, tmp_path):
    path = _copy(saved, tmp_path)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(InputError, match="changed after training"):
        load_model(path, codebook_sha256=BOOK)


@pytest.mark.parametrize("make_payload", [
    lambda marker: {"run": os.system, "command": f"touch {marker}"},
    lambda marker: Payload(str(marker)),
    lambda marker: [CodeModel(), Payload(str(marker))],
], ids=["os.system", "custom class", "custom class beside a model"])
def test_untrusted_types_are_refused_and_never_run(saved, tmp_path, make_payload):
    path = _copy(saved, tmp_path)
    marker = tmp_path / MARKER
    _replace_model(path, skops.io.dumps(make_payload(marker)))
    with pytest.raises(InputError, match="untrusted types") as err:
        load_model(path, codebook_sha256=BOOK)
    assert "system" in str(err.value) or "Payload" in str(err.value)
    assert not marker.exists()


def test_a_pickle_in_disguise_is_refused_and_never_run(saved, tmp_path):
    path = _copy(saved, tmp_path)
    marker = tmp_path / MARKER
    _replace_model(path, pickle.dumps(Payload(str(marker))))
    with pytest.raises(InputError, match="not a skops model file"):
        load_model(path, codebook_sha256=BOOK)
    assert not marker.exists()


def test_a_trusted_file_of_another_object_is_refused(saved, tmp_path):
    path = _copy(saved, tmp_path)
    _replace_model(path, skops.io.dumps({"weights": np.zeros(3)}))
    with pytest.raises(InputError, match="not a casecoder model"):
        load_model(path, codebook_sha256=BOOK)


# ---------------------------------------------------------------- rule hits as features


def _toy_rule_hits(texts: list[str]) -> np.ndarray:
    """A stand-in rule tagger: FUNDS fires on money words (Chinese and English)."""
    return np.array([[int(any(w in t for w in ("资金", "预算", "钱", "fund", "budget", "money")))]
                     for t in texts], dtype=np.int8)


@pytest.fixture(scope="module")
def trained_with_rules():
    texts, labels = toy_corpus()
    return train(texts, labels, CODES, folds=4, seed=0, log=lambda line: None,
                 rule_hits=_toy_rule_hits(texts), rule_codes=["FUNDS"])


def test_rule_hits_make_the_default_design(trained_with_rules, trained):
    assert trained_with_rules.metrics["design"] == "lr+nb-char+word+rules"
    assert trained_with_rules.model.rule_codes_ == ["FUNDS"]
    assert trained.metrics["design"] == "lr-char+word"  # no rule hits given: no rule design


def test_a_rule_hit_carries_the_code_to_words_never_seen(trained_with_rules):
    """'钱' never occurs in the training texts; the rule feature still says FUNDS."""
    text = ["乡里给了一点钱。"]
    model = trained_with_rules.model
    with_hit = model.predict_proba(text, rule_hits=np.array([[1]]))[0, 0]
    without = model.predict_proba(text, rule_hits=np.array([[0]]))[0, 0]
    assert with_hit > model.thresholds_["FUNDS"] > without


def test_a_rule_model_needs_its_rule_hits(trained_with_rules):
    model = trained_with_rules.model
    with pytest.raises(ValueError, match="rule hits"):
        model.predict_proba(["县里拨了专项资金。"])


def test_an_attached_tagger_supplies_the_rule_hits(trained_with_rules, tmp_path):
    class Tagger:
        class codebook:  # noqa: N801 - mimics RuleTagger.codebook.ids
            ids = CODES

        def hit_matrix(self, texts, codes):
            assert codes == ["FUNDS"]
            return _toy_rule_hits(texts)

    texts = ["县里拨了专项资金。", "the weather was bad."]
    model = trained_with_rules.model
    expected = model.predict_proba(texts, rule_hits=_toy_rule_hits(texts))
    save_model(model, tmp_path / "m.skops", codebook_sha256=BOOK, data_sha256="d")
    loaded = load_model(tmp_path / "m.skops", codebook_sha256=BOOK).attach_rules(Tagger())
    np.testing.assert_allclose(loaded.predict_proba(texts), expected)
    sidecar = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert sidecar["rule_features"] == ["FUNDS"]


def test_compare_includes_the_rule_design_when_rules_are_given():
    texts, labels = toy_corpus()
    result = train(texts, labels, CODES, folds=3, seed=0, log=lambda line: None, compare=True,
                   rule_hits=_toy_rule_hits(texts), rule_codes=["FUNDS"])
    assert set(result.metrics["comparison"]) == {"lr+nb-char+word+rules", "lr-char+word+rules",
                                                 "lr-char+word", "svm-char+word", "lr-char"}


def test_a_saved_vocabulary_is_one_array_and_loads_back_equal(trained, saved):
    """The vocabulary is stored as one array of terms (fast to load), not a dict."""
    loaded = load_model(saved, codebook_sha256=BOOK)
    for name, vectorizer in trained.model.features_.named_steps["ngrams"].transformer_list:
        again = dict(loaded.features_.named_steps["ngrams"].transformer_list)[name]
        assert again.vocabulary_ == vectorizer.vocabulary_
    with zipfile.ZipFile(saved) as archive:
        schema = archive.read("schema.json").decode("utf-8")
    assert "vocabulary_terms_" in schema and '"vocabulary_"' not in schema


def test_a_vocabulary_with_a_trailing_nul_stays_a_dict():
    from casecoder.classifier import CompactTfidfVectorizer

    vectorizer = CompactTfidfVectorizer(analyzer="char", lowercase=False).fit(["a\x00", "b"])
    state = vectorizer.__getstate__()
    assert "\x00" in state["vocabulary_"] and "vocabulary_terms_" not in state


def test_soft_vote_gives_the_probabilities_of_sklearns_voting_classifier():
    """SoftVote stores two weight vectors, yet predicts what VotingClassifier would."""
    from sklearn.ensemble import VotingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import MultinomialNB

    from casecoder.classifier import NB_ALPHA, NB_SHARE, SoftVote

    texts, labels = toy_corpus()
    X = build_features().fit_transform(texts)
    y = np.array(["FUNDS" in label for label in labels], dtype=int)
    ours = SoftVote(C=10.0).fit(X[:50], y[:50]).predict_proba(X[50:])
    lr = LogisticRegression(C=10.0, class_weight="balanced", solver="liblinear", dual=True,
                            max_iter=1000, random_state=0)
    vote = VotingClassifier([("lr", lr), ("nb", MultinomialNB(alpha=NB_ALPHA))], voting="soft",
                            weights=[1 - NB_SHARE, NB_SHARE]).fit(X[:50], y[:50])
    np.testing.assert_allclose(ours, vote.predict_proba(X[50:]), atol=1e-6)
