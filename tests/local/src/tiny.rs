//! Tiny random-weight checkpoints, written as real model folders: a byte-level BPE
//! tokenizer made in code, and GPT-2, Llama and Qwen2 models of two layers and a hidden
//! size of 32, as Hugging Face saves them (`config.json`, `tokenizer.json`,
//! `model.safetensors`, optionally `tokenizer_config.json` with a chat template and
//! `generation_config.json`) — and a Llama as a GGUF file with its tokenizer in the
//! metadata, as llama.cpp's converter writes it.

use std::collections::HashMap;
use std::path::Path;

use candle_core::quantized::gguf_file::Value;
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{DType, Device, Tensor};
use serde_json::json;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

/// The special tokens, after the byte-level alphabet and the merges.
pub const SPECIALS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];

/// A ChatML template, as SmolLM2 and Qwen2 have.
pub const CHAT_TEMPLATE: &str = "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}";

const MERGES: [(&str, &str); 12] = [
    ("t", "h"),
    ("th", "e"),
    ("Ġ", "the"),
    ("i", "n"),
    ("e", "r"),
    ("Ġ", "a"),
    ("o", "n"),
    ("Ġ", "s"),
    ("e", "a"),
    ("Ġs", "ea"),
    ("a", "t"),
    ("Ġ", "c"),
];

/// The vocabulary in id order: the 256 byte-level characters, the merges' results, the
/// special tokens.
pub fn vocabulary() -> Vec<String> {
    let mut alphabet: Vec<String> = ByteLevel::alphabet()
        .into_iter()
        .map(String::from)
        .collect();
    alphabet.sort();
    alphabet.extend(MERGES.iter().map(|(a, b)| format!("{a}{b}")));
    alphabet.extend(SPECIALS.iter().map(|s| s.to_string()));
    alphabet
}

/// The tokenizer, as `tokenizer.json` holds it.
pub fn tokenizer() -> Tokenizer {
    let vocab: tokenizers::models::bpe::Vocab = vocabulary()
        .into_iter()
        .enumerate()
        .map(|(i, t)| (t, i as u32))
        .collect();
    let merges = MERGES
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .unwrap();
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
    tokenizer.with_decoder(Some(ByteLevel::new(false, true, true)));
    tokenizer
        .add_special_tokens(
            SPECIALS
                .iter()
                .map(|s| AddedToken::from(*s, true))
                .collect::<Vec<_>>(),
        )
        .expect("special tokens");
    tokenizer
}

/// The vocabulary size.
pub fn vocab_size() -> usize {
    vocabulary().len()
}

/// A token's id.
pub fn id(token: &str) -> u32 {
    vocabulary().iter().position(|t| t == token).unwrap() as u32
}

/// Which model to write.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arch {
    Gpt2,
    Llama,
    Qwen2,
}

/// What else goes in the folder.
#[derive(Debug, Clone, Default)]
pub struct Extras {
    /// Writes `tokenizer_config.json` with the ChatML template.
    pub chat: bool,
    /// `generation_config.json`'s `eos_token_id`.
    pub eos: Option<u32>,
}

/// Deterministic pseudo-random weights: the same tensors for the same seed.
pub(crate) struct Weights {
    state: u64,
    pub(crate) tensors: HashMap<String, Tensor>,
}

impl Weights {
    pub(crate) fn new(seed: u64) -> Self {
        Weights {
            state: seed,
            tensors: HashMap::new(),
        }
    }

