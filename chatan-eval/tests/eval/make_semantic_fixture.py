"""Semantic-similarity cases scored by the real sentence-transformers, for chatan's
`eval::Embedder` tests.

    python3 chatan-eval/tests/eval/make_semantic_fixture.py MODEL_DIR          # writes semantic_fixture.json
    python3 chatan-eval/tests/eval/make_semantic_fixture.py MODEL_DIR --check  # recomputes, compares

MODEL_DIR is all-MiniLM-L6-v2's folder (`scripts/fetch-embedding-model` prints it). The
fixture holds the cosine similarity of each pair (normalised mean-pooled embeddings, as
`SentenceTransformer.encode(..., normalize_embeddings=True)` gives them) and the whole
embedding of a few texts, among them one longer than the model's 256-token window.
"""

import json
import pathlib
import sys

import numpy as np
import sentence_transformers
from sentence_transformers import SentenceTransformer

HERE = pathlib.Path(__file__).parent
FIXTURE = HERE / "semantic_fixture.json"

LONG = " ".join(
    f"sentence {i} of a long document about rivers, mountains and the weather in spring."
    for i in range(40)
)

PAIRS = [
    ("paraphrase", "A man is playing a guitar.", "Someone is playing an instrument."),
    ("same meaning, other words", "The cat sits on the mat.", "A cat is sitting on a rug."),
    ("unrelated", "The stock market fell sharply today.", "My grandmother bakes bread every Sunday."),
    ("identical", "Paris is the capital of France.", "Paris is the capital of France."),
    ("case only", "PARIS IS THE CAPITAL OF FRANCE.", "paris is the capital of france."),
    ("question and answer", "What is the capital of France?", "The capital of France is Paris."),
    ("negation", "I like this movie.", "I do not like this movie."),
    ("one word", "dog", "puppy"),
    ("one word, unrelated", "dog", "algebra"),
    ("empty and text", "", "A man is playing a guitar."),
    ("both empty", "", ""),
    ("whitespace", "   ", "\t\n"),
    ("punctuation", "!!!", "???"),
    ("numbers", "It costs 42 dollars.", "The price is forty-two dollars."),
    ("accents", "Crème brûlée is a French dessert.", "Creme brulee is a French dessert."),
    ("cjk", "東京は日本の首都です。", "Tokyo is the capital of Japan."),
    ("emoji", "I love pizza 🍕", "Pizza is my favourite food 😋"),
    ("code", "def add(a, b): return a + b", "function add(a, b) { return a + b; }"),
    ("programming topics", "Write a question about Rust ownership.", "Explain the borrow checker in Rust."),
    ("long and short", LONG, "rivers and mountains in spring"),
    ("long and long", LONG, LONG.replace("spring", "autumn")),
    ("multi-line", "first line\nsecond line\nthird line", "first line second line third line"),
    ("repeated words", "very very very very good", "extremely good"),
    ("typo", "The quick brown fox jumps over the lazy dog.", "The quikc brown fox jumsp over the lazy dog."),
    ("reordered", "Alice gave Bob a book.", "Bob gave Alice a book."),
    ("german", "Das Wetter ist heute schön.", "The weather is nice today."),
    ("medical", "The patient was given aspirin for the headache.", "Aspirin was administered to treat the headache."),
    ("san antonio", "the history of san antonio, tx", "the history of marfa, tx"),
    ("sql", "SELECT name FROM users WHERE age > 30;", "List the names of users older than thirty."),
    ("math", "2 + 2 = 4", "two plus two equals four"),
    ("url", "see https://example.com/a?b=c for details", "details are at example.com"),
    ("control characters", "tab\there\u0000null", "tab here null"),
]

# Texts whose whole embedding is kept.
FULL = ["A man is playing a guitar.", "", "東京は日本の首都です。", LONG, "I love pizza 🍕"]


def compute(model_dir):
    model = SentenceTransformer(str(model_dir), device="cpu")
    a = model.encode([p[1] for p in PAIRS], normalize_embeddings=True, convert_to_numpy=True)
    b = model.encode([p[2] for p in PAIRS], normalize_embeddings=True, convert_to_numpy=True)
    full = model.encode(FULL, normalize_embeddings=True, convert_to_numpy=True)
    return {
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "sentence_transformers": sentence_transformers.__version__,
        "max_seq_length": model.max_seq_length,
        "pairs": [
            {"name": name, "a": x, "b": y, "cosine": float(np.dot(ea.astype(np.float64), eb.astype(np.float64)))}
            for (name, x, y), ea, eb in zip(PAIRS, a, b)
        ],
        "embeddings": [
            {"text": text, "embedding": [float(v) for v in e]} for text, e in zip(FULL, full)
        ],
    }


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        sys.exit(__doc__)
    fresh = compute(pathlib.Path(args[0]))
    if "--check" in sys.argv:
        kept = json.loads(FIXTURE.read_text())
        worst = 0.0
        for k, f in zip(kept["pairs"], fresh["pairs"]):
            assert (k["a"], k["b"]) == (f["a"], f["b"]), f"{k['name']}: texts differ; rewrite the fixture"
            worst = max(worst, abs(k["cosine"] - f["cosine"]))
        for k, f in zip(kept["embeddings"], fresh["embeddings"]):
            worst = max(worst, max(abs(x - y) for x, y in zip(k["embedding"], f["embedding"])))
        assert len(kept["pairs"]) == len(fresh["pairs"]), "pair count differs; rewrite the fixture"
        assert worst < 1e-5, f"sentence-transformers now differs from the fixture by {worst}"
        print(f"{len(fresh['pairs'])} pairs and {len(fresh['embeddings'])} embeddings agree with sentence-transformers (worst {worst:.1e})")
        return
    FIXTURE.write_text(json.dumps(fresh, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {FIXTURE}: {len(fresh['pairs'])} pairs, {len(fresh['embeddings'])} embeddings")


if __name__ == "__main__":
    main()
