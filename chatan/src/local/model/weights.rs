//! Where a model's tensors come from: a GGUF file (quantized matrices stay quantized)
//! or safetensors files (dense, converted to `f32`).

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::QMatMul;
use candle_core::quantized::gguf_file::Content;
use candle_core::{DType, Device, Result, Tensor};

/// A model's tensors, by name.
pub(crate) enum Weights {
    /// A GGUF file and its parsed header.
    Gguf { content: Content, file: File },
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
            Weights::Gguf { content, file } => content
                .tensor(file, name, &Device::Cpu)?
                .dequantize(&Device::Cpu),
            Weights::Dense(tensors) => tensors
                .get(name)
                .cloned()
                .ok_or_else(|| candle_core::Error::Msg(format!("the model has no tensor {name}"))),
        }
    }

    /// Matrix `name` (`[out, in]`) for a linear layer, quantized if the file is.
    pub(crate) fn matrix(&mut self, name: &str) -> Result<QMatMul> {
        match self {
            Weights::Gguf { content, file } => {
                QMatMul::from_arc(Arc::new(content.tensor(file, name, &Device::Cpu)?))
            }
            Weights::Dense(_) => Ok(QMatMul::Tensor(self.tensor(name)?)),
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
