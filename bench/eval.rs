//! Throughput of chatan's metrics: 10 000 pairs of short sentences through each; and of
//! duplicate detection over 100 000 rows (`-- dedup` runs that alone).
//!
//! ```sh
//! scripts/fetch-embedding-model          # for semantic similarity (all-MiniLM-L6-v2)
//! cargo bench -p bench --bench eval
//! cargo bench -p bench --bench eval -- dedup
//! # and Python's sentence-transformers on the same pairs, for comparison:
//! ST_PYTHON=/path/to/venv/bin/python cargo bench -p bench --bench eval
//! ```
//!
//! Semantic similarity runs on the model folder `CHATAN_EMBEDDING_MODEL` names, else
//! `target/models/all-MiniLM-L6-v2`, and is left out when neither is there.

use std::time::Instant;

use chatan::eval::{self, Smoothing};

const WORDS: [&str; 16] = [
    "the", "cat", "sat", "on", "a", "mat", "dog", "ran", "to", "park", "in", "rain", "café",
    "quickly", "blue", "house",
];

/// A pseudo-random sentence of 8 to 23 words.
fn sentence(seed: u64) -> String {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let n = 8 + (next() % 16) as usize;
    (0..n)
        .map(|_| WORDS[(next() % WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

fn measure(name: &str, pairs: &[(String, String)], f: impl Fn(&str, &str) -> f64) {
    let started = Instant::now();
    let mut total = 0.0;
    for (a, b) in pairs {
        total += f(a, b);
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{name:<18} {:>10.0} pairs/s  (mean {:.4})",
        pairs.len() as f64 / seconds,
        total / pairs.len() as f64
    );
}

/// Semantic similarity on all-MiniLM-L6-v2: every pair in one call (batched 32 texts
/// per pass), one pair per call for a sample, and Python's sentence-transformers on the
/// same pairs when `ST_PYTHON` names a Python that has it.
fn semantic(pairs: &[(String, String)]) {
    let model = std::env::var_os("CHATAN_EMBEDDING_MODEL").map_or_else(
        || {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../target/models/all-MiniLM-L6-v2")
        },
        std::path::PathBuf::from,
    );
    if !model.join("model.safetensors").exists() {
        println!(
            "semantic: no model at {} (scripts/fetch-embedding-model)",
            model.display()
        );
        return;
    }
    let batch = std::env::var("EMBED_BATCH")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(32);
    let embedder = eval::Embedder::open(&model)
        .expect("the model loads")
        .max_batch(batch);
    let limit = std::env::var("SEMANTIC_PAIRS")
        .ok()
        .and_then(|b| b.parse().ok())
        .unwrap_or(pairs.len());
    let pairs = &pairs[..limit];
    let started = Instant::now();
    let scores = embedder.similarities_blocking(pairs).expect("embedded");
    let seconds = started.elapsed().as_secs_f64();
    let mean = scores.iter().sum::<f64>() / scores.len() as f64;
    println!(
        "{:<18} {:>10.0} pairs/s  (mean {mean:.4}; batched, {} pairs in {seconds:.1} s)",
        "semantic",
        pairs.len() as f64 / seconds,
        pairs.len()
    );
    let sample = &pairs[..500];
    let started = Instant::now();
    for (a, b) in sample {
        embedder.similarity_blocking(a, b).expect("embedded");
    }
    println!(
        "{:<18} {:>10.0} pairs/s  (one pair per call, {} pairs)",
        "semantic unbatched",
        sample.len() as f64 / started.elapsed().as_secs_f64(),
        sample.len()
    );
    if let Some(python) = std::env::var_os("ST_PYTHON") {
        let input = std::env::temp_dir().join("chatan-bench-pairs.json");
        let texts: Vec<&str> = pairs
            .iter()
            .flat_map(|(a, b)| [a.as_str(), b.as_str()])
            .collect();
        std::fs::write(&input, serde_json::to_string(&texts).unwrap()).unwrap();
        let script = "import json, sys, time, torch\n\
            from sentence_transformers import SentenceTransformer\n\
            torch.set_num_threads(int(sys.argv[3]))\n\
            m = SentenceTransformer(sys.argv[1], device='cpu')\n\
            texts = json.load(open(sys.argv[2]))\n\
            t = time.perf_counter()\n\
            e = m.encode(texts, batch_size=32, normalize_embeddings=True)\n\
            s = (e[0::2] * e[1::2]).sum(axis=1)\n\
            print(len(texts) // 2 / (time.perf_counter() - t), s.mean())\n";
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let output = std::process::Command::new(python)
            .args(["-c", script])
            .arg(&model)
            .arg(&input)
            .arg(cores.to_string())
            .output()
            .expect("the Python runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        match stdout.split_whitespace().collect::<Vec<_>>().as_slice() {
            [rate, mean, ..] => println!(
                "{:<18} {:>10.0} pairs/s  (mean {mean}; sentence-transformers, batch 32, {cores} threads)",
                "semantic (python)",
                rate.parse::<f64>().unwrap_or(f64::NAN)
            ),
            _ => println!(
                "semantic (python): {}",
                String::from_utf8_lossy(&output.stderr)
            ),
        }
    }
}

/// Exact and MinHash duplicates over 100 000 rows of 20-40 words: 90 000 drawn at
/// random from 5 000 words, 10 000 copies of some of them with one word changed.
fn dedup() {
    let mut state = 0x5EED_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut texts: Vec<String> = (0..90_000)
        .map(|_| {
            let n = 20 + (next() % 21) as usize;
            (0..n)
                .map(|_| format!("w{}", next() % 5000))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    for _ in 0..10_000 {
        let original = (next() % 90_000) as usize;
        let mut words: Vec<String> = texts[original].split(' ').map(str::to_owned).collect();
        let at = (next() % words.len() as u64) as usize;
        words[at] = "changed".into();
        texts.push(words.join(" "));
    }
    let started = Instant::now();
    let exact = eval::exact_duplicates(&texts);
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{:<18} {:>10.0} rows/s  ({} rows, {} groups)",
        "exact duplicates",
        texts.len() as f64 / seconds,
        texts.len(),
        exact.groups().len()
    );
    let started = Instant::now();
    let near = eval::MinHash::new(0.7).duplicates(&texts);
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{:<18} {:>10.0} rows/s  ({} rows, {} groups, {} rows removed; 128 permutations, 3-word shingles, threshold 0.7, {} threads)",
        "MinHash duplicates",
        texts.len() as f64 / seconds,
        texts.len(),
        near.groups().len(),
        near.removed().len(),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    // Semantic duplicates after embedding: 100 000 vectors of MiniLM's width, 10 000 of
    // them noisy copies (cosine about 0.95 to their original).
    let mut gauss = move || {
        let u = ((next() >> 11) as f64 / (1u64 << 53) as f64).max(1e-300);
        let v = (next() >> 11) as f64 / (1u64 << 53) as f64;
        ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
    };
    let mut embeddings: Vec<Vec<f32>> = (0..90_000)
        .map(|_| (0..384).map(|_| gauss()).collect())
        .collect();
    for k in 0..10_000 {
        let copy: Vec<f32> = embeddings[k * 7]
            .iter()
            .map(|x| x + 0.3 * gauss())
            .collect();
        embeddings.push(copy);
    }
    let started = Instant::now();
    let semantic = eval::semantic_duplicates(&embeddings, 0.9);
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{:<18} {:>10.0} rows/s  ({} embeddings of 384, {} groups; threshold 0.9, after embedding)",
        "semantic dups",
        embeddings.len() as f64 / seconds,
        embeddings.len(),
        semantic.groups().len()
    );
}

fn main() {
    if std::env::args().any(|a| a == "dedup") {
        return dedup();
    }
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // SAFETY: the program has one thread yet.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", cores.to_string()) };
    }
    let pairs: Vec<(String, String)> = (0..10_000u64)
        .map(|i| (sentence(i), sentence(i / 2)))
        .collect();
    measure("exact match", &pairs, |a, b| {
        f64::from(u8::from(eval::exact_match(a, b)))
    });
    measure("exact normalised", &pairs, |a, b| {
        f64::from(u8::from(eval::exact_match_normalized(a, b)))
    });
    measure("edit similarity", &pairs, eval::edit_similarity);
    measure("BLEU", &pairs, |a, b| eval::bleu(a, b, Smoothing::None));
    measure("BLEU method1", &pairs, |a, b| {
        eval::bleu(a, b, Smoothing::Method1)
    });
    semantic(&pairs);
    dedup();
}
