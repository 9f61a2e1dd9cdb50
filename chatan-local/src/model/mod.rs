//! The transformer models a [`Local`](super::Local) runs, written for batches: one
//! forward pass takes any number of sequences, each with its own key/value cache and
//! its own number of new tokens (a whole prompt for a sequence just admitted, one token
//! for a sequence decoding). The projections and the MLP run once over the tokens of all
//! sequences; only attention, which reads each sequence's own cache, runs per sequence.

pub(crate) mod bert;
pub(crate) mod gpt2;
pub(crate) mod llama;
#[cfg(target_arch = "x86_64")]
mod quant;
mod weights;

/// Where chatan's kernels have no instructions to run on, they are never built.
#[cfg(not(target_arch = "x86_64"))]
mod quant {
    use candle_core::{Result, Tensor};

    pub(crate) enum QuantMatrix {}

    impl QuantMatrix {
        pub(crate) fn new(_: &Tensor) -> Result<Option<Self>> {
            Ok(None)
        }

        pub(crate) fn q4_1(_: &candle_core::quantized::QTensor) -> Result<Option<Self>> {
            Ok(None)
        }

        pub(crate) fn forward(&self, _: &Tensor) -> Result<Tensor> {
            match *self {}
        }

        pub(crate) fn forward_all(matrices: &[&Self], _: &Tensor) -> Result<Vec<Tensor>> {
            match *matrices[0] {}
        }
    }
}

use candle_core::quantized::QMatMul;
use candle_core::{DType, Device, Module, Result, Tensor};

pub(crate) use self::quant::QuantMatrix;
pub(crate) use self::weights::{DENSE_BUDGET, Weights};

/// A model that continues sequences.
pub(crate) trait Model: Send {
    /// Feeds each sequence its new tokens (appending them to its cache) and returns the
    /// next-token logits after each, `[batch, vocab]`.
    fn forward(&self, batch: &mut [Sequence<'_>]) -> Result<Tensor>;

    /// A cache for one new sequence.
    fn cache(&self) -> Cache;

    /// The most positions a sequence may have.
    fn max_positions(&self) -> usize;
}

/// One sequence's part of a forward pass.
pub(crate) struct Sequence<'a> {
    /// The tokens not yet fed.
    pub(crate) tokens: &'a [u32],
    /// What the model has seen of this sequence.
    pub(crate) cache: &'a mut Cache,
}

/// One sequence's keys and values, per layer: `[kv_heads, capacity, head_dim]` tensors
/// filled up to `len`, grown by doubling, so a decode step writes one position instead
/// of copying the whole history.
pub(crate) struct Cache {
    layers: Vec<Option<(Tensor, Tensor)>>,
    len: usize,
}

impl Cache {
    pub(crate) fn new(layers: usize) -> Self {
        Cache {
            layers: (0..layers).map(|_| None).collect(),
            len: 0,
        }
    }

    /// The positions seen so far.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Copies of the keys and values of positions `start..start + n`, per layer.
    pub(crate) fn block(&self, start: usize, n: usize) -> Result<Vec<(Tensor, Tensor)>> {
        self.layers
            .iter()
            .map(|layer| {
                let (k, v) = layer
                    .as_ref()
                    .ok_or_else(|| candle_core::Error::Msg("an empty cache has no block".into()))?;
                Ok((
                    k.narrow(1, start, n)?.force_contiguous()?,
                    v.narrow(1, start, n)?.force_contiguous()?,
                ))
            })
            .collect()
    }

    /// Appends the keys and values of positions another cache gave by [`Cache::block`].
    pub(crate) fn extend(&mut self, block: &[(Tensor, Tensor)]) -> Result<()> {
        for (layer, (k, v)) in block.iter().enumerate() {
            self.append(layer, k, v)?;
        }
        Ok(())
    }

