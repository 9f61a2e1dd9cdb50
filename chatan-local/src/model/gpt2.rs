//! GPT-2 (the seed's `model="gpt2"`), written here on candle's operations since
//! candle-transformers has none: learned positions, pre-norm blocks with LayerNorm, one
//! fused query/key/value projection, a GELU MLP, the output head tied to the token
//! embedding. Hugging Face stores its projections as `Conv1D` (`[in, out]`); they are
//! transposed once, at load.

use candle_core::{Result, Tensor};

use super::{
    Cache, LayerNorm, Linear, Model, Sequence, Weights, attend, last_tokens, positions, tokens,
};

/// The shape of a GPT-2 model, from its `config.json`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Config {
    pub(crate) hidden: usize,
    pub(crate) heads: usize,
    pub(crate) layers: usize,
    pub(crate) max_positions: usize,
    pub(crate) eps: f64,
}

impl Config {
    pub(crate) fn from_json(config: &serde_json::Value) -> std::result::Result<Self, String> {
        let int = |key: &str| super::config_int(config, key);
        Ok(Config {
            hidden: int("n_embd")?,
            heads: int("n_head")?,
            layers: int("n_layer")?,
            max_positions: int("n_positions").or_else(|_| int("n_ctx"))?,
            eps: super::config_float(config, "layer_norm_epsilon", 1e-5),
        })
    }
}

struct Block {
    ln_1: LayerNorm,
    attention: Linear,
    projection: Linear,
    ln_2: LayerNorm,
    fc: Linear,
    fc_projection: Linear,
}

/// A loaded GPT-2.
pub(crate) struct Gpt2 {
    config: Config,
    token_embedding: Tensor,
    position_embedding: Tensor,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    head: Linear,
}

/// A `Conv1D` layer (`[in, out]` weight) as a linear layer.
fn conv1d(w: &mut Weights, name: &str) -> Result<Linear> {
    let weight = w.tensor(&format!("{name}.weight"))?.t()?.contiguous()?;
    let bias = w.tensor(&format!("{name}.bias"))?;
    Ok(Linear::new(
        candle_core::quantized::QMatMul::Tensor(weight),
        Some(bias),
    ))
}

impl Gpt2 {
    pub(crate) fn load(config: Config, mut w: Weights) -> Result<Self> {
        // `GPT2LMHeadModel` checkpoints prefix the body with `transformer.`; the hub's
        // `gpt2` does not.
        let prefix = if w.has("transformer.wte.weight") {
            "transformer."
        } else {
            ""
        };
        let token_embedding = w.tensor(&format!("{prefix}wte.weight"))?;
        let position_embedding = w.tensor(&format!("{prefix}wpe.weight"))?;
        let mut blocks = Vec::with_capacity(config.layers);
        for l in 0..config.layers {
            let p = format!("{prefix}h.{l}");
            blocks.push(Block {
                ln_1: LayerNorm::load(&mut w, &format!("{p}.ln_1"), config.eps)?,
                attention: conv1d(&mut w, &format!("{p}.attn.c_attn"))?,
                projection: conv1d(&mut w, &format!("{p}.attn.c_proj"))?,
                ln_2: LayerNorm::load(&mut w, &format!("{p}.ln_2"), config.eps)?,
                fc: conv1d(&mut w, &format!("{p}.mlp.c_fc"))?,
                fc_projection: conv1d(&mut w, &format!("{p}.mlp.c_proj"))?,
            });
        }
        let ln_f = LayerNorm::load(&mut w, &format!("{prefix}ln_f"), config.eps)?;
        let head = Linear::new(
            candle_core::quantized::QMatMul::Tensor(token_embedding.clone()),
            None,
        );
        Ok(Gpt2 {
            config,
            token_embedding,
            position_embedding,
            blocks,
            ln_f,
            head,
        })
    }
}

impl Model for Gpt2 {
    fn forward(&self, batch: &mut [Sequence<'_>]) -> Result<Tensor> {
        let c = &self.config;
        let dim = c.hidden / c.heads;
        let device = self.token_embedding.device();
        let ids = tokens(batch, device)?;
        let at = positions(batch, device)?;
        let n = ids.dim(0)?;
        let alone = batch.len() == 1;
        let mut x = (self.token_embedding.index_select(&ids, 0)?
            + self.position_embedding.index_select(&at, 0)?)?;
        for (l, block) in self.blocks.iter().enumerate() {
            let h = block.ln_1.forward(&x)?;
            let qkv = block.attention.forward(&h, alone)?;
            let part = |i: usize| -> Result<Tensor> {
                qkv.narrow(1, i * c.hidden, c.hidden)?
                    .reshape((n, c.heads, dim))
            };
            let y = attend(l, &part(0)?, &part(1)?, &part(2)?, batch)?;
            x = (x + block.projection.forward(&y, alone)?)?;
            let h = block.ln_2.forward(&x)?;
            let m = block
                .fc_projection
                .forward(&block.fc.forward(&h, alone)?.gelu()?, alone)?;
            x = (x + m)?;
        }
        let x = self.ln_f.forward(&last_tokens(&x, batch)?)?;
        super::logits(&self.head, &x)
    }

    fn cache(&self) -> Cache {
        Cache::new(self.config.layers)
    }

    fn max_positions(&self) -> usize {
        self.config.max_positions
    }
}
