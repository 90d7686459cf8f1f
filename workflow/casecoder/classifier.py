"""The trained classifier: one calibrated linear model per code over shared text features.

Rules find what a researcher can name; the model finds what annotated examples
show but no keyword catches. Both languages share one feature pipeline, fitted
once per training run:

- every text is normalised (NFKC, Traditional -> Simplified with OpenCC,
  lower case, digits -> ``0``, whitespace collapsed), so Taiwanese or Hong Kong
  transcripts and full-width Latin letters meet the same features;
- character 1-3-grams (tf-idf) catch Chinese words without a tokenizer and
  English inflections without a stemmer;
- word 1-2-grams (tf-idf) over jieba tokens for Chinese runs and regex words
  for Latin runs catch multi-character terms and phrases.

Each code with enough annotated positives (and negatives) gets its own
logistic regression (``class_weight="balanced"`` because most codes are rare)
and its own probability threshold, chosen by cross-validation to maximise F1.
Codes with too few examples are reported in ``metrics["untrained"]`` and left
to the rules.

Metrics are honest: the threshold applied to each held-out fold is chosen by
an inner cross-validation on that fold's training part only (see
:func:`_cross_validate`). Models are saved with skops (no pickle) and loaded
with an explicit allow-list of the types this module writes.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import time
import unicodedata
import zipfile
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import metadata
from itertools import combinations
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.svm import LinearSVC

from casecoder.chinese import CJK, cut, to_simplified
from casecoder.errors import InputError

#: Designs compared by ``train(..., compare=True)``: name -> (features, learner).
DESIGNS: dict[str, tuple[str, str]] = {
    "lr-char+word": ("char+word", "lr"),
    "svm-char+word": ("char+word", "svm"),
    "lr-char": ("char", "lr"),
}
DEFAULT_DESIGN = "lr-char+word"

#: Candidate thresholds; the clip keeps a code from firing on noise (low) or never (high).
THRESHOLDS = np.round(np.arange(0.20, 0.8001, 0.01), 2)

#: Types in a saved model that skops does not trust by default; load_model trusts these only.
TRUSTED_TYPES = [
    "casecoder.classifier.CodeModel",
    "casecoder.classifier.normalise_texts",
    "casecoder.classifier.word_tokens",
]

_LATIN_OR_CJK = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)|([^\W_]+)")
_DIGIT = re.compile(r"\d")
_SPACE = re.compile(r"\s+")


# ---------------------------------------------------------------- features


def normalise(text: str) -> str:
    """The form both vectorisers see: one spelling for the same word in any script."""
    return _normalise_cached(text)


@lru_cache(maxsize=65536)
def _normalise_cached(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = to_simplified(text).lower()
    text = _DIGIT.sub("0", text)
    return _SPACE.sub(" ", text).strip()


def normalise_texts(texts: Iterable[str]) -> list[str]:
    """:func:`normalise` over a batch (the first pipeline step; module-level to serialise)."""
    return [normalise(str(t)) for t in texts]


def word_tokens(text: str) -> list[str]:
    """Words of a normalised text: jieba for Chinese runs, letters/digits for the rest.

    Punctuation and single Latin letters are dropped; Chinese single characters
    are kept (many are words: 钱, 管, 娃).
    """
    tokens: list[str] = []
    for match in _LATIN_OR_CJK.finditer(text):
        chinese, latin = match.groups()
        if chinese:
            tokens.extend(w for w in cut(chinese) if CJK.search(w))
        elif len(latin) > 1:
            tokens.append(latin)
    return tokens


def build_features(kind: str = "char+word") -> Pipeline:
    """The shared feature pipeline: normalise, then char (and word) n-gram tf-idf."""
    parts = [("char", TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), min_df=2,
                                      sublinear_tf=True, lowercase=False))]
    if kind == "char+word":
        parts.append(("word", TfidfVectorizer(tokenizer=word_tokens, token_pattern=None,
                                               ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                                               lowercase=False)))
    elif kind != "char":
        raise ValueError(f"unknown feature kind {kind!r}")
    return Pipeline([
        ("normalise", FunctionTransformer(normalise_texts, validate=False)),
        ("ngrams", FeatureUnion(parts)),
    ])


# ---------------------------------------------------------------- the model


def _learner(kind: str, C: float, seed: int, n_positive: int):
    """A fresh binary classifier with probabilities for one code."""
    if kind == "lr":
        return LogisticRegression(C=C, class_weight="balanced", solver="liblinear",
                                  max_iter=1000, random_state=seed)
    if kind == "svm":
        svc = LinearSVC(C=C / 10, class_weight="balanced", random_state=seed)
        return CalibratedClassifierCV(svc, method="sigmoid", cv=max(2, min(3, n_positive)))
    raise ValueError(f"unknown learner {kind!r}")


def _fit_proba(X_train, y_train: np.ndarray, X_test, kind: str, C: float, seed: int) -> np.ndarray:
    """Fit on one part, return P(code) on another; a part with one class predicts its rate."""
    n_positive = int(y_train.sum())
    if n_positive in (0, len(y_train)) or (kind == "svm" and n_positive < 2):
        return np.full(X_test.shape[0], n_positive / max(len(y_train), 1))
    model = _learner(kind, C, seed, n_positive).fit(X_train, y_train)
    return model.predict_proba(X_test)[:, 1]


class CodeModel(BaseEstimator):
    """Shared features plus one binary classifier and one threshold per trained code.

    Built by :func:`train` (which also chooses the thresholds by cross-validation);
    ``fit`` alone sets every threshold to 0.5.
    """

    def __init__(self, design: str = DEFAULT_DESIGN, C: float = 10.0, seed: int = 0):
        self.design = design
        self.C = C
        self.seed = seed

    def fit(self, texts: Sequence[str], Y: np.ndarray, codes: Sequence[str]) -> CodeModel:
        """Fit features and one classifier per column of the 0/1 matrix ``Y``."""
        features, learner = DESIGNS[self.design]
        self.features_ = build_features(features).fit(list(texts))
        X = self.features_.transform(list(texts))
        self.estimators_ = [self._fit_code(X, Y[:, j], learner) for j in range(Y.shape[1])]
        self.codes_ = list(codes)
        self.thresholds_ = {c: 0.5 for c in self.codes_}
        return self

    def _fit_code(self, X, y: np.ndarray, learner: str):
        return _learner(learner, self.C, self.seed, int(y.sum())).fit(X, y)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """P(code | text), shape ``(len(texts), len(codes_))``, columns in ``codes_`` order."""
        texts = list(texts)
        if not self.codes_ or not texts:
            return np.zeros((len(texts), len(self.codes_)))
        X = self.features_.transform(texts)
        return np.column_stack([est.predict_proba(X)[:, 1] for est in self.estimators_])

    def predict(self, texts: Sequence[str]) -> list[list[str]]:
        """The codes whose probability reaches their threshold, per text, in ``codes_`` order."""
        probs = self.predict_proba(texts)
        limits = np.array([self.thresholds_[c] for c in self.codes_])
        return [[c for c, hit in zip(self.codes_, row >= limits, strict=True) if hit]
                for row in probs]


# ---------------------------------------------------------------- training


@dataclass
class TrainingResult:
    model: CodeModel
    metrics: dict  # JSON-ready; see train()


def train(
    texts: Sequence[str],
    labels: Sequence[Collection[str]],
    code_ids: Sequence[str],
    *,
    min_examples: int = 8,
    folds: int = 5,
    seed: int = 0,
    log: Callable[[str], None] = print,
    design: str = DEFAULT_DESIGN,
    compare: bool = False,
    n_jobs: int = 2,
) -> TrainingResult:
    """Fit one model per code with >= min_examples positives and negatives, with honest metrics.

    Codes with fewer examples are listed in ``metrics["untrained"]`` with their
    counts (the rules still code them). Thresholds: per code, F1-optimal on
    out-of-fold probabilities. Metrics: out-of-fold predictions whose threshold
    was chosen inside each training fold. ``compare=True`` also cross-validates
    every design in :data:`DESIGNS` and records their macro-F1.
    """
    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}; choose from {', '.join(DESIGNS)}")
    texts = [str(t) for t in texts]
    if len(texts) != len(labels):
        raise ValueError("texts and labels differ in length")
    Y_all = np.array([[c in set(label) for c in code_ids] for label in labels], dtype=np.int8)
    Y_all = Y_all.reshape(len(texts), len(code_ids))
    counts = {c: int(Y_all[:, j].sum()) for j, c in enumerate(code_ids)}
    trained = [c for c in code_ids
               if counts[c] >= min_examples and len(texts) - counts[c] >= min_examples]
    untrained = {c: counts[c] for c in code_ids if c not in trained}
    if untrained:
        listed = ", ".join(f"{c} ({n})" for c, n in untrained.items())
        log(f"too few examples (< {min_examples}) to train, left to the rules: {listed}")
    Y = Y_all[:, [code_ids.index(c) for c in trained]]
    model = CodeModel(design=design, seed=seed)
    metrics: dict = {"macro": {}, "codes": {}, "untrained": untrained, "n_examples": len(texts),
                     "folds": 0, "seed": seed, "design": design, "comparison": {}}
    if not trained:
        model.features_, model.estimators_, model.codes_, model.thresholds_ = None, [], [], {}
        log("no code has enough examples; the model codes nothing")
        return TrainingResult(model, metrics)

    fold_of = assign_folds(texts, Y, folds, seed)
    k = int(fold_of.max()) + 1
    metrics["folds"] = k
    cache: dict[str, tuple[Pipeline, sparse.csr_matrix]] = {}
    for name in (DESIGNS if compare else [design]):
        features, learner = DESIGNS[name]
        if features not in cache:
            cache[features] = _featurise(texts, features, log)
        X = cache[features][1]
        log(f"design {name}: {k}-fold nested cross-validation of {len(trained)} codes")
        cv = _cross_validate(X, Y, trained, fold_of, learner, model.C, seed, n_jobs, log,
                             final=name == design)
        code_metrics = _code_metrics(Y, cv, trained, counts)
        metrics["comparison"][name] = _macro(code_metrics)["f1"]
        if name == design:
            metrics["codes"], chosen = code_metrics, cv
    metrics["macro"] = _macro(metrics["codes"])
    model.features_ = cache[DESIGNS[design][0]][0]
    model.estimators_ = [chosen["estimators"][c] for c in trained]
    model.codes_ = list(trained)
    model.thresholds_ = {c: chosen["threshold"][c] for c in trained}
    macro = metrics["macro"]
    log(f"cross-validated macro precision {macro['precision']:.3f} recall {macro['recall']:.3f} "
        f"F1 {macro['f1']:.3f} kappa {macro['kappa']:.3f}")
    return TrainingResult(model, metrics)


def _featurise(texts: list[str], kind: str, log: Callable[[str], None]):
    """Fit the shared features once (on the texts only, never the labels) and transform."""
    start = time.perf_counter()
    features = build_features(kind).fit(texts)
    X = sparse.csr_matrix(features.transform(texts), dtype=np.float64)
    log(f"features ({kind}): {X.shape[0]} texts x {X.shape[1]} n-grams "
        f"in {time.perf_counter() - start:.1f} s")
    return features, X


def group_key(text: str) -> str:
    """Texts with the same key are near duplicates and stay in the same fold."""
    return "".join(ch for ch in normalise(text) if ch.isalnum())


def assign_folds(texts: Sequence[str], Y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold number per text: near duplicates together, rare codes spread over all folds.

    Groups are shuffled with ``seed``, then ordered by the count of their
    rarest code and dealt out in turn, so a code with 8 positives lands in
    every fold rather than in two.
    """
    keys = [group_key(t) for t in texts]
    group_ids = {key: i for i, key in enumerate(dict.fromkeys(keys))}
    group_of = np.array([group_ids[key] for key in keys])
    n_groups = len(group_ids)
    k = min(folds, n_groups)
    if k < 3:
        raise InputError(None, f"too few distinct annotated segments ({n_groups}) to "
                               "cross-validate; annotate at least 3 (better: dozens)")
    code_count = Y.sum(axis=0)
    rarity = np.full(n_groups, np.iinfo(np.int64).max)
    for row, group in enumerate(group_of):
        present = code_count[Y[row] > 0]
        if present.size:
            rarity[group] = min(rarity[group], int(present.min()))
    order = np.random.default_rng(seed).permutation(n_groups)
    order = order[np.argsort(rarity[order], kind="stable")]
    fold_of_group = np.empty(n_groups, dtype=np.int64)
    fold_of_group[order] = np.arange(n_groups) % k
    return fold_of_group[group_of]