    /// Appends `k`, `v` (`[kv_heads, n, head_dim]`) to layer `layer` and returns the
    /// keys and values of every position so far. The last layer's append advances `len`.
    fn append(&mut self, layer: usize, k: &Tensor, v: &Tensor) -> Result<(Tensor, Tensor)> {
        let (heads, n, dim) = k.dims3()?;
        let total = self.len + n;
        let grow = match &self.layers[layer] {
            Some((cached, _)) => cached.dim(1)? < total,
            None => true,
        };
        if grow {
            let capacity = total.next_power_of_two().max(64);
            let fresh = || Tensor::zeros((heads, capacity, dim), k.dtype(), k.device());
            let (nk, nv) = (fresh()?, fresh()?);
            if let Some((ok, ov)) = &self.layers[layer] {
                nk.slice_set(&ok.narrow(1, 0, self.len)?.contiguous()?, 1, 0)?;
                nv.slice_set(&ov.narrow(1, 0, self.len)?.contiguous()?, 1, 0)?;
            }
            self.layers[layer] = Some((nk, nv));
        }
        let (ck, cv) = self.layers[layer].as_ref().expect("allocated above");
        // slice_set writes along dim 1 of a contiguous [heads, capacity, dim] tensor.
        ck.slice_set(&k.contiguous()?, 1, self.len)?;
        cv.slice_set(&v.contiguous()?, 1, self.len)?;
        let out = (ck.narrow(1, 0, total)?, cv.narrow(1, 0, total)?);
        if layer + 1 == self.layers.len() {
            self.len = total;
        }
        Ok(out)
    }
}

/// A linear layer: a quantized or dense `[out, in]` matrix and an optional bias; a
/// quantized one may keep a dense copy for steps of many tokens.
pub(crate) struct Linear {
    weight: Weight,
    dense: Option<Tensor>,
    bias: Option<Tensor>,
    /// Zero columns the quantized matrix has beyond the input's width.
    padding: usize,
}

/// How a linear layer's matrix is multiplied.
enum Weight {
    /// By candle: a dense matrix, or a quantized one in a format chatan's kernels do not
    /// take (or on a CPU they do not run on, or a Q8_0 one with AVX-512 VNNI tiles).
    Candle(QMatMul),
    /// By chatan's 4- or 8-bit kernel, which reads the matrix once per step for all its
    /// rows.
    Quant(QuantMatrix),
}

/// From this many tokens on, a lone sequence's step (a prompt) multiplies by a layer's
/// dense copy. Measured on SmolLM2-135M with 2 cores: quantized (Q8_0) products cost the
/// same per token at any count, dense ones less the more tokens share them (decoding 8
/// rows at once: 75 tokens/s dense, 104 quantized; 32 rows: 128 dense).
///
/// Steps of several sequences always run quantized, where each token's numbers are
/// computed alone: a row's text must not depend on which rows shared its steps.
const DENSE_FROM: usize = 16;

impl Linear {
    pub(crate) fn new(weight: QMatMul, bias: Option<Tensor>) -> Self {
        Linear {
            weight: Weight::Candle(weight),
            dense: None,
            bias,
            padding: 0,
        }
    }

    /// A layer multiplied by chatan's 4- or 8-bit kernel.
    pub(crate) fn quant(weight: QuantMatrix) -> Self {
        Linear {
            weight: Weight::Quant(weight),
            dense: None,
            bias: None,
            padding: 0,
        }
    }

    pub(crate) fn with_padding(mut self, padding: usize) -> Self {
        self.padding = padding;
        self
    }

    /// A dense `[out, in]` copy of the matrix, kept transposed (`[in, out]`, contiguous):
    /// multiplying by a transposed view made gemm repack the whole matrix on every call,
    /// 40% of a long prompt's time.
    pub(crate) fn with_dense(mut self, dense: Option<Tensor>) -> Result<Self> {
        self.dense = dense.map(|d| d.t()?.contiguous()).transpose()?;
        Ok(self)
    }

    pub(crate) fn with_bias(mut self, bias: Option<Tensor>) -> Self {
        self.bias = bias;
        self
    }

