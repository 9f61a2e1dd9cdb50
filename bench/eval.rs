//! Throughput of chatan's metrics: 10 000 pairs of short sentences through each.
//!
//! ```sh
//! cargo bench -p bench --bench eval
//! ```

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

fn main() {
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
}
