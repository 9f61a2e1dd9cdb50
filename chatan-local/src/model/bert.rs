//! BERT, the encoder under sentence-transformers models (all-MiniLM-L6-v2 and its
//! kin): learned positions and token types, post-norm blocks (attention, then a GELU
//! MLP, each added back to its input and layer-normalised), and attention that sees the
//! whole text. Texts of a batch are padded to the longest; the padding is masked out of
//! attention, so a text's state does not depend on its batch-mates beyond rounding.

use candle_core::quantized::QMatMul;
use candle_core::{DType, Result, Tensor};

use super::{LayerNorm, Linear, Weights};

/// The shape of a BERT model, from its `config.json`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    pub(crate) hidden: usize,
    pub(crate) heads: usize,
    pub(crate) layers: usize,
    pub(crate) max_positions: usize,
    pub(crate) eps: f64,
    activation: Activation,
}

/// The MLP's activation (`hidden_act`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Activation {
    /// `gelu`: the exact GELU, with the error function.
    Gelu,
    /// `gelu_new`, `gelu_pytorch_tanh`: the tanh approximation.
    GeluTanh,
    Relu,
}

impl Config {
    pub(crate) fn from_json(config: &serde_json::Value) -> std::result::Result<Self, String> {
        let int = |key: &str| super::config_int(config, key);
        let activation = match config
            .get("hidden_act")
            .and_then(|a| a.as_str())
            .unwrap_or("gelu")
        {
            "gelu" => Activation::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            other => return Err(format!("hidden_act {other:?} is not supported")),
        };
        let position = config
            .get("position_embedding_type")
            .and_then(|p| p.as_str())
            .unwrap_or("absolute");
        if position != "absolute" {
            return Err(format!(
                "position_embedding_type {position:?} is not supported (only \"absolute\")"
            ));
        }
        let (hidden, heads) = (int("hidden_size")?, int("num_attention_heads")?);
        if heads == 0 || hidden % heads != 0 {
            return Err(format!(
                "hidden_size {hidden} is not a multiple of num_attention_heads {heads}"
            ));
        }
        Ok(Config {
            hidden,
            heads,
            layers: int("num_hidden_layers")?,
            max_positions: int("max_position_embeddings")?,
            eps: super::config_float(config, "layer_norm_eps", 1e-12),
            activation,
        })
    }
}

struct Layer {
    /// Query, key and value in one matrix (`[3 * hidden, hidden]`).
    qkv: Linear,
    output: Linear,
    attention_norm: LayerNorm,
    up: Linear,
    down: Linear,
    output_norm: LayerNorm,
}

/// A loaded BERT encoder.
pub(crate) struct Bert {
    config: Config,
    word: Tensor,
    position: Tensor,
    /// Token type 0's embedding: every text is one segment.
    token_type: Tensor,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
}

fn linear(w: &mut Weights, name: &str) -> Result<Linear> {
    Ok(Linear::new(
        QMatMul::Tensor(w.tensor(&format!("{name}.weight"))?),
        Some(w.tensor(&format!("{name}.bias"))?),
    ))
}