def _cross_validate(X, Y: np.ndarray, codes: list[str], fold_of: np.ndarray, learner: str,
                    C: float, seed: int, n_jobs: int, log: Callable[[str], None],
                    final: bool) -> dict:
    """Out-of-fold predictions with thresholds chosen inside each training fold.

    With K folds, the inner cross-validation of outer fold ``k`` uses the other
    K-1 folds; the model that predicts inner fold ``j`` is trained on all but
    folds ``j`` and ``k``, and serves outer fold ``j`` as well. So each code
    needs K(K-1)/2 pair models, K outer models and (when ``final``) one model
    on all data, instead of K*K + 1.
    """
    from joblib import Parallel, delayed

    tasks = (delayed(_validate_code)(X, Y[:, j], fold_of, learner, C, seed, final)
             for j in range(len(codes)))
    runs = Parallel(n_jobs=n_jobs, prefer="threads", return_as="generator")(tasks)
    out: dict = {"pred": {}, "threshold": {}, "estimators": {}}
    for number, (code, run) in enumerate(zip(codes, runs, strict=True), start=1):
        out["pred"][code] = run["pred"]
        out["threshold"][code] = run["threshold"]
        out["estimators"][code] = run["estimator"]
        log(f"[{number}/{len(codes)}] {code}: {int(Y[:, number - 1].sum())} positives, "
            f"fold thresholds {' '.join(f'{t:.2f}' for t in run['fold_thresholds'])}, "
            f"final {run['threshold']:.2f}, out-of-fold F1 {_f1(Y[:, number - 1], run['pred']):.3f}")
    return out


