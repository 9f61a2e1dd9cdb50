//! A tiny random-weight BERT sentence-transformer, written as a real model folder as
//! sentence-transformers saves one: `config.json`, a WordPiece `tokenizer.json` made in
//! code (BERT's normaliser, pre-tokenizer and `[CLS] $A [SEP]` template, and a fixed
//! padding that the embedder must ignore), `model.safetensors`, and, as asked,
//! `modules.json`, `sentence_bert_config.json` and `1_Pooling/config.json`.

use std::path::Path;

use serde_json::json;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer};

use crate::tiny::{Weights, write_json};

/// The vocabulary in id order.
pub const VOCABULARY: [&str; 40] = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "the",
    "a",
    "cat",
    "dog",
    "sat",
    "on",
    "mat",
    "rug",
    "man",
    "play",
    "##ing",
    "##s",
    "guitar",
    "music",
    ".",
    ",",
    "is",
    "paris",
    "capital",
    "of",
    "france",
    "rust",
    "python",
    "question",
    "answer",
    "what",
    "?",
    "good",
    "bad",
    "very",
    "some",
    "##one",
    "instrument",
    "an",
    "café",
];

const HIDDEN: usize = 32;
const HEADS: usize = 4;
const LAYERS: usize = 2;
const FFN: usize = 64;
const POSITIONS: usize = 64;

/// What the folder says about the pipeline.
#[derive(Debug, Clone)]
pub struct Options {
    /// `modules.json` (Transformer, Pooling, Normalize); without it the folder is a plain
    /// checkpoint.
    pub modules: bool,
    /// The pooling mode turned on in `1_Pooling/config.json`.
    pub pooling: &'static str,
    /// A `Normalize` module.
    pub normalize: bool,
    /// `sentence_bert_config.json`'s `max_seq_length`.
    pub max_seq_length: usize,
    /// Tensor names under `bert.` (as `BertForMaskedLM` saves them).
    pub prefixed: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            modules: true,
            pooling: "pooling_mode_mean_tokens",
            normalize: true,
            max_seq_length: 16,
            prefixed: false,
        }
    }
}

/// The tokenizer, as `tokenizer.json` holds it, from the `vocab.txt` it writes in `dir`
/// (BERT folders keep one).
pub fn tokenizer(dir: &Path) -> Tokenizer {
    let vocab = dir.join("vocab.txt");
    std::fs::write(&vocab, VOCABULARY.join("\n") + "\n").unwrap();
    let wordpiece = WordPiece::from_file(&vocab.to_string_lossy())
        .unk_token("[UNK]".into())
        .build()
        .unwrap();
    let mut tokenizer = Tokenizer::new(wordpiece);
    tokenizer
        .with_normalizer(Some(BertNormalizer::new(true, true, None, true)))
        .unwrap();
    tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
    tokenizer.with_post_processor(Some(
        TemplateProcessing::builder()
            .try_single("[CLS] $A [SEP]")
            .unwrap()
            .special_tokens(vec![("[CLS]", 2), ("[SEP]", 3)])
            .build()
            .unwrap(),
    ));
    // all-MiniLM-L6-v2's tokenizer.json pads every text to 128: sentence-transformers
    // does not, and neither may chatan (it would only cost time, but it must be undone).
    tokenizer.with_padding(Some(PaddingParams {
        strategy: PaddingStrategy::Fixed(48),
        pad_id: 0,
        pad_token: "[PAD]".into(),
        ..Default::default()
    }));
    tokenizer
}

/// Writes the model of `seed` into `dir`.
pub fn folder(dir: &Path, seed: u64, options: &Options) {
    std::fs::create_dir_all(dir).unwrap();
    write_json(
        &dir.join("config.json"),
        &json!({
            "model_type": "bert", "architectures": ["BertModel"],
            "hidden_size": HIDDEN, "num_attention_heads": HEADS,
            "num_hidden_layers": LAYERS, "intermediate_size": FFN,
            "max_position_embeddings": POSITIONS, "type_vocab_size": 2,
            "vocab_size": VOCABULARY.len(), "hidden_act": "gelu",
            "layer_norm_eps": 1e-12, "position_embedding_type": "absolute",
        }),
    );
    tokenizer(dir)
        .save(dir.join("tokenizer.json"), false)
        .unwrap();
    let p = if options.prefixed { "bert." } else { "" };
    let mut w = Weights::new(seed);
    w.random(
        &format!("{p}embeddings.word_embeddings.weight"),
        &[VOCABULARY.len(), HIDDEN],
        1.0,
    );
    w.random(
        &format!("{p}embeddings.position_embeddings.weight"),
        &[POSITIONS, HIDDEN],
        0.3,
    );
    w.random(
        &format!("{p}embeddings.token_type_embeddings.weight"),
        &[2, HIDDEN],
        0.3,
    );
    let norm = |w: &mut Weights, name: &str| {
        w.ones(&format!("{name}.weight"), HIDDEN);
        w.random(&format!("{name}.bias"), &[HIDDEN], 0.1);
    };
    norm(&mut w, &format!("{p}embeddings.LayerNorm"));
    for l in 0..LAYERS {
        let layer = format!("{p}encoder.layer.{l}");
        for (name, out, inner) in [
            ("attention.self.query", HIDDEN, HIDDEN),
            ("attention.self.key", HIDDEN, HIDDEN),
            ("attention.self.value", HIDDEN, HIDDEN),
            ("attention.output.dense", HIDDEN, HIDDEN),
            ("intermediate.dense", FFN, HIDDEN),
            ("output.dense", HIDDEN, FFN),
        ] {
            w.random(&format!("{layer}.{name}.weight"), &[out, inner], 0.4);
            w.random(&format!("{layer}.{name}.bias"), &[out], 0.1);
        }
        norm(&mut w, &format!("{layer}.attention.output.LayerNorm"));
        norm(&mut w, &format!("{layer}.output.LayerNorm"));
    }
    candle_core::safetensors::save(&w.tensors, dir.join("model.safetensors")).unwrap();
    write_json(
        &dir.join("sentence_bert_config.json"),
        &json!({ "max_seq_length": options.max_seq_length, "do_lower_case": false }),
    );
    if options.modules {
        let mut modules = vec![
            json!({"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}),
            json!({"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}),
        ];
        if options.normalize {
            modules.push(json!({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}));
        }
        write_json(&dir.join("modules.json"), &json!(modules));
        std::fs::create_dir_all(dir.join("1_Pooling")).unwrap();
        let mut pooling = json!({
            "word_embedding_dimension": HIDDEN,
            "pooling_mode_cls_token": false,
            "pooling_mode_mean_tokens": false,
            "pooling_mode_max_tokens": false,
            "pooling_mode_mean_sqrt_len_tokens": false,
        });
        pooling[options.pooling] = json!(true);
        write_json(&dir.join("1_Pooling/config.json"), &pooling);
    }
}
