"""Quality of the comment policy engine (M2, M5) on the labelled development set.

    python bench/moderation_quality.py [--data ../shared/data/moderation/dev.jsonl]

Prints one ``name: value`` line per figure, viewpoint gate first (clean comments acted on),
then per-label recall and precision, obfuscated-profanity recall, threat recall, macro-F1
and the hard-case slice, then the confusion matrix and the clean rows acted on. Scoring
follows the data set's README: a decision maps to the label of the rule that fired, no rule
means clean, hold counts as hidden.

Obfuscated variants are generated here with a fixed seed from every profanity row: each
transform is applied to every word of the text (not to a known "bad" word, which the data
does not mark), so the engine cannot lean on knowing where the profanity is.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from moderation.engine import DEFAULT_POLICY, decide  # noqa: E402

LABELS = ("clean", "profanity", "threat", "personal_data", "spam")
VIOLATIONS = LABELS[1:]
DEFAULT_DATA = Path(__file__).resolve().parent.parent / ".." / "shared/data/moderation/dev.jsonl"

LEET = {"a": "4@", "e": "3", "i": "1!", "o": "0", "s": "$5", "t": "7+"}
LOOKALIKE = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і",
             "s": "ѕ", "A": "Α", "E": "Ε", "O": "Ο", "T": "Τ", "K": "Κ"}  # fmt: skip
MASKS = ("*", "*", "🦆", "💥", "#")
VOWELS = "aeiouAEIOU"


def _words(text: str, change) -> str:
    out, word = [], []
    for char in text + " ":
        if char.isalnum() or char in "@$*+#":
            word.append(char)
            continue
        if word:
            out.append(change("".join(word)) if len(word) >= 3 else "".join(word))
            word = []
        out.append(char)
    return "".join(out)[:-1]


def _leet(rng):
    return lambda w: "".join(rng.choice(LEET[c.lower()]) if c.lower() in LEET else c for c in w)


def _spacing(rng):
    return lambda w: rng.choice((" ", ".", "-", " ")).join(w) + " /"


def _zero_width(rng):
    return lambda w: "\u200b".join(w) if rng.random() < 0.5 else w[:2] + "\u200b" + w[2:]


def _lookalike(rng):
    return lambda w: "".join(
        LOOKALIKE[c] if c in LOOKALIKE and rng.random() < 0.6 else c for c in w
    )


def _fullwidth(rng):
    return lambda w: "".join(chr(ord(c) + 0xFEE0) if c.isascii() else c for c in w)


def _stretch(rng):
    def change(w):
        spots = [i for i, c in enumerate(w) if c in VOWELS] or [len(w) - 1]
        i = rng.choice(spots)
        return w[: i + 1] + w[i] * rng.randint(2, 5) + w[i + 1 :]

    return change


def _mask(rng):
    def change(w):
        spots = [i for i, c in enumerate(w) if c in VOWELS and i > 0]
        if not spots:
            return w
        i = rng.choice(spots)
        return w[:i] + rng.choice(MASKS) + w[i + 1 :]

    return change


TRANSFORMS = {
    "leetspeak": _leet, "spacing": _spacing, "zero_width": _zero_width,
    "lookalike": _lookalike, "fullwidth": _fullwidth, "stretched": _stretch, "masking": _mask,
}  # fmt: skip


def obfuscate(text: str, kind: str, rng: random.Random) -> str:
    return _words(text, TRANSFORMS[kind](rng))


def scores(gold: list[str], pred: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    clean = [p for g, p in zip(gold, pred, strict=True) if g == "clean"]
    out["clean_acted_on"] = sum(p != "clean" for p in clean) / max(len(clean), 1)
    viol = [p for g, p in zip(gold, pred, strict=True) if g != "clean"]
    out["violation_recall"] = sum(p != "clean" for p in viol) / max(len(viol), 1)
    f1s = []
    for label in LABELS:
        tp = sum(g == p == label for g, p in zip(gold, pred, strict=True))
        n_gold, n_pred = gold.count(label), pred.count(label)
        recall = tp / n_gold if n_gold else 0.0
        precision = tp / n_pred if n_pred else (1.0 if not n_gold else 0.0)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        f1s.append(f1)
        if label != "clean":
            out[f"recall_{label}"] = recall
            out[f"precision_{label}"] = precision
    out["macro_f1"] = sum(f1s) / len(f1s)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    # A hold-out check for rule changes: tune looking at one half (even ids), then report
    # the other half (odd ids) that the change was not written against.
    parser.add_argument("--ids", choices=("all", "even", "odd"), default="all")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.data.open(encoding="utf-8") if line.strip()]
    if args.ids != "all":
        parity = 0 if args.ids == "even" else 1
        rows = [row for row in rows if int(row["id"].rsplit("-", 1)[-1]) % 2 == parity]
    decisions = [decide(row["text"], DEFAULT_POLICY) for row in rows]
    gold = [row["label"] for row in rows]
    pred = [d.category for d in decisions]

    figures = scores(gold, pred)
    rng = random.Random(20261125)
    hits = Counter()
    for row in rows:
        if row["label"] != "profanity":
            continue
        for kind in TRANSFORMS:
            variant = obfuscate(row["text"], kind, rng)
            hits[kind, decide(variant, DEFAULT_POLICY).category == "profanity"] += 1
    total = sum(hits.values())
    figures["recall_profanity_obfuscated"] = sum(n for (_, ok), n in hits.items() if ok) / total
    for kind in TRANSFORMS:
        n = hits[kind, True] + hits[kind, False]
        figures[f"recall_profanity_{kind}"] = hits[kind, True] / n
    figures["threat_recall"] = figures["recall_threat"]

    hard = [i for i, row in enumerate(rows) if row.get("note")]
    for name, value in scores([gold[i] for i in hard], [pred[i] for i in hard]).items():
        figures[f"hard_{name}"] = value

    print(f"clean_acted_on: {figures.pop('clean_acted_on'):.3f}")
    for name, value in figures.items():
        print(f"{name}: {value:.3f}")
    print(f"rows: {len(rows)} hard_rows: {len(hard)} obfuscated_variants: {total}")

    print("\nconfusion (gold -> predicted):")
    matrix = Counter(zip(gold, pred, strict=True))
    print("gold\\pred".ljust(15) + "".join(label[:9].rjust(10) for label in LABELS))
    for g in LABELS:
        print(g.ljust(15) + "".join(str(matrix[g, p]).rjust(10) for p in LABELS))

    print("\nclean rows acted on (id, rule):")
    for row, decision in zip(rows, decisions, strict=True):
        if row["label"] == "clean" and decision.category != "clean":
            print(f"{row['id']} {decision.rule}")


if __name__ == "__main__":
    main()
