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

With the default design the codebook's rule hits (0/1 per code) are features
too. Each code with enough annotated positives (and negatives) gets its own
classifier, by default :class:`SoftVote` (logistic regression with
``class_weight="balanced"`` because most codes are rare, averaged with
multinomial naive Bayes), and its own probability threshold, chosen by
cross-validation to maximise F1.
Codes with too few examples are reported in ``metrics["untrained"]`` and left
to the rules.

Metrics are honest: near duplicates share a fold (:func:`near_duplicate_groups`),
and for each held-out fold the n-gram vocabulary, the idf, the models and the
threshold all come from the training part alone (the threshold by an inner
cross-validation; see :func:`training_parts` and :func:`part_features`).
Models are saved with skops (no pickle) and loaded with an explicit allow-list
of the types this module writes. docs/model.md has the design choices and the
figures on the bundled annotations.
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
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import cohen_kappa_score
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.preprocessing import FunctionTransformer, normalize
from sklearn.svm import LinearSVC

from casecoder.chinese import CJK, cut, to_simplified
from casecoder.errors import InputError

#: Designs compared by ``train(..., compare=True)``: name -> (n-gram blocks, learner,
#: whether the codebook's rule hits are features too).
DESIGNS: dict[str, tuple[str, str, bool]] = {
    "lr+nb-char+word+rules": ("char+word", "lr+nb", True),
    "lr-char+word+rules": ("char+word", "lr", True),
    "lr-char+word": ("char+word", "lr", False),
    "svm-char+word": ("char+word", "svm", False),
    "lr-char": ("char", "lr", False),
}
DEFAULT_DESIGN = "lr+nb-char+word+rules"
#: Scale of a rule-hit feature (0/1) next to the L2-normalised n-gram blocks: a hit
#: weighs about as much as a strong n-gram, so the model can learn where a code's
#: rules are precise and where its examples say more. Chosen by cross-validation
#: on the bundled annotations (docs/model.md).
RULE_WEIGHT = 0.7
#: The "lr+nb" learner: the naive Bayes share of the averaged probability and its
#: additive smoothing (chosen by cross-validation on the bundled annotations).
NB_SHARE = 0.3
NB_ALPHA = 0.03

#: Candidate thresholds; the clip keeps a code from firing on noise (low) or never (high).
THRESHOLDS = np.round(np.arange(0.20, 0.8001, 0.01), 2)

