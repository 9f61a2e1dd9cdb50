"""BLEU cases scored by the real NLTK, for chatan's `eval` tests.

    python3 chatan-eval/tests/eval/make_bleu_fixture.py          # writes bleu_fixture.json
    python3 chatan-eval/tests/eval/make_bleu_fixture.py --check  # recomputes, compares

Sentence and corpus BLEU-4 (uniform weights), without smoothing and with method1, on
hand-picked edge cases (no overlap, short, repeated tokens, unicode, empty) and on
seeded random sentences over a small vocabulary (so n-grams overlap partly); and
self-BLEU (each text's sentence BLEU against all the other texts of its set, as Texygen
computes it with NLTK) over sets of such texts.
"""

import json
import pathlib
import random
import sys
import warnings

from nltk.translate.bleu_score import SmoothingFunction, corpus_bleu, sentence_bleu

HERE = pathlib.Path(__file__).parent
FIXTURE = HERE / "bleu_fixture.json"

HAND = [
    ("identical", [["the", "cat", "sat", "on", "the", "mat"]], ["the", "cat", "sat", "on", "the", "mat"]),
    ("one word changed", [["the", "cat", "sat", "on", "the", "mat"]], ["the", "cat", "sat", "on", "a", "mat"]),
    ("no overlap", [["a", "b", "c", "d"]], ["e", "f", "g", "h"]),
    ("unigrams only", [["a", "b", "c", "d"]], ["d", "c", "b", "a"]),
    ("bigrams, no trigram", [["a", "b", "c", "d", "e"]], ["a", "b", "x", "c", "d"]),
    ("short hypothesis", [["the", "cat", "sat", "on", "the", "mat"]], ["the", "cat"]),
    ("one token", [["hello"]], ["hello"]),
    ("three tokens", [["a", "b", "c"]], ["a", "b", "c"]),
    ("longer than reference", [["a", "b", "c"]], ["a", "b", "c", "d", "e", "f"]),
    ("repeated token", [["the", "cat", "is", "on", "the", "mat"]], ["the", "the", "the", "the", "the", "the", "the"]),
    ("repeated bigram", [["a", "b", "a", "b", "c", "d"]], ["a", "b", "a", "b", "a", "b"]),
    ("empty hypothesis", [["a", "b", "c", "d"]], []),
    ("empty reference", [[]], ["a", "b", "c", "d"]),
    ("unicode", [["café", "crème", "東京", "🦀", "naïve"]], ["café", "crème", "東京", "🦀", "naïve"]),
    ("unicode partial", [["café", "crème", "東京", "🦀", "naïve", "ok"]], ["cafe", "crème", "東京", "🦀", "naïve", "ok"]),
    ("two references, closest length", [["a", "b", "c"], ["a", "b", "c", "d", "e", "f", "g"]], ["a", "b", "c", "d", "e"]),
    ("two references, tie picks shorter", [["a", "b", "c", "d"], ["a", "b", "c", "d", "e", "f"]], ["a", "b", "c", "d", "e"]),
    ("clipped by the best reference", [["the", "the", "cat"], ["the", "cat", "the", "dog"]], ["the", "the", "the", "cat"]),
    ("case matters", [["The", "Cat", "Sat", "Down"]], ["the", "cat", "sat", "down"]),
    ("punctuation tokens", [["hello", ",", "world", "!"]], ["hello", "world", "!"]),
    ("nltk doc example", [
        ["It", "is", "a", "guide", "to", "action", "that", "ensures", "that", "the", "military", "will", "forever", "heed", "Party", "commands"],
        ["It", "is", "the", "guiding", "principle", "which", "guarantees", "the", "military", "forces", "always", "being", "under", "the", "command", "of", "the", "Party"],
        ["It", "is", "the", "practical", "guide", "for", "the", "army", "always", "to", "heed", "the", "directions", "of", "the", "party"],
    ], ["It", "is", "a", "guide", "to", "action", "which", "ensures", "that", "the", "military", "always", "obeys", "the", "commands", "of", "the", "party"]),
]


