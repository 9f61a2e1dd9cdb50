//! The Llama family (Llama, SmolLM2, TinyLlama) and Qwen2: pre-norm decoder blocks with
//! RMSNorm, rotary positions, grouped-query attention and a SwiGLU MLP. Qwen2 differs by
//! biases on the query/key/value projections; GGUF files of Llama models store the
//! query and key rows permuted for interleaved rotary pairs, Hugging Face checkpoints
//! and Qwen2 use halves.

use candle_core::quantized::gguf_file::Content;
use candle_core::{Device, Result, Tensor};

use super::{Cache, Linear, Model, Sequence, Weights, attend, last_tokens, positions, tokens};

/// The shape of a model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    pub(crate) hidden: usize,
    pub(crate) heads: usize,
    pub(crate) kv_heads: usize,
    pub(crate) layers: usize,
    pub(crate) rms_eps: f64,
    pub(crate) rope_theta: f64,
    pub(crate) max_positions: usize,
    /// Rotary pairs `(2i, 2i+1)` (GGUF Llama) rather than `(i, i + d/2)`.
    pub(crate) interleaved: bool,
}

impl Config {
    /// From a Hugging Face `config.json` of `model_type` `"llama"` or `"qwen2"`.
    pub(crate) fn from_json(config: &serde_json::Value) -> std::result::Result<Self, String> {
        let int = |key: &str| super::config_int(config, key);
        let float = |key: &str, default: f64| super::config_float(config, key, default);
        let heads = int("num_attention_heads")?;
        Ok(Config {
            hidden: int("hidden_size")?,
            heads,
            kv_heads: int("num_key_value_heads").unwrap_or(heads),
            layers: int("num_hidden_layers")?,
            rms_eps: float("rms_norm_eps", 1e-6),
            rope_theta: float("rope_theta", 10_000.0),
            max_positions: int("max_position_embeddings").unwrap_or(2048),
            interleaved: false,
        })
    }

    /// From a GGUF's metadata (`{arch}.block_count`, ...).
    pub(crate) fn from_gguf(content: &Content, arch: &str) -> std::result::Result<Self, String> {
        let get = |key: &str| content.metadata.get(&format!("{arch}.{key}"));
        let int = |key: &str| -> std::result::Result<usize, String> {
            get(key)
                .and_then(|v| v.to_u32().ok())
                .map(|n| n as usize)
                .ok_or_else(|| format!("the GGUF has no {arch}.{key}"))
        };
        let float = |key: &str, default: f64| {
            get(key)
                .and_then(|v| v.to_f32().ok())
                .map_or(default, f64::from)
        };
        let heads = int("attention.head_count")?;
        Ok(Config {
            hidden: int("embedding_length")?,
            heads,
            kv_heads: int("attention.head_count_kv").unwrap_or(heads),
            layers: int("block_count")?,
            rms_eps: float("attention.layer_norm_rms_epsilon", 1e-6),
            rope_theta: float("rope.freq_base", 10_000.0),
            max_positions: int("context_length").unwrap_or(2048),
            interleaved: arch == "llama",
        })
    }

    fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }
}

struct Block {
    attention_norm: Tensor,
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    mlp_norm: Tensor,
    gate: Linear,
    up: Linear,
    down: Linear,
}

/// A loaded Llama-family or Qwen2 model.
pub(crate) struct Llama {
    config: Config,
    embedding: Tensor,
    blocks: Vec<Block>,
    norm: Tensor,
    head: Linear,
    cos: Tensor,
    sin: Tensor,
}

/// A tensor's name in a GGUF file for its Hugging Face name.
fn gguf_name(name: &str) -> String {
    const TOP: [(&str, &str); 3] = [
        ("model.embed_tokens.weight", "token_embd.weight"),
        ("model.norm.weight", "output_norm.weight"),
        ("lm_head.weight", "output.weight"),
    ];
    const BLOCK: [(&str, &str); 9] = [
        ("input_layernorm", "attn_norm"),
        ("self_attn.q_proj", "attn_q"),
        ("self_attn.k_proj", "attn_k"),
        ("self_attn.v_proj", "attn_v"),
        ("self_attn.o_proj", "attn_output"),
        ("post_attention_layernorm", "ffn_norm"),
        ("mlp.gate_proj", "ffn_gate"),
        ("mlp.up_proj", "ffn_up"),
        ("mlp.down_proj", "ffn_down"),
    ];
    if let Some((_, g)) = TOP.iter().find(|(hf, _)| *hf == name) {
        return (*g).to_owned();
    }
    let Some(rest) = name.strip_prefix("model.layers.") else {
        return name.to_owned();
    };
    let (layer, rest) = rest.split_once('.').unwrap_or((rest, ""));
    for (hf, g) in BLOCK {
        if let Some(suffix) = rest.strip_prefix(hf) {
            return format!("blk.{layer}.{g}{suffix}");
        }
    }
    name.to_owned()
}