#: Types in a saved model that skops does not trust by default; load_model trusts these only.
TRUSTED_TYPES = [
    "casecoder.classifier.CodeModel",
    "casecoder.classifier.normalise_texts",
    "casecoder.classifier.word_tokens",
    "casecoder.classifier.SoftVote",
    "casecoder.classifier.CompactTfidfVectorizer",
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


#: The n-gram blocks; each is one tf-idf vectoriser, L2-normalised on its own.
NGRAMS: dict[str, dict] = {
    "char": {"analyzer": "char_wb", "ngram_range": (1, 3)},
    "word": {"tokenizer": word_tokens, "token_pattern": None, "ngram_range": (1, 2)},
}
FEATURE_BLOCKS = {"char+word": ("char", "word"), "char": ("char",)}
MIN_DF = 2  # an n-gram seen in one training segment only is noise, not evidence


class CompactTfidfVectorizer(TfidfVectorizer):
    """A ``TfidfVectorizer`` that saves its vocabulary as one array of terms.

    skops writes a dict entry by entry, and loading tens of thousands of
    n-grams that way took seconds in every coding job; an array of strings is
    one ``.npy`` member. Fitting and transforming are the parent's.
    """

    def __getstate__(self):
        state = dict(super().__getstate__())  # may be the live __dict__ itself
        vocabulary = state.get("vocabulary_")
        # numpy's str arrays drop trailing NULs: such a vocabulary stays a dict
        if vocabulary is not None and not any(t.endswith("\x00") for t in vocabulary):
            del state["vocabulary_"]
            terms = sorted(vocabulary, key=vocabulary.__getitem__)
            state["vocabulary_terms_"] = np.array(terms, dtype=str)
        return state

    def __setstate__(self, state):
        state = dict(state)
        terms = state.pop("vocabulary_terms_", None)
        super().__setstate__(state)
        if terms is not None:
            self.vocabulary_ = {str(term): i for i, term in enumerate(terms.tolist())}


def build_features(kind: str = "char+word") -> Pipeline:
    """The shared feature pipeline: normalise, then char (and word) n-gram tf-idf."""
    parts = [(name, CompactTfidfVectorizer(**NGRAMS[name], min_df=MIN_DF, sublinear_tf=True,
                                    lowercase=False))
             for name in FEATURE_BLOCKS[kind]]
    return Pipeline([
        ("normalise", FunctionTransformer(normalise_texts, validate=False)),
        ("ngrams", FeatureUnion(parts)),
    ])


def count_ngrams(texts: Sequence[str], blocks: Sequence[str]) -> dict[str, sparse.csr_matrix]:
    """Sublinear term frequencies (1 + log count) of every n-gram, per block.

    Tokenising is the slow part of featurising; doing it once lets
    :func:`part_features` rebuild, for any training part, exactly what
    :func:`build_features` fitted on that part would produce, in milliseconds.
    """
    normalised = normalise_texts(texts)
    out = {}
    for name in blocks:
        counts = CountVectorizer(**NGRAMS[name], lowercase=False).fit_transform(normalised)
        counts = sparse.csr_matrix(counts, dtype=np.float64)
        counts.data = 1 + np.log(counts.data)
        out[name] = counts
    return out


def with_rule_hits(X: sparse.spmatrix, rule_hits: np.ndarray | None) -> sparse.csr_matrix:
    """The n-gram features with the rule-hit columns (scaled by :data:`RULE_WEIGHT`) appended."""
    if rule_hits is None:
        return sparse.csr_matrix(X)
    return sparse.hstack([X, sparse.csr_matrix(np.asarray(rule_hits, dtype=np.float64)
                                               * RULE_WEIGHT)], format="csr")


def part_features(blocks: Sequence[sparse.csr_matrix], train: np.ndarray) -> sparse.csr_matrix:
    """Tf-idf of all rows with vocabulary and idf learned from the ``train`` rows only.

    Equals ``build_features().fit(texts[train]).transform(texts)``: n-grams with
    document frequency >= MIN_DF in the training part, smoothed idf from it,
    each block L2-normalised. So held-out segments never shape the features.
    """
    n_train = int(train.sum())
    pieces = []
    for counts in blocks:
        df = np.bincount(counts[train].indices, minlength=counts.shape[1])
        keep = np.flatnonzero(df >= MIN_DF)
        idf = np.log((1 + n_train) / (1 + df[keep])) + 1
        pieces.append(normalize(counts[:, keep] @ sparse.diags(idf)))
    return sparse.hstack(pieces, format="csr")


# ---------------------------------------------------------------- the model


def _learner(kind: str, C: float, seed: int, n_positive: int):
    """A fresh binary classifier with probabilities for one code."""
    if kind == "lr":
        # the dual solver is the fast one when n-grams outnumber segments
        return LogisticRegression(C=C, class_weight="balanced", solver="liblinear", dual=True,
                                  max_iter=1000, random_state=seed)
    if kind == "lr+nb":
        return SoftVote(C=C, seed=seed)
    if kind == "svm":
        # C/10: at equal C the hinge loss fits the training folds harder than log loss
        svc = LinearSVC(C=C / 10, class_weight="balanced", random_state=seed)
        return CalibratedClassifierCV(svc, method="sigmoid", cv=max(2, min(3, n_positive)))
    raise ValueError(f"unknown learner {kind!r}")


class SoftVote(ClassifierMixin, BaseEstimator):
    """Logistic regression and multinomial naive Bayes, their probabilities averaged.

    Naive Bayes is sure where a rare n-gram only ever meant the code, which the
    regression's penalty smooths away (docs/model.md). Both are linear in the
    features for a yes/no code: P = sigmoid(x . w + b), for naive Bayes with
    w = the difference of the two classes' log feature probabilities. Only the
    two weight vectors are kept (float32), so a code costs 2 x n_features
    numbers, not the 9 x n_features a ``VotingClassifier`` of the two would store;
    the probabilities are the same.
    """

    def __init__(self, C: float = 10.0, alpha: float = NB_ALPHA, nb_share: float = NB_SHARE,
                 seed: int = 0):
        self.C = C
        self.alpha = alpha
        self.nb_share = nb_share
        self.seed = seed

    def fit(self, X, y) -> SoftVote:
        lr = _learner("lr", self.C, self.seed, int(np.sum(y))).fit(X, y)
        nb = MultinomialNB(alpha=self.alpha).fit(X, y)
        self.classes_ = lr.classes_
        self.coef_ = np.vstack([lr.coef_[0], nb.feature_log_prob_[1] - nb.feature_log_prob_[0]]
                               ).astype(np.float32)
        self.intercept_ = np.array([lr.intercept_[0],
                                    nb.class_log_prior_[1] - nb.class_log_prior_[0]])
        return self

    def predict_proba(self, X) -> np.ndarray:
        scores = np.asarray(X @ self.coef_.T, dtype=np.float64) + self.intercept_
        p = expit(scores) @ np.array([1 - self.nb_share, self.nb_share])
        return np.column_stack([1 - p, p])


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
    ``fit`` alone sets every threshold to 0.5. A design "with rules" also reads
    which codes the codebook's rules assign to each text (``rule_codes_`` lists
    the codes, in column order): pass ``rule_hits`` (0/1, one column per code,
    see :meth:`casecoder.rules.RuleTagger.hit_matrix`) or attach the tagger
    with :meth:`attach_rules` once after loading.
    """

    def __init__(self, design: str = DEFAULT_DESIGN, C: float = 10.0, seed: int = 0):
        self.design = design
        self.C = C
        self.seed = seed

    def fit(self, texts: Sequence[str], Y: np.ndarray, codes: Sequence[str],
            rule_hits: np.ndarray | None = None, rule_codes: Sequence[str] = ()) -> CodeModel:
        """Fit features and one classifier per column of the 0/1 matrix ``Y``."""
        features, learner, uses_rules = DESIGNS[self.design]
        if uses_rules and (rule_hits is None or not len(rule_codes)):
            raise ValueError(f"design {self.design!r} needs rule_hits and rule_codes")
        self.codes_ = list(codes)
        self.rule_codes_ = list(rule_codes) if uses_rules else []
        self.estimators_ = []
        self.features_ = None  # no code to learn: no features either (and no texts needed)
        if self.codes_:
            self.features_ = build_features(features).fit(list(texts))
            X = with_rule_hits(self.features_.transform(list(texts)),
                               rule_hits if uses_rules else None)
            self.estimators_ = [self._fit_code(X, Y[:, j], learner) for j in range(Y.shape[1])]
        self.thresholds_ = {c: 0.5 for c in self.codes_}
        return self

    def attach_rules(self, tagger) -> CodeModel:
        """Let :meth:`predict_proba` find the rule hits itself (not saved with the model)."""
        missing = [c for c in getattr(self, "rule_codes_", []) if c not in tagger.codebook.ids]
        if missing:
            raise ValueError(f"the tagger's codebook lacks the model's codes {missing}")
        self.tagger_ = tagger
        return self

    def _fit_code(self, X, y: np.ndarray, learner: str):
        return _learner(learner, self.C, self.seed, int(y.sum())).fit(X, y)

    def predict_proba(self, texts: Sequence[str], rule_hits: np.ndarray | None = None
                      ) -> np.ndarray:
        """P(code | text), shape ``(len(texts), len(codes_))``, columns in ``codes_`` order."""
        texts = list(texts)
        if not self.codes_ or not texts:
            return np.zeros((len(texts), len(self.codes_)))
        rule_codes = getattr(self, "rule_codes_", [])
        if rule_codes and rule_hits is None:
            tagger = getattr(self, "tagger_", None)
            if tagger is None:
                raise ValueError("this model reads rule hits: pass rule_hits or attach_rules()")
            rule_hits = tagger.hit_matrix(texts, rule_codes)
        X = with_rule_hits(self.features_.transform(texts), rule_hits if rule_codes else None)
        return np.column_stack([est.predict_proba(X)[:, 1] for est in self.estimators_])

    def predict(self, texts: Sequence[str], rule_hits: np.ndarray | None = None
                ) -> list[list[str]]:
        """The codes whose probability reaches their threshold, per text, in ``codes_`` order."""
        probs = self.predict_proba(texts, rule_hits)
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
    design: str | None = None,
    compare: bool = False,
    n_jobs: int = 2,
    rule_hits: np.ndarray | None = None,
    rule_codes: Sequence[str] = (),
) -> TrainingResult:
    """Fit one model per code with >= min_examples positives and negatives, with honest metrics.

    Codes with fewer examples are listed in ``metrics["untrained"]`` with their
    counts (the rules still code them). Thresholds: per code, F1-optimal on
    out-of-fold probabilities. Metrics: out-of-fold predictions whose features
    and threshold were learned inside each training fold. ``compare=True`` also
    cross-validates every design in :data:`DESIGNS` and records their macro-F1.
    ``n_jobs`` worker processes share the fits. ``rule_hits`` (one 0/1 column per
    code in ``rule_codes``, one row per text) are the rule tagger's verdicts, the
    extra features of the designs "with rules"; without them those designs are
    skipped and the default design is the best one without rules.
    """
    if rule_hits is not None:
        rule_hits = np.asarray(rule_hits, dtype=np.int8).reshape(len(texts), len(rule_codes))
    available = [name for name, (_, _, rules) in DESIGNS.items()
                 if rule_hits is not None or not rules]
    design = design or available[0]
    if design not in available:
        raise ValueError(f"unknown design {design!r}; choose from {', '.join(available)}")
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
    metrics: dict = {"macro": {}, "codes": {}, "untrained": untrained, "n_examples": len(texts),
                     "folds": 0, "seed": seed, "design": design, "comparison": {}}
    if not trained:
        log("no code has enough examples; the model codes nothing")
        return TrainingResult(CodeModel(design=design, seed=seed).fit(
            texts, Y_all[:, :0], [], rule_hits, rule_codes), metrics)

    Y = Y_all[:, [list(code_ids).index(c) for c in trained]]
    fold_of = assign_folds(texts, Y, folds, seed)
    metrics["folds"] = int(fold_of.max()) + 1
    start = time.perf_counter()
    ngrams = count_ngrams(texts, FEATURE_BLOCKS["char+word"])
    log(f"n-grams of {len(texts)} segments counted in {time.perf_counter() - start:.1f} s "
        f"({', '.join(f'{name}: {m.shape[1]}' for name, m in ngrams.items())})")
    model = None
    for name in (available if compare else [design]):
        final = CodeModel(design=name, seed=seed) if name == design else None
        log(f"design {name}: {metrics['folds']}-fold nested cross-validation of "
            f"{len(trained)} codes")
        cv, fitted = _cross_validate(texts, ngrams, Y, trained, fold_of, final, name, seed,
                                     n_jobs, log, rule_hits, list(rule_codes))
        code_metrics = _code_metrics(Y, cv, trained, counts)
        metrics["comparison"][name] = _macro(code_metrics)["f1"]
        if final is not None:
            metrics["codes"], model = code_metrics, fitted
            model.thresholds_ = {c: cv["threshold"][c] for c in trained}
    metrics["macro"] = _macro(metrics["codes"])
    macro = metrics["macro"]
    log(f"cross-validated macro precision {macro['precision']:.3f} recall {macro['recall']:.3f} "
        f"F1 {macro['f1']:.3f} kappa {macro['kappa']:.3f}")
    return TrainingResult(model, metrics)


def group_key(text: str) -> str:
    """Texts with the same key are duplicates and stay in the same fold."""
    return "".join(ch for ch in normalise(text) if ch.isalnum())


#: Texts whose character 2-3-gram tf-idf vectors have at least this cosine are near
#: duplicates (a paraphrase that keeps most of the wording) and share a fold.
NEAR_DUPLICATE = 0.6


def near_duplicate_groups(texts: Sequence[str], block: int = 1000) -> np.ndarray:
    """Group number per text: the connected components of "duplicate or near duplicate".

    Uses the texts only (no labels): equal :func:`group_key`, or cosine of
    character 2-3-gram tf-idf >= :data:`NEAR_DUPLICATE`. Computed in row blocks,
    so memory stays at ``block`` x ``len(texts)``.
    """
    from scipy.sparse.csgraph import connected_components

    n = len(texts)
    keys = [group_key(t) for t in texts]
    first = {}
    pairs = [(i, first.setdefault(key, i)) for i, key in enumerate(keys)]
    X = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 3), lowercase=False,
                        dtype=np.float32).fit_transform(normalise_texts(texts))
    for start in range(0, n, block):
        similar = (X[start:start + block] @ X.T).tocoo()
        keep = similar.data >= NEAR_DUPLICATE
        pairs.extend(zip((similar.row[keep] + start).tolist(), similar.col[keep].tolist(),
                         strict=True))
    rows, cols = np.array(pairs, dtype=np.int64).reshape(-1, 2).T
    graph = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def assign_folds(texts: Sequence[str], Y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Fold number per text: near duplicates together, rare codes spread over all folds.

    Groups (:func:`near_duplicate_groups`) are shuffled with ``seed``, then
    ordered by the count of their rarest code and dealt out in turn, so a code
    with 8 positives lands in every fold rather than in two.
    """
    group_of = near_duplicate_groups(texts)
    n_groups = int(group_of.max()) + 1 if len(texts) else 0
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