def cases():
    rng = random.Random(20261127)
    vocab = ["the", "a", "cat", "dog", "sat", "ran", "on", "mat", "é", "🦀"]
    out = [{"name": name, "references": refs, "hypothesis": hyp} for name, refs, hyp in HAND]
    for i in range(40):
        refs = [
            [rng.choice(vocab) for _ in range(rng.randint(0, 12))]
            for _ in range(rng.randint(1, 3))
        ]
        base = rng.choice(refs)
        hyp = [t if rng.random() < 0.7 else rng.choice(vocab) for t in base]
        hyp += [rng.choice(vocab) for _ in range(rng.randint(0, 3))]
        out.append({"name": f"random {i}", "references": refs, "hypothesis": hyp})
    return out


def score():
    smooth = SmoothingFunction()
    sentence = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for case in cases():
            for smoothing, function in (("none", None), ("method1", smooth.method1)):
                value = sentence_bleu(case["references"], case["hypothesis"], smoothing_function=function)
                sentence.append({**case, "smoothing": smoothing, "bleu": float(value)})
        corpus = []
        all_cases = cases()
        for start, size in ((0, 5), (5, 10), (20, 21), (40, 21)):
            chunk = all_cases[start:start + size]
            for smoothing, function in (("none", None), ("method1", smooth.method1)):
                value = corpus_bleu(
                    [c["references"] for c in chunk],
                    [c["hypothesis"] for c in chunk],
                    smoothing_function=function,
                )
                corpus.append({
                    "references": [c["references"] for c in chunk],
                    "hypotheses": [c["hypothesis"] for c in chunk],
                    "smoothing": smoothing,
                    "bleu": float(value),
                })
        self_bleu = []
        for texts in self_bleu_sets():
            tokens = [t.split() for t in texts]
            for smoothing, function in (("none", None), ("method1", smooth.method1)):
                scores = [
                    float(sentence_bleu(tokens[:i] + tokens[i + 1:], tokens[i], smoothing_function=function))
                    for i in range(len(tokens))
                ]
                self_bleu.append({"texts": texts, "smoothing": smoothing, "scores": scores})
    import nltk
    return {"nltk": nltk.__version__, "sentence": sentence, "corpus": corpus, "self_bleu": self_bleu}


def self_bleu_sets():
    rng = random.Random(20261207)
    vocab = ["the", "a", "cat", "dog", "sat", "ran", "on", "mat", "é", "🦀"]
    sets = [
        ["the cat sat on the mat"] * 3,
        ["the cat sat on the mat", "the cat sat on a mat", "a dog ran on the mat", "storms rolled in"],
        ["one", "two words", "three words here"],
    ]
    for size in (5, 12):
        sets.append([
            " ".join(rng.choice(vocab) for _ in range(rng.randint(1, 14)))
            for _ in range(size)
        ])
    return sets


def main():
    fresh = score()
    if "--check" in sys.argv:
        committed = json.loads(FIXTURE.read_text())
        bad = 0
        for kind in ("sentence", "corpus", "self_bleu"):
            for a, b in zip(committed[kind], fresh[kind]):
                if kind == "self_bleu":
                    if any(abs(x - y) > 1e-12 for x, y in zip(a["scores"], b["scores"])):
                        bad += 1
                        print(f"self_bleu: {a['texts'][:2]}: committed {a['scores']!r}, nltk {b['scores']!r}")
                    continue
                if abs(a["bleu"] - b["bleu"]) > 1e-12:
                    bad += 1
                    print(f"{kind}: {a.get('name', '')}: committed {a['bleu']!r}, nltk {b['bleu']!r}")
            if len(committed[kind]) != len(fresh[kind]):
                bad += 1
                print(f"{kind}: {len(committed[kind])} committed cases, {len(fresh[kind])} now")
        if bad:
            sys.exit(f"{bad} BLEU fixture cases differ from NLTK {fresh['nltk']}")
        print(f"all BLEU fixture cases agree with NLTK {fresh['nltk']}")
    else:
        FIXTURE.write_text(json.dumps(fresh, ensure_ascii=False, indent=1) + "\n")
        print(
            f"wrote {len(fresh['sentence'])} sentence, {len(fresh['corpus'])} corpus and "
            f"{len(fresh['self_bleu'])} self-BLEU cases"
        )


if __name__ == "__main__":
    main()