impl Llama {
    /// Loads the model's tensors (Hugging Face names, or their GGUF names).
    pub(crate) fn load(config: Config, mut weights: Weights) -> Result<Self> {
        let gguf = matches!(weights, Weights::Gguf { .. });
        let name = |n: String| if gguf { gguf_name(&n) } else { n };
        let linear = |w: &mut Weights, n: &str| -> Result<Linear> {
            let linear = w.matrix(&name(format!("{n}.weight")))?;
            let bias = w.optional(&name(format!("{n}.bias")))?;
            Ok(linear.with_bias(bias))
        };
        let embedding = weights.tensor(&name("model.embed_tokens.weight".into()))?;
        let mut blocks = Vec::with_capacity(config.layers);
        for l in 0..config.layers {
            let p = format!("model.layers.{l}");
            blocks.push(Block {
                attention_norm: weights.tensor(&name(format!("{p}.input_layernorm.weight")))?,
                q: linear(&mut weights, &format!("{p}.self_attn.q_proj"))?,
                k: linear(&mut weights, &format!("{p}.self_attn.k_proj"))?,
                v: linear(&mut weights, &format!("{p}.self_attn.v_proj"))?,
                o: linear(&mut weights, &format!("{p}.self_attn.o_proj"))?,
                mlp_norm: weights.tensor(&name(format!("{p}.post_attention_layernorm.weight")))?,
                gate: linear(&mut weights, &format!("{p}.mlp.gate_proj"))?,
                up: linear(&mut weights, &format!("{p}.mlp.up_proj"))?,
                down: linear(&mut weights, &format!("{p}.mlp.down_proj"))?,
            });
        }
        let norm = weights.tensor(&name("model.norm.weight".into()))?;
        let head_name = name("lm_head.weight".into());
        // Tied embeddings: the output head is the embedding matrix.
        let head = if weights.has(&head_name) {
            weights.matrix(&head_name)?
        } else {
            weights.matrix(&name("model.embed_tokens.weight".into()))?
        };
        let (cos, sin) = super::rotary_tables(
            config.head_dim(),
            config.rope_theta,
            config.max_positions,
            &Device::Cpu,
        )?;
        Ok(Llama {
            embedding,
            blocks,
            norm,
            head,
            cos,
            sin,
            config,
        })
    }

    fn rotate(&self, x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
        if self.config.interleaved {
            candle_nn::rotary_emb::rope_i(x, cos, sin)
        } else {
            candle_nn::rotary_emb::rope(x, cos, sin)
        }
    }
}

impl Model for Llama {
    fn forward(&self, batch: &mut [Sequence<'_>]) -> Result<Tensor> {
        let c = &self.config;
        let eps = c.rms_eps as f32;
        let dim = c.head_dim();
        let device = self.embedding.device();
        let ids = tokens(batch, device)?;
        let at = positions(batch, device)?;
        let n = ids.dim(0)?;
        let alone = batch.len() == 1;
        // One position per token: rotary tables as `[tokens, 1, dim / 2]`, the queries and
        // keys as `[tokens, heads, 1, dim]` (a "batch" of one-position sequences).
        let cos = self.cos.index_select(&at, 0)?.unsqueeze(1)?;
        let sin = self.sin.index_select(&at, 0)?.unsqueeze(1)?;
        let mut x = self.embedding.index_select(&ids, 0)?;
        for (l, block) in self.blocks.iter().enumerate() {
            let h = candle_nn::ops::rms_norm(&x, &block.attention_norm, eps)?;
            let [q, k, v] = Linear::forward_all([&block.q, &block.k, &block.v], &h, alone)?;
            let q = q.reshape((n, c.heads, 1, dim))?;
            let k = k.reshape((n, c.kv_heads, 1, dim))?;
            let v = v.reshape((n, c.kv_heads, dim))?;
            let q = self.rotate(&q, &cos, &sin)?.reshape((n, c.heads, dim))?;
            let k = self.rotate(&k, &cos, &sin)?.reshape((n, c.kv_heads, dim))?;
            let y = attend(l, &q, &k, &v, batch)?;
            x = (x + block.o.forward(&y, alone)?)?;
            let h = candle_nn::ops::rms_norm(&x, &block.mlp_norm, eps)?;
            let [gate, up] = Linear::forward_all([&block.gate, &block.up], &h, alone)?;
            let m = block
                .down
                .forward(&(candle_nn::ops::silu(&gate)? * up)?, alone)?;
            x = (x + m)?;
        }
        let x = candle_nn::ops::rms_norm(&last_tokens(&x, batch)?, &self.norm, eps)?;
        super::logits(&self.head, &x)
    }

    fn cache(&self) -> Cache {
        Cache::new(self.config.layers)
    }

    fn max_positions(&self) -> usize {
        self.config.max_positions
    }
}

#[cfg(test)]
mod tests {
    use super::gguf_name;

    #[test]
    fn hugging_face_names_map_to_gguf_names() {
        assert_eq!(gguf_name("model.embed_tokens.weight"), "token_embd.weight");
        assert_eq!(
            gguf_name("model.layers.12.self_attn.q_proj.bias"),
            "blk.12.attn_q.bias"
        );
        assert_eq!(
            gguf_name("model.layers.0.post_attention_layernorm.weight"),
            "blk.0.ffn_norm.weight"
        );
        assert_eq!(gguf_name("lm_head.weight"), "output.weight");
    }
}