impl Bert {
    pub(crate) fn load(config: Config, mut w: Weights) -> Result<Self> {
        // `BertModel` checkpoints (sentence-transformers) name tensors from
        // `embeddings.`; `BertForMaskedLM` and kin put the body under `bert.`.
        let p = if w.has("bert.embeddings.word_embeddings.weight") {
            "bert."
        } else {
            ""
        };
        let eps = config.eps;
        let mut layers = Vec::with_capacity(config.layers);
        for l in 0..config.layers {
            let a = format!("{p}encoder.layer.{l}.attention");
            let tensor = |w: &mut Weights, part: &str, kind: &str| {
                w.tensor(&format!("{a}.self.{part}.{kind}"))
            };
            let weight = Tensor::cat(
                &[
                    tensor(&mut w, "query", "weight")?,
                    tensor(&mut w, "key", "weight")?,
                    tensor(&mut w, "value", "weight")?,
                ],
                0,
            )?;
            let bias = Tensor::cat(
                &[
                    tensor(&mut w, "query", "bias")?,
                    tensor(&mut w, "key", "bias")?,
                    tensor(&mut w, "value", "bias")?,
                ],
                0,
            )?;
            let o = format!("{p}encoder.layer.{l}");
            layers.push(Layer {
                qkv: Linear::new(QMatMul::Tensor(weight), Some(bias)),
                output: linear(&mut w, &format!("{a}.output.dense"))?,
                attention_norm: LayerNorm::load(&mut w, &format!("{a}.output.LayerNorm"), eps)?,
                up: linear(&mut w, &format!("{o}.intermediate.dense"))?,
                down: linear(&mut w, &format!("{o}.output.dense"))?,
                output_norm: LayerNorm::load(&mut w, &format!("{o}.output.LayerNorm"), eps)?,
            });
        }
        let e = format!("{p}embeddings");
        let token_type = w
            .tensor(&format!("{e}.token_type_embeddings.weight"))?
            .get(0)?;
        Ok(Bert {
            word: w.tensor(&format!("{e}.word_embeddings.weight"))?,
            position: w.tensor(&format!("{e}.position_embeddings.weight"))?,
            token_type,
            embedding_norm: LayerNorm::load(&mut w, &format!("{e}.LayerNorm"), eps)?,
            layers,
            config,
        })
    }

    /// The width of the hidden state.
    pub(crate) fn hidden(&self) -> usize {
        self.config.hidden
    }

    /// The last hidden state of each text, `[texts, longest, hidden]`: `ids` holds the
    /// texts' token ids padded to the longest (`[texts, longest]`), `lengths` how many
    /// of each row are real.
    pub(crate) fn forward(&self, ids: &Tensor, lengths: &[usize]) -> Result<Tensor> {
        let c = &self.config;
        let (texts, longest) = ids.dims2()?;
        let dim = c.hidden / c.heads;
        let device = ids.device();
        let x = self
            .word
            .index_select(&ids.flatten_all()?, 0)?
            .reshape((texts, longest, c.hidden))?
            .broadcast_add(&self.position.narrow(0, 0, longest)?)?
            .broadcast_add(&self.token_type)?;
        let mut x = self
            .embedding_norm
            .forward(&x)?
            .reshape((texts * longest, c.hidden))?;
        // [texts, 1, 1, longest]: 0 where a key is part of the text, minus infinity on
        // padding (a text always has its [CLS] and [SEP], so no row is all masked).
        let mask: Vec<f32> = lengths
            .iter()
            .flat_map(|&n| (0..longest).map(move |j| if j < n { 0.0 } else { f32::NEG_INFINITY }))
            .collect();
        let mask = Tensor::from_vec(mask, (texts, 1, 1, longest), device)?;
        let scale = 1.0 / (dim as f64).sqrt();
        for layer in &self.layers {
            let qkv = layer.qkv.forward(&x, false)?;
            let part = |i: usize| -> Result<Tensor> {
                qkv.narrow(1, i * c.hidden, c.hidden)?
                    .reshape((texts, longest, c.heads, dim))?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let (q, k, v) = (part(0)?, part(1)?, part(2)?);
            let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(&mask)?;
            let weights = candle_nn::ops::softmax_last_dim(&scores)?;
            let y = weights
                .matmul(&v)?
                .transpose(1, 2)?
                .reshape((texts * longest, c.hidden))?;
            let a = layer
                .attention_norm
                .forward(&(x + layer.output.forward(&y, false)?)?)?;
            let h = layer.up.forward(&a, false)?;
            let h = match c.activation {
                Activation::Gelu => h.gelu_erf()?,
                Activation::GeluTanh => h.gelu()?,
                Activation::Relu => h.relu()?,
            };
            let m = layer.down.forward(&h, false)?;
            x = layer.output_norm.forward(&(a + m)?)?;
        }
        x.reshape((texts, longest, c.hidden))?.to_dtype(DType::F32)
    }
}