def training_parts(fold_of: np.ndarray) -> list[tuple[tuple[int, ...], np.ndarray]]:
    """The held-out folds of every model the nested cross-validation needs.

    Outer fold ``f`` is predicted by a model trained without ``f``. Its
    threshold comes from an inner cross-validation over the other folds, where
    inner fold ``j`` is predicted by a model trained without ``f`` and ``j``;
    that model also serves outer fold ``j``. So K folds need K + K(K-1)/2
    models per code instead of K*K.
    """
    k = int(fold_of.max()) + 1
    held = [(f,) for f in range(k)] + list(combinations(range(k), 2))
    return [(folds, np.isin(fold_of, folds)) for folds in held]


def _fit_part(ngrams: list[sparse.csr_matrix], Y: np.ndarray, held: np.ndarray, learner: str,
              C: float, seed: int, rule_hits: np.ndarray | None) -> tuple[np.ndarray, int]:
    """P(code) for the held-out rows of one part, features and models from the rest only."""
    X = with_rule_hits(part_features(ngrams, ~held), rule_hits)
    probs = [_fit_proba(X[~held], Y[~held, j], X[held], learner, C, seed)
             for j in range(Y.shape[1])]
    return np.column_stack(probs), X.shape[1]


def _cross_validate(texts: list[str], ngrams: dict[str, sparse.csr_matrix], Y: np.ndarray,
                    codes: list[str], fold_of: np.ndarray, final: CodeModel | None,
                    design: str, seed: int, n_jobs: int,
                    log: Callable[[str], None], rule_hits: np.ndarray | None = None,
                    rule_codes: list[str] | None = None) -> tuple[dict, CodeModel | None]:
    """Nested cross-validation of every code (and the final fit, when given), in parallel."""
    from joblib import Parallel, delayed

    blocks, learner, uses_rules = DESIGNS[design]
    rule_hits = rule_hits if uses_rules else None
    matrices = [ngrams[name] for name in FEATURE_BLOCKS[blocks]]
    C = final.C if final is not None else CodeModel().C
    parts = training_parts(fold_of)
    tasks = [delayed(_fit_part)(matrices, Y, held, learner, C, seed, rule_hits)
             for _, held in parts]
    if final is not None:  # the longest task goes first
        tasks.insert(0, delayed(final.fit)(texts, Y, codes, rule_hits, rule_codes or []))
    # processes, not threads: liblinear holds the GIL long enough that threads run slower
    runs = Parallel(n_jobs=n_jobs, prefer="processes", return_as="generator")(tasks)
    if final is not None:
        final = next(runs)
        log(f"final model: {len(codes)} codes on all {len(texts)} segments")
    probs = {}
    for number, ((folds, held), (p, n_features)) in enumerate(zip(parts, runs, strict=True), 1):
        probs[folds] = np.full(Y.shape, np.nan)
        probs[folds][held] = p
        without = "+".join(str(f + 1) for f in folds)
        log(f"[part {number}/{len(parts)}] without fold {without}: {len(codes)} codes fitted on "
            f"{int((~held).sum())} segments, {n_features} n-grams")
    cv = _nested_predictions(Y, codes, fold_of, probs)
    for j, code in enumerate(codes):
        log(f"[{j + 1}/{len(codes)}] {code}: {int(Y[:, j].sum())} positives, fold thresholds "
            f"{' '.join(f'{t:.2f}' for t in cv['fold_thresholds'][code])}, "
            f"final {cv['threshold'][code]:.2f}, out-of-fold F1 {_f1(Y[:, j], cv['pred'][code]):.3f}")
    return cv, final