    /// `x` is `[tokens, in]`; `alone` says they are one sequence's (see [`DENSE_FROM`]).
    pub(crate) fn forward(&self, x: &Tensor, alone: bool) -> Result<Tensor> {
        let y = match (&self.dense, &self.weight) {
            (Some(dense), _) if alone && x.dim(0)? >= DENSE_FROM => x.matmul(dense)?,
            (_, Weight::Quant(weight)) => weight.forward(x)?,
            (_, Weight::Candle(weight)) if self.padding > 0 => {
                weight.forward(&x.pad_with_zeros(1, 0, self.padding)?)?
            }
            (_, Weight::Candle(weight)) => weight.forward(x)?,
        };
        self.add_bias(y)
    }

    /// `x` times each of `layers`, which take the same input: the numbers of
    /// [`Linear::forward`] on each, in one pass of chatan's kernels where all of them
    /// run on it (one quantized input, one meeting of the threads, instead of `N`).
    pub(crate) fn forward_all<const N: usize>(
        layers: [&Linear; N],
        x: &Tensor,
        alone: bool,
    ) -> Result<[Tensor; N]> {
        let dense = alone && x.dim(0)? >= DENSE_FROM;
        let kernels: Option<Vec<&QuantMatrix>> = layers
            .iter()
            .map(|l| match (&l.weight, &l.dense) {
                (_, Some(_)) if dense => None,
                (Weight::Quant(m), _) => Some(m),
                (Weight::Candle(_), _) => None,
            })
            .collect();
        let ys = match kernels {
            Some(matrices) => QuantMatrix::forward_all(&matrices, x)?
                .into_iter()
                .zip(layers)
                .map(|(y, l)| l.add_bias(y))
                .collect::<Result<Vec<_>>>()?,
            None => layers
                .iter()
                .map(|l| l.forward(x, alone))
                .collect::<Result<Vec<_>>>()?,
        };
        Ok(ys.try_into().expect("one result per layer"))
    }