def _validate_code(X, y: np.ndarray, fold_of: np.ndarray, learner: str, C: float, seed: int,
                   final: bool) -> dict:
    """Nested cross-validation of one code (see :func:`_cross_validate`)."""
    k = int(fold_of.max()) + 1
    masks = [fold_of == f for f in range(k)]
    pair = {}
    for a, b in combinations(range(k), 2):
        held = masks[a] | masks[b]
        pair[a, b] = pair[b, a] = np.full(len(y), np.nan)
        pair[a, b][held] = _fit_proba(X[~held], y[~held], X[held], learner, C, seed)
    outer = np.empty(len(y))
    pred = np.zeros(len(y), dtype=np.int8)
    fold_thresholds = []
    for f in range(k):
        outer[masks[f]] = _fit_proba(X[~masks[f]], y[~masks[f]], X[masks[f]], learner, C, seed)
        inner = np.concatenate([pair[f, j][masks[j]] for j in range(k) if j != f])
        truth = np.concatenate([y[masks[j]] for j in range(k) if j != f])
        threshold = best_threshold(inner, truth)
        fold_thresholds.append(threshold)
        pred[masks[f]] = outer[masks[f]] >= threshold
    estimator = _learner(learner, C, seed, int(y.sum())).fit(X, y) if final else None
    return {"pred": pred, "threshold": best_threshold(outer, y), "estimator": estimator,
            "fold_thresholds": fold_thresholds}