def _nested_predictions(Y: np.ndarray, codes: list[str], fold_of: np.ndarray,
                        probs: dict[tuple[int, ...], np.ndarray]) -> dict:
    """Out-of-fold 0/1 predictions, each fold cut at a threshold chosen without it."""
    k = int(fold_of.max()) + 1
    masks = [fold_of == f for f in range(k)]
    out: dict = {"pred": {}, "threshold": {}, "fold_thresholds": {}}
    for j, code in enumerate(codes):
        y = Y[:, j]
        outer = np.sum([np.nan_to_num(probs[(f,)][:, j]) for f in range(k)], axis=0)
        pred = np.zeros(len(y), dtype=np.int8)
        fold_thresholds = []
        for f in range(k):
            others = [g for g in range(k) if g != f]
            inner = np.concatenate([probs[tuple(sorted((f, g)))][masks[g], j] for g in others])
            truth = np.concatenate([y[masks[g]] for g in others])
            threshold = best_threshold(inner, truth)
            fold_thresholds.append(threshold)
            pred[masks[f]] = outer[masks[f]] >= threshold
        out["pred"][code] = pred
        out["threshold"][code] = best_threshold(outer, y)
        out["fold_thresholds"][code] = fold_thresholds
    return out


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
        "rule_features": list(getattr(model, "rule_codes_", [])),
        "thresholds": {c: model.thresholds_[c] for c in model.codes_},
        "versions": {name: _version(name) for name in ("scikit-learn", "skops", "casecoder")},
    }
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n", encoding="utf-8")


def _drop_process_state(model: CodeModel) -> None:
    """Remove caches that hold memory addresses (the vectorisers' ``id(stop_words)``)."""
    vars(model).pop("tagger_", None)
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
        ids: dict[object, int] = {}
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


def _renumber(node, ids: dict[object, int], names: dict[str, str]) -> None:
    """Replace ``__id__`` values and ``file`` names in a skops schema, in traversal order.

    Plain JSON values (numbers, strings) get an id per occurrence: whether two
    equal floats are one Python object depends on how the model was built (in
    this process or in a worker), and must not change the bytes.
    """
    if isinstance(node, list):
        for item in node:
            _renumber(item, ids, names)
    elif isinstance(node, dict):
        if isinstance(node.get("__id__"), int):
            key = ("json", len(ids)) if node.get("is_json") is True else node["__id__"]
            node["__id__"] = ids.setdefault(key, len(ids) + 1)
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