    pub(crate) fn random(&mut self, name: &str, shape: &[usize], scale: f32) {
        let n: usize = shape.iter().product();
        let values: Vec<f32> = (0..n)
            .map(|_| {
                self.state = self
                    .state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((self.state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2.0 * scale
            })
            .collect();
        let t = Tensor::from_vec(values, shape, &Device::Cpu).unwrap();
        self.tensors.insert(name.to_owned(), t);
    }

    pub(crate) fn ones(&mut self, name: &str, n: usize) {
        self.tensors.insert(
            name.to_owned(),
            Tensor::ones(n, DType::F32, &Device::Cpu).unwrap(),
        );
    }
}

const HIDDEN: usize = 32;
const HEADS: usize = 4;
const KV_HEADS: usize = 2;
const LAYERS: usize = 2;
const FFN: usize = 64;
const POSITIONS: usize = 256;

/// The tensors of a model, by Hugging Face name.
fn weights(arch: Arch, seed: u64) -> HashMap<String, Tensor> {
    let v = vocab_size();
    let mut w = Weights::new(seed);
    match arch {
        Arch::Gpt2 => {
            w.random("wte.weight", &[v, HIDDEN], 1.0);
            w.random("wpe.weight", &[POSITIONS, HIDDEN], 0.3);
            for l in 0..LAYERS {
                let p = format!("h.{l}");
                for norm in ["ln_1", "ln_2"] {
                    w.ones(&format!("{p}.{norm}.weight"), HIDDEN);
                    w.random(&format!("{p}.{norm}.bias"), &[HIDDEN], 0.1);
                }
                for (name, i, o) in [
                    ("attn.c_attn", HIDDEN, 3 * HIDDEN),
                    ("attn.c_proj", HIDDEN, HIDDEN),
                    ("mlp.c_fc", HIDDEN, FFN),
                    ("mlp.c_proj", FFN, HIDDEN),
                ] {
                    w.random(&format!("{p}.{name}.weight"), &[i, o], 0.4);
                    w.random(&format!("{p}.{name}.bias"), &[o], 0.1);
                }
            }
            w.ones("ln_f.weight", HIDDEN);
            w.random("ln_f.bias", &[HIDDEN], 0.1);
        }
        Arch::Llama | Arch::Qwen2 => {
            let dim = HIDDEN / HEADS;
            w.random("model.embed_tokens.weight", &[v, HIDDEN], 1.0);
            for l in 0..LAYERS {
                let p = format!("model.layers.{l}");
                w.ones(&format!("{p}.input_layernorm.weight"), HIDDEN);
                w.ones(&format!("{p}.post_attention_layernorm.weight"), HIDDEN);
                for (name, o) in [
                    ("q_proj", HEADS * dim),
                    ("k_proj", KV_HEADS * dim),
                    ("v_proj", KV_HEADS * dim),
                    ("o_proj", HIDDEN),
                ] {
                    w.random(&format!("{p}.self_attn.{name}.weight"), &[o, HIDDEN], 0.4);
                    if arch == Arch::Qwen2 && name != "o_proj" {
                        w.random(&format!("{p}.self_attn.{name}.bias"), &[o], 0.2);
                    }
                }
                w.random(&format!("{p}.mlp.gate_proj.weight"), &[FFN, HIDDEN], 0.4);
                w.random(&format!("{p}.mlp.up_proj.weight"), &[FFN, HIDDEN], 0.4);
                w.random(&format!("{p}.mlp.down_proj.weight"), &[HIDDEN, FFN], 0.4);
            }
            w.ones("model.norm.weight", HIDDEN);
            if arch == Arch::Llama {
                w.random("lm_head.weight", &[v, HIDDEN], 1.0);
            }
        }
    }
    w.tensors
}

fn config(arch: Arch) -> serde_json::Value {
    let v = vocab_size();
    match arch {
        Arch::Gpt2 => json!({
            "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"],
            "n_embd": HIDDEN, "n_head": HEADS, "n_layer": LAYERS, "n_positions": POSITIONS,
            "vocab_size": v, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new",
        }),
        Arch::Llama | Arch::Qwen2 => json!({
            "model_type": if arch == Arch::Llama { "llama" } else { "qwen2" },
            "hidden_size": HIDDEN, "num_attention_heads": HEADS,
            "num_key_value_heads": KV_HEADS, "num_hidden_layers": LAYERS,
            "intermediate_size": FFN, "rms_norm_eps": 1e-6,
            "rope_theta": if arch == Arch::Llama { 10000.0 } else { 1000000.0 },
            "max_position_embeddings": POSITIONS, "vocab_size": v,
            "tie_word_embeddings": arch == Arch::Qwen2,
        }),
    }
}

pub(crate) fn write_json(path: &Path, value: &serde_json::Value) {
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

/// Writes a checkpoint folder for `arch` (weights from `seed`) into `dir`.
pub fn folder(dir: &Path, arch: Arch, seed: u64, extras: &Extras) {
    std::fs::create_dir_all(dir).unwrap();
    write_json(&dir.join("config.json"), &config(arch));
    tokenizer().save(dir.join("tokenizer.json"), false).unwrap();
    candle_core::safetensors::save(&weights(arch, seed), dir.join("model.safetensors")).unwrap();
    if extras.chat {
        write_json(
            &dir.join("tokenizer_config.json"),
            &json!({
                "chat_template": CHAT_TEMPLATE,
                "bos_token": null,
                "eos_token": "<|im_end|>",
            }),
        );
    }
    if let Some(eos) = extras.eos {
        write_json(
            &dir.join("generation_config.json"),
            &json!({ "eos_token_id": eos }),
        );
    }
}

/// llama.cpp's converter permutes the rows of the query and key projections so that
/// rotary pairs are interleaved `(2i, 2i+1)` instead of halves `(i, i + d/2)`.
fn permute(w: &Tensor, heads: usize) -> Tensor {
    let (out, inner) = w.dims2().unwrap();
    w.reshape((heads, 2, out / heads / 2, inner))
        .unwrap()
        .transpose(1, 2)
        .unwrap()
        .reshape((out, inner))
        .unwrap()
        .contiguous()
        .unwrap()
}

/// Writes the Llama of `seed` as a GGUF file (weights `dtype`; norms stay `f32`), with
/// its tokenizer and chat template in the metadata and no `tokenizer.json` beside it.
pub fn llama_gguf(path: &Path, seed: u64, dtype: GgmlDType) {
    let hf = weights(Arch::Llama, seed);
    let mut tensors: Vec<(String, QTensor)> = Vec::new();
    let mut put = |name: String, t: &Tensor, quantize: bool| {
        let q = QTensor::quantize(t, if quantize { dtype } else { GgmlDType::F32 }).unwrap();
        tensors.push((name, q));
    };
    put(
        "token_embd.weight".into(),
        &hf["model.embed_tokens.weight"],
        true,
    );
    put("output.weight".into(), &hf["lm_head.weight"], true);
    put("output_norm.weight".into(), &hf["model.norm.weight"], false);
    for l in 0..LAYERS {
        let p = format!("model.layers.{l}");
        let b = format!("blk.{l}");
        put(
            format!("{b}.attn_norm.weight"),
            &hf[&format!("{p}.input_layernorm.weight")],
            false,
        );
        put(
            format!("{b}.ffn_norm.weight"),
            &hf[&format!("{p}.post_attention_layernorm.weight")],
            false,
        );
        put(
            format!("{b}.attn_q.weight"),
            &permute(&hf[&format!("{p}.self_attn.q_proj.weight")], HEADS),
            true,
        );
        put(
            format!("{b}.attn_k.weight"),
            &permute(&hf[&format!("{p}.self_attn.k_proj.weight")], KV_HEADS),
            true,
        );
        put(
            format!("{b}.attn_v.weight"),
            &hf[&format!("{p}.self_attn.v_proj.weight")],
            true,
        );
        put(
            format!("{b}.attn_output.weight"),
            &hf[&format!("{p}.self_attn.o_proj.weight")],
            true,
        );
        put(
            format!("{b}.ffn_gate.weight"),
            &hf[&format!("{p}.mlp.gate_proj.weight")],
            true,
        );
        put(
            format!("{b}.ffn_up.weight"),
            &hf[&format!("{p}.mlp.up_proj.weight")],
            true,
        );
        put(
            format!("{b}.ffn_down.weight"),
            &hf[&format!("{p}.mlp.down_proj.weight")],
            true,
        );
    }
    let vocabulary = vocabulary();
    let specials = SPECIALS.len();
    let types: Vec<Value> = (0..vocabulary.len())
        .map(|i| {
            Value::I32(if i >= vocabulary.len() - specials {
                3
            } else {
                1
            })
        })
        .collect();
    let metadata: Vec<(&str, Value)> = vec![
        ("general.architecture", Value::String("llama".into())),
        ("llama.context_length", Value::U32(POSITIONS as u32)),
        ("llama.embedding_length", Value::U32(HIDDEN as u32)),
        ("llama.block_count", Value::U32(LAYERS as u32)),
        ("llama.feed_forward_length", Value::U32(FFN as u32)),
        ("llama.attention.head_count", Value::U32(HEADS as u32)),
        ("llama.attention.head_count_kv", Value::U32(KV_HEADS as u32)),
        ("llama.attention.layer_norm_rms_epsilon", Value::F32(1e-6)),
        ("llama.rope.freq_base", Value::F32(10000.0)),
        (
            "llama.rope.dimension_count",
            Value::U32((HIDDEN / HEADS) as u32),
        ),
        ("tokenizer.ggml.model", Value::String("gpt2".into())),
        (
            "tokenizer.ggml.tokens",
            Value::Array(
                vocabulary
                    .iter()
                    .map(|t| Value::String(t.clone()))
                    .collect(),
            ),
        ),
        (
            "tokenizer.ggml.merges",
            Value::Array(
                MERGES
                    .iter()
                    .map(|(a, b)| Value::String(format!("{a} {b}")))
                    .collect(),
            ),
        ),
        ("tokenizer.ggml.token_type", Value::Array(types)),
        ("tokenizer.ggml.eos_token_id", Value::U32(id("<|im_end|>"))),
        (
            "tokenizer.chat_template",
            Value::String(CHAT_TEMPLATE.into()),
        ),
    ];
    let metadata: Vec<(&str, &Value)> = metadata.iter().map(|(k, v)| (*k, v)).collect();
    let tensors: Vec<(&str, &QTensor)> = tensors.iter().map(|(k, v)| (k.as_str(), v)).collect();
    let mut file = std::fs::File::create(path).unwrap();
    candle_core::quantized::gguf_file::write(&mut file, &metadata, &tensors).unwrap();
}