    fn add_bias(&self, y: Tensor) -> Result<Tensor> {
        match &self.bias {
            Some(bias) => y.broadcast_add(bias),
            None => Ok(y),
        }
    }
}

/// Layer normalisation with a weight and a bias (GPT-2, BERT).
pub(crate) struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl LayerNorm {
    /// `{name}.weight` and `{name}.bias`.
    pub(crate) fn load(w: &mut Weights, name: &str, eps: f64) -> Result<Self> {
        Ok(LayerNorm {
            weight: w.tensor(&format!("{name}.weight"))?,
            bias: w.tensor(&format!("{name}.bias"))?,
            eps: eps as f32,
        })
    }

    /// Normalises the last dimension of `x`.
    pub(crate) fn forward(&self, x: &Tensor) -> Result<Tensor> {
        candle_nn::ops::layer_norm(x, &self.weight, &self.bias, self.eps)
    }
}

/// The positions of the new tokens of every sequence, in order, as a `u32` tensor.
pub(crate) fn positions(batch: &[Sequence<'_>], device: &Device) -> Result<Tensor> {
    let ids: Vec<u32> = batch
        .iter()
        .flat_map(|s| (s.cache.len()..s.cache.len() + s.tokens.len()).map(|p| p as u32))
        .collect();
    Tensor::new(ids.as_slice(), device)
}

/// The new tokens of every sequence, in order.
pub(crate) fn tokens(batch: &[Sequence<'_>], device: &Device) -> Result<Tensor> {
    let ids: Vec<u32> = batch
        .iter()
        .flat_map(|s| s.tokens.iter().copied())
        .collect();
    Tensor::new(ids.as_slice(), device)
}

/// The hidden state of each sequence's last new token: `[batch, hidden]` out of
/// `[tokens, hidden]`.
pub(crate) fn last_tokens(x: &Tensor, batch: &[Sequence<'_>]) -> Result<Tensor> {
    let mut end = 0u32;
    let rows: Vec<u32> = batch
        .iter()
        .map(|s| {
            end += s.tokens.len() as u32;
            end - 1
        })
        .collect();
    x.index_select(&Tensor::new(rows.as_slice(), x.device())?, 0)
}

/// Causal self-attention of every sequence over its own cache.
///
/// `q` is `[tokens, heads, head_dim]`, `k` and `v` `[tokens, kv_heads, head_dim]`, with
/// the tokens of the sequences of `batch` in order; positions are already encoded. Heads
/// share a key/value head in groups (grouped-query attention) without copying it.
/// Returns `[tokens, heads * head_dim]`.
pub(crate) fn attend(
    layer: usize,
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    batch: &mut [Sequence<'_>],
) -> Result<Tensor> {
    let (_, heads, dim) = q.dims3()?;
    let kv_heads = k.dim(1)?;
    let group = heads / kv_heads;
    let scale = 1.0 / (dim as f64).sqrt();
    let mut out = Vec::with_capacity(batch.len());
    let mut offset = 0;
    for sequence in batch.iter_mut() {
        let n = sequence.tokens.len();
        let past = sequence.cache.len();
        let q = q.narrow(0, offset, n)?.transpose(0, 1)?.contiguous()?;
        let k = k.narrow(0, offset, n)?.transpose(0, 1)?;
        let v = v.narrow(0, offset, n)?.transpose(0, 1)?;
        let (k, v) = sequence.cache.append(layer, &k, &v)?;
        let total = past + n;
        // [kv_heads, group * n, dim]: the heads of a group share one key/value head.
        let q = q.reshape((kv_heads, group * n, dim))?;
        let mut scores = (q.matmul(&k.t()?)? * scale)?;
        if n > 1 {
            let mask = causal_mask(n, past, q.device())?;
            scores = scores
                .reshape((kv_heads, group, n, total))?
                .broadcast_add(&mask)?
                .reshape((kv_heads, group * n, total))?;
        }
        let weights = candle_nn::ops::softmax_last_dim(&scores)?;
        let y = weights.matmul(&v)?;
        out.push(
            y.reshape((heads, n, dim))?
                .transpose(0, 1)?
                .reshape((n, heads * dim))?,
        );
        offset += n;
    }
    Tensor::cat(&out, 0)
}

/// `[n, past + n]`: 0 where query `i` (at position `past + i`) may look, minus infinity
/// where it may not (later positions).
fn causal_mask(n: usize, past: usize, device: &Device) -> Result<Tensor> {
    let total = past + n;
    let mask: Vec<f32> = (0..n)
        .flat_map(|i| (0..total).map(move |j| if j > past + i { f32::NEG_INFINITY } else { 0.0 }))
        .collect();
    Tensor::from_vec(mask, (n, total), device)
}

/// The rotary-embedding tables: `cos` and `sin` of `[positions, rotary_dim / 2]`.
pub(crate) fn rotary_tables(
    rotary_dim: usize,
    theta: f64,
    positions: usize,
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let inverse: Vec<f32> = (0..rotary_dim)
        .step_by(2)
        .map(|i| (1.0 / theta.powf(i as f64 / rotary_dim as f64)) as f32)
        .collect();
    let inverse = Tensor::new(inverse.as_slice(), device)?.unsqueeze(0)?;
    let t = Tensor::arange(0u32, positions as u32, device)?
        .to_dtype(DType::F32)?
        .unsqueeze(1)?;
    let angles = t.broadcast_mul(&inverse)?;
    Ok((angles.cos()?, angles.sin()?))
}

/// The logits a `[batch, hidden]` state gives through `head`, as `f32`.
pub(crate) fn logits(head: &Linear, x: &Tensor) -> Result<Tensor> {
    head.forward(x, false)?.to_dtype(DType::F32)
}

/// Integer `key` of a `config.json`.
pub(crate) fn config_int(
    config: &serde_json::Value,
    key: &str,
) -> std::result::Result<usize, String> {
    config
        .get(key)
        .and_then(serde_json::Value::as_u64)
        .map(|n| n as usize)
        .ok_or_else(|| format!("config.json has no integer {key:?}"))
}

/// Number `key` of a `config.json`, or `default`.
pub(crate) fn config_float(config: &serde_json::Value, key: &str, default: f64) -> f64 {
    config
        .get(key)
        .and_then(serde_json::Value::as_f64)
        .unwrap_or(default)
}
