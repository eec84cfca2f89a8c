"""Precision and recall of the moderation classifier on its held-out split.

Runnable alone (needs the embeddings extra):  .venv/bin/python bench/moderation_eval.py [--threshold 0.7]

Trains smile.ai.moderation's classifier on src/smile/ai/moderation_data/train.tsv exactly as the app
does, classifies every row of heldout.tsv (never seen in training), and prints:
- "flagged vs ok": precision and recall of the hold-for-review decision, at several thresholds;
- per class: precision and recall of the predicted label (at the chosen threshold).
Paste the tables into docs/ai-embeddings-and-moderation.md with the date and machine.
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import date

from smile.ai import moderation


def ratio(a: int, b: int) -> str:
    return f"{a / b:.3f}" if b else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=moderation.DEFAULT_THRESHOLD)
    args = parser.parse_args()
    if not moderation.available():
        raise SystemExit("The classifier is not installed: pip install torch==2.13.0 && pip install -e '.[embeddings]'")
    train, held = moderation.load("train"), moderation.load("heldout")
    start = time.perf_counter()
    clf = moderation.classifier()
    trained = time.perf_counter() - start
    texts, truth = [t for _, t in held], [label for label, _ in held]
    start = time.perf_counter()
    runs = {t: clf.predict(texts, threshold=t) for t in (0.5, 0.6, 0.7, 0.8, 0.9, args.threshold)}
    per_text = (time.perf_counter() - start) / len(texts) / len(runs)
    print(f"# moderation classifier, {date.today()}, {platform.machine()} {platform.processor() or ''}".rstrip())
    print(
        f"train {len(train)} rows, held-out {len(held)} rows; trained in {trained:.1f} s "
        f"(model load included), {per_text * 1000:.1f} ms per text in a batch\n"
    )
    print("| threshold | flagged precision | flagged recall | ok kept visible |")
    print("|---|---|---|---|")
    harmful = [label != "ok" for label in truth]
    for threshold in (0.5, 0.6, 0.7, 0.8, 0.9):
        flagged = [c.flagged for c in runs[threshold]]
        tp = sum(f and h for f, h in zip(flagged, harmful, strict=True))
        fp = sum(f and not h for f, h in zip(flagged, harmful, strict=True))
        fn = sum(h and not f for f, h in zip(flagged, harmful, strict=True))
        ok_total = harmful.count(False)
        mark = " (default)" if threshold == args.threshold else ""
        print(f"| {threshold}{mark} | {ratio(tp, tp + fp)} | {ratio(tp, tp + fn)} | {ok_total - fp}/{ok_total} |")
    predicted = [c.label for c in runs[args.threshold]]
    print(f"\nPer class at threshold {args.threshold}:\n")
    print("| class | held-out rows | precision | recall |")
    print("|---|---|---|---|")
    for label in moderation.LABELS:
        tp = sum(p == label and t == label for p, t in zip(predicted, truth, strict=True))
        print(
            f"| {label} | {truth.count(label)} | {ratio(tp, predicted.count(label))} | "
            f"{ratio(tp, truth.count(label))} |"
        )
    wrong = [(t, p, text) for t, p, text in zip(truth, predicted, texts, strict=True) if t != p]
    if wrong:
        print("\nMistakes (truth -> predicted: text):")
        for t, p, text in wrong:
            print(f"- {t} -> {p}: {text}")


if __name__ == "__main__":
    main()
