"""A local text classifier for moderation: logistic regression over all-MiniLM-L6-v2 embeddings.

Trained once per process, on first use, from the labeled set published in moderation_data/train.tsv
(moderation_data/heldout.tsv is kept apart to measure it: bench/moderation_eval.py, results in
docs/ai-embeddings-and-moderation.md). Needs the `.[embeddings]` extra; `available()` says whether it is.

Usage:
    [result] = await moderation.classify(["some text"])
    result.flagged, result.label, result.score     # e.g. True, "harassment", 0.93
"""

from __future__ import annotations

import asyncio
import csv
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

import structlog

from smile.ai import embeddings
from smile.config import Settings

LABELS = ("ok", "harassment", "hate", "sexual", "self-harm", "spam", "violence")
DATA = Path(__file__).resolve().parent / "moderation_data"
DEFAULT_THRESHOLD = 0.7
MIN_SIMILARITY = 0.4  # and it must be this close (cosine) to a harmful training example: unlike texts stay ok
READY_WAIT = 15.0  # seconds a request waits for the classifier still loading before only the rules apply
MAX_CHARS = 2000  # MiniLM reads 256 word pieces; the head of a long text is what it sees anyway

log = structlog.get_logger("smile.ai")


@dataclass
class Classification:
    label: str        # the most likely harmful class when flagged, else "ok"
    score: float      # probability the text is harmful (1 - P(ok))
    scores: dict[str, float]
    flagged: bool


def load(name: str) -> list[tuple[str, str]]:
    """(label, text) rows of moderation_data/<name>.tsv."""
    with (DATA / f"{name}.tsv").open(newline="", encoding="utf-8") as handle:
        rows = [(row["label"], row["text"]) for row in csv.DictReader(handle, delimiter="\t",
                                                                       quoting=csv.QUOTE_NONE)]
    unknown = {label for label, _ in rows} - set(LABELS)
    if unknown:
        raise ValueError(f"{name}.tsv has unknown labels: {sorted(unknown)}")
    return rows


def available() -> bool:
    """True when the local model and scikit-learn are installed."""
    return embeddings.local_available() and importlib.util.find_spec("sklearn") is not None


def enabled(settings: Settings) -> bool:
    """SMILE_MODERATION_CLASSIFIER, defaulting to on exactly when the classifier is installed."""
    if settings.moderation_classifier is None:
        return available()
    return settings.moderation_classifier


class Classifier:
    """Logistic regression from unit MiniLM vectors to LABELS."""

    def __init__(self, model, harmful) -> None:
        self.model = model
        self.harmful = harmful  # unit vectors of the harmful training examples
        self.classes = [str(c) for c in model.classes_]

    @classmethod
    def train(cls, rows: list[tuple[str, str]]) -> Classifier:
        import numpy as np
        from sklearn.linear_model import LogisticRegression

        vectors = np.array(embeddings.encode_local([text for _, text in rows]))
        labels = [label for label, _ in rows]
        model = LogisticRegression(C=10.0, max_iter=3000).fit(vectors, labels)
        return cls(model, vectors[np.array([label != "ok" for label in labels])])

    def predict(self, texts: list[str], threshold: float = DEFAULT_THRESHOLD) -> list[Classification]:
        if not texts:
            return []
        import numpy as np

        vectors = np.array(embeddings.encode_local([(t or "")[:MAX_CHARS] for t in texts]))
        nearest = (vectors @ self.harmful.T).max(axis=1)
        results = []
        for row, similarity in zip(self.model.predict_proba(vectors), nearest):
            scores = {label: float(p) for label, p in zip(self.classes, row)}
            harm = 1.0 - scores.get("ok", 0.0)
            worst = max((label for label in self.classes if label != "ok"), key=scores.__getitem__)
            flagged = bool(harm >= threshold and similarity >= MIN_SIMILARITY)
            results.append(Classification(worst if flagged else "ok", round(harm, 4), scores, flagged))
        return results


_classifier: Classifier | None = None
_lock = threading.Lock()
_ready = threading.Event()
_warming = threading.Lock()


def classifier() -> Classifier:
    """The process-wide classifier, trained on first use (a few seconds on a CPU)."""
    global _classifier
    with _lock:
        if _classifier is None:
            rows = load("train")
            _classifier = Classifier.train(rows)
            _ready.set()
            log.info("moderation classifier trained", examples=len(rows), labels=len(LABELS))
        return _classifier


async def classify(texts: list[str], threshold: float | None = None) -> list[Classification]:
    """Classify texts in a worker thread (the model is loaded and trained on first call)."""
    limit = DEFAULT_THRESHOLD if threshold is None else threshold
    return await asyncio.to_thread(lambda: classifier().predict(texts, limit))


async def flag(text: str, settings: Settings) -> str | None:
    """The harmful class of `text` when the classifier is enabled and flags it, else None."""
    if not text.strip() or not enabled(settings) or not available():
        return None
    if not _ready.is_set():  # loading (torch, the model, training): bound what a request waits
        warm()
        if not await asyncio.to_thread(_ready.wait, READY_WAIT):
            log.warning("moderation classifier still loading: only the rules checked this text")
            return None
    [result] = await classify([text], settings.moderation_classifier_threshold)
    return result.label if result.flagged else None


def start(settings: Settings) -> None:
    """At app start: log what embeddings and moderation run on; warm the classifier in a thread."""
    usable, detail = embeddings.describe(settings)
    (log.info if usable else log.warning)("embeddings: " + detail)
    if not enabled(settings):
        log.info("moderation classifier off" + ("" if available() else " (not installed)"))
        return
    if not available():
        log.warning("moderation classifier: SMILE_MODERATION_CLASSIFIER is on but it is not installed "
                    f"({embeddings.INSTALL_HINT}); only the moderation rules run")
        return
    log.info("moderation classifier on", threshold=settings.moderation_classifier_threshold)
    warm()


def warm() -> None:
    """Load and train the classifier in a background thread (once)."""
    if _ready.is_set() or not _warming.acquire(blocking=False):
        return  # ready, or a warm-up is running
    threading.Thread(target=_warm, daemon=True, name="moderation-warmup").start()


def _warm() -> None:
    try:
        classifier()
    except Exception:  # logged; the next text to check tries again
        log.exception("moderation classifier failed to load")
    finally:
        _warming.release()


PROVIDER_WAIT = 10.0  # seconds a post waits for the provider's moderation endpoint at most


async def provider_flag(text: str, settings: Settings) -> str | None:
    """The first category SMILE_MODERATION_PROVIDER's moderation endpoint flags `text` for, else None.

    Never raises: an unknown provider, an error or a timeout is logged and counts as not flagged.
    """
    name = settings.moderation_provider
    if not name or not text.strip():
        return None
    from smile.ai import providers

    try:
        provider = providers.registry(settings).get(name)
        if provider is None or provider.kind != "openai":
            log.warning("SMILE_MODERATION_PROVIDER names no configured openai provider", provider=name)
            return None
        result = await asyncio.wait_for(provider.moderate(text[:MAX_CHARS * 16]),
                                        min(PROVIDER_WAIT, settings.ai_timeout_seconds))
    except Exception as exc:  # noqa: BLE001 - never block posting: the local checks still ran
        log.warning("moderation provider failed; only the local checks applied", provider=name,
                    error=getattr(exc, "message", None) or type(exc).__name__)
        return None
    if not result.get("flagged"):
        return None
    return next((c for c, hit in (result.get("categories") or {}).items() if hit), "flagged")