def best_threshold(probs: np.ndarray, truth: np.ndarray) -> float:
    """The F1-maximising threshold in :data:`THRESHOLDS` (middle of a tied plateau)."""
    truth = truth.astype(bool)
    hits = probs[:, None] >= THRESHOLDS[None, :]
    tp = (hits & truth[:, None]).sum(axis=0)
    fp = (hits & ~truth[:, None]).sum(axis=0)
    fn = truth.sum() - tp
    f1 = np.divide(2 * tp, 2 * tp + fp + fn, out=np.zeros(len(THRESHOLDS)),
                   where=(2 * tp + fp + fn) > 0)
    best = np.flatnonzero(f1 >= f1.max() - 1e-12)
    return float(THRESHOLDS[best[(len(best) - 1) // 2]])


# ---------------------------------------------------------------- metrics


def _f1(y: np.ndarray, pred: np.ndarray) -> float:
    tp = int(((y == 1) & (pred == 1)).sum())
    denominator = int(y.sum() + pred.sum())
    return 2 * tp / denominator if denominator else 0.0


def _code_metrics(Y: np.ndarray, cv: dict, codes: list[str], counts: dict[str, int]) -> dict:
    """Precision, recall, F1 and kappa per code from the out-of-fold predictions."""
    result = {}
    for j, code in enumerate(codes):
        y, pred = Y[:, j], cv["pred"][code]
        tp = int(((y == 1) & (pred == 1)).sum())
        precision = tp / pred.sum() if pred.sum() else 0.0
        recall = tp / y.sum() if y.sum() else 0.0
        kappa = cohen_kappa_score(y, pred) if len(set(y)) > 1 or len(set(pred)) > 1 else 1.0
        result[code] = {
            "precision": round(float(precision), 4),
            "recall": round(float(recall), 4),
            "f1": round(_f1(y, pred), 4),
            "kappa": round(float(np.nan_to_num(kappa)), 4),
            "n_positive": counts[code],
            "threshold": round(cv["threshold"][code], 4),
        }
    return result


def _macro(code_metrics: dict) -> dict:
    """Unweighted means over the trained codes (rare codes count as much as common ones)."""
    if not code_metrics:
        return {}
    return {name: round(float(np.mean([m[name] for m in code_metrics.values()])), 4)
            for name in ("precision", "recall", "f1", "kappa")}


# ---------------------------------------------------------------- saving and loading


def save_model(model: CodeModel, path: Path, *, codebook_sha256: str, data_sha256: str) -> None:
    """Write the model with skops (never pickle) and a JSON sidecar that ties it to its inputs.

    skops files name arrays after memory addresses and stamp zip entries with
    the time; :func:`_canonical_zip` renumbers and re-stamps them so the same
    training data gives the same bytes (and the same ``model_sha256``).
    """
    import skops.io

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _drop_process_state(model)
    data = _canonical_zip(skops.io.dumps(model))
    path.write_bytes(data)
    sidecar = {
        "codebook_sha256": codebook_sha256,
        "data_sha256": data_sha256,
        "model_sha256": hashlib.sha256(data).hexdigest(),
        "design": model.design,
        "codes": list(model.codes_),
        "thresholds": {c: model.thresholds_[c] for c in model.codes_},
        "versions": {name: _version(name) for name in ("scikit-learn", "skops", "casecoder")},
    }
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")


def _drop_process_state(model: CodeModel) -> None:
    """Remove caches that hold memory addresses (the vectorisers' ``id(stop_words)``)."""
    if model.features_ is None:
        return
    for _, vectoriser in model.features_.named_steps["ngrams"].transformer_list:
        vars(vectoriser).pop("_stop_words_id", None)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _canonical_zip(data: bytes) -> bytes:
    """The skops zip with object ids and member names numbered in schema order, fixed dates."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        schema = json.loads(source.read("schema.json"))
        ids: dict[int, int] = {}
        names: dict[str, str] = {}
        _renumber(schema, ids, names)
        members = {new: source.read(old) for old, new in names.items()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name, content in [("schema.json", json.dumps(schema, indent=2).encode()),
                              *members.items()]:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, content)
    return buffer.getvalue()


def _renumber(node, ids: dict[int, int], names: dict[str, str]) -> None:
    """Replace ``__id__`` values and ``file`` names in a skops schema, in traversal order."""
    if isinstance(node, list):
        for item in node:
            _renumber(item, ids, names)
    elif isinstance(node, dict):
        if isinstance(node.get("__id__"), int):
            node["__id__"] = ids.setdefault(node["__id__"], len(ids) + 1)
        if isinstance(node.get("file"), str) and "__loader__" in node:
            old = node["file"]
            node["file"] = names.setdefault(old, f"{len(names) + 1}{Path(old).suffix}")
        for value in node.values():
            _renumber(value, ids, names)


def load_model(path: Path, *, codebook_sha256: str) -> CodeModel:
    """Load a model written by :func:`save_model`, refusing anything it did not write.

    Checks, in order: the sidecar exists and parses, it was made for this
    codebook, the file's hash matches the sidecar, and the file holds no type
    outside skops' defaults and :data:`TRUSTED_TYPES`. Nothing in the file is
    imported or run before these checks pass.
    """
    import skops.io

    path = Path(path)
    sidecar = _read_sidecar(path)
    if sidecar.get("codebook_sha256") != codebook_sha256:
        raise InputError(path, "this model was made for another codebook; retrain it")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise InputError(path, f"cannot read the model: {err.strerror or err}") from None
    if hashlib.sha256(data).hexdigest() != sidecar.get("model_sha256"):
        raise InputError(path, "the file was changed after training (its SHA-256 does not "
                               "match model.json); retrain")
    try:
        untrusted = [t for t in skops.io.get_untrusted_types(data=data) if t not in TRUSTED_TYPES]
    except (zipfile.BadZipFile, KeyError, ValueError) as err:
        raise InputError(path, f"not a skops model file ({err})") from None
    if untrusted:
        raise InputError(path, "refusing to load a model holding untrusted types (a tampered "
                               f"file?): {', '.join(untrusted)}")
    model = skops.io.loads(data, trusted=TRUSTED_TYPES)
    if not isinstance(model, CodeModel):
        raise InputError(path, f"holds a {type(model).__name__}, not a casecoder model")
    return model


def _read_sidecar(path: Path) -> dict:
    sidecar = path.with_suffix(".json")
    try:
        content = json.loads(sidecar.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, f"its sidecar {sidecar.name} is missing; retrain the model "
                               "(the sidecar ties it to its codebook and data)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(path, f"its sidecar {sidecar.name} is unreadable ({err})") from None
    if not isinstance(content, dict):
        raise InputError(path, f"its sidecar {sidecar.name} is not a JSON object")
    return content
