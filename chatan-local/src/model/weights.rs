//! Where a model's tensors come from: a GGUF file (quantized matrices stay quantized)
//! or safetensors files (dense, converted to `f32`).

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::gguf_file::Content;
use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{DType, Device, Result, Tensor};

use super::{Linear, QuantMatrix};

/// How much memory dense copies of a GGUF's quantized matrices may take (see
/// [`Weights::matrix`]): all of a model of a few hundred million parameters; a larger
/// model keeps some, the rest run quantized only.
pub(crate) const DENSE_BUDGET: usize = 1 << 30;

/// A model's tensors, by name.
pub(crate) enum Weights {
    /// A GGUF file and its parsed header, and how many bytes of dense copies of its
    /// quantized matrices are still allowed.
    Gguf {
        content: Content,
        file: File,
        dense_budget: usize,
    },
    /// The tensors of one or more safetensors files.
    Dense(HashMap<String, Tensor>),
}

impl Weights {
    /// Reads every tensor of `files` (the shards of one checkpoint) as `f32`.
    pub(crate) fn safetensors(files: &[impl AsRef<Path>], device: &Device) -> Result<Self> {
        let mut tensors = HashMap::new();
        for file in files {
            for (name, tensor) in candle_core::safetensors::load(file, device)? {
                tensors.insert(name, tensor.to_dtype(DType::F32)?);
            }
        }
        Ok(Weights::Dense(tensors))
    }

    /// Whether the model has tensor `name`.
    pub(crate) fn has(&self, name: &str) -> bool {
        match self {
            Weights::Gguf { content, .. } => content.tensor_infos.contains_key(name),
            Weights::Dense(tensors) => tensors.contains_key(name),
        }
    }

    /// Tensor `name`, dense `f32`.
    pub(crate) fn tensor(&mut self, name: &str) -> Result<Tensor> {
        match self {
            Weights::Gguf { content, file, .. } => content
                .tensor(file, name, &Device::Cpu)?
                .dequantize(&Device::Cpu),
            Weights::Dense(tensors) => tensors
                .get(name)
                .cloned()
                .ok_or_else(|| candle_core::Error::Msg(format!("the model has no tensor {name}"))),
        }
    }

    /// Matrix `name` (`[out, in]`) for a linear layer, quantized if the file is.
    ///
    /// Q4_1 matrices run as they are on chatan's 4-bit kernel where it runs (AVX2).
    /// Other formats candle has no SIMD kernel for (Q5_0, Q5_1; Q4_1 elsewhere) are
    /// re-quantized to Q8_0, which has one and loses nothing (8 bits hold 4 or 5); Q8_0
    /// matrices run on chatan's 8-bit kernel where it runs, except where candle's int8
    /// tiles do (AVX-512 VNNI), on candle's otherwise. While the budget lasts, a quantized matrix also keeps a dense `f32` copy: a step of many
    /// tokens (a batch, a prompt) runs as one dense matrix product, which reuses each
    /// weight across the tokens, where quantized products redo the work per token.
    pub(crate) fn matrix(&mut self, name: &str) -> Result<Linear> {
        match self {
            Weights::Gguf {
                content,
                file,
                dense_budget,
            } => {
                let q = content.tensor(file, name, &Device::Cpu)?;
                let dense = q.dequantize(&Device::Cpu)?;
                let take_dense = |dense: Tensor, budget: &mut usize| {
                    let bytes = dense.elem_count() * 4;
                    (bytes <= *budget).then(|| {
                        *budget -= bytes;
                        dense
                    })
                };
                // Half the bytes of a Q8_0 copy to read per token. SmolLM2-135M (Q4_1)
                // on 2 AVX-512 VNNI cores, against Q8_0 copies on candle's tiles: 1 row
                // 76-94 -> 105-125 tokens/s; 32 rows 220-250 -> 200-220 (`cargo bench
                // -p bench --bench local`).
                if let Some(q4) = QuantMatrix::q4_1(&q)? {
                    let dense = take_dense(dense, dense_budget);
                    return Linear::quant(q4).with_dense(dense);
                }
                let q = match q.dtype() {
                    GgmlDType::Q4_1 | GgmlDType::Q5_0 | GgmlDType::Q5_1 | GgmlDType::Q8_1 => {
                        QTensor::quantize(&dense, GgmlDType::Q8_0)?
                    }
                    _ => q,
                };
                let (n, k) = dense.dims2()?;
                let tiles = int8_tiles() && std::env::var_os(KERNEL).is_none_or(|k| k != "int8");
                // Elsewhere than on int8 tiles, Q8_0 matrices go to chatan's 8-bit kernel,
                // which reads a matrix once per step whatever the rows (see quant.rs).
                let int8 = match q.dtype() {
                    GgmlDType::Q8_0 if !tiles => QuantMatrix::new(&dense)?,
                    _ => None,
                };
                if let Some(int8) = int8 {
                    let dense = take_dense(dense, dense_budget);
                    return Linear::quant(int8).with_dense(dense);
                }
                // candle multiplies Q8_0 matrices with int8 dot-product tiles (VNNI), many
                // tokens per weight load, when rows are whole 256-wide blocks and come in
                // 16s; other widths fall back to one dot product per token and row. Zero
                // columns make the width whole (the input gets zeros to match).
                let padded = k.next_multiple_of(256);
                let (q, pad) =
                    if q.dtype() == GgmlDType::Q8_0 && padded != k && n % 16 == 0 && tiles {
                        let wide = dense.pad_with_zeros(1, 0, padded - k)?;
                        (QTensor::quantize(&wide, GgmlDType::Q8_0)?, padded - k)
                    } else {
                        (q, 0)
                    };
                let quantized = QMatMul::from_arc(Arc::new(q))?;
                let dense = match quantized {
                    QMatMul::QTensor(_) => take_dense(dense, dense_budget),
                    _ => None,
                };
                Ok(Linear::new(quantized, None)
                    .with_dense(dense)?
                    .with_padding(pad))
            }
            Weights::Dense(_) => Ok(Linear::new(QMatMul::Tensor(self.tensor(name)?), None)),
        }
    }

    /// Tensor `name` if the model has it.
    pub(crate) fn optional(&mut self, name: &str) -> Result<Option<Tensor>> {
        if self.has(name) {
            self.tensor(name).map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Set to `int8`, the environment variable that has chatan's 8-bit kernel run where
/// candle's int8 tiles would (to test or measure it on a CPU that has them): with it, a
/// model runs on chatan's kernels only, as on a CPU with AVX2 and no AVX-512 VNNI.
const KERNEL: &str = "CHATAN_LOCAL_KERNEL";

/// Whether candle's int8 tile kernels run on this CPU: AVX-512 VNNI. (candle also has
/// them for AVX-VNNI without AVX-512; detecting that needs a newer Rust than chatan's
/// minimum, so such CPUs keep the unpadded path.)
fn int8_tiles() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}
