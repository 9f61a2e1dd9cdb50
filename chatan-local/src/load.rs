//! Finding and loading a model: a GGUF file, or a Hugging Face model folder
//! (`config.json`, `tokenizer.json`, `*.safetensors`, and `tokenizer_config.json` /
//! `generation_config.json` when present), with its tokenizer, chat template and
//! end-of-sequence tokens.

use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file::Content;
use tokenizers::Tokenizer;

use super::chat::ChatTemplate;
use super::model::{Model, Weights, gpt2, llama};

/// The architectures chatan runs, as `model_type` / GGUF `general.architecture` names.
pub(crate) const SUPPORTED: &str = "gpt2 (safetensors), llama (SmolLM2, TinyLlama, Llama: \
                                    safetensors or GGUF) and qwen2 (safetensors or GGUF)";

/// A model ready to run.
pub(crate) struct Loaded {
    pub(crate) model: Box<dyn Model>,
    pub(crate) tokenizer: Tokenizer,
    pub(crate) chat: Option<ChatTemplate>,
    pub(crate) eos: Vec<u32>,
    pub(crate) name: String,
}

/// Loads the model at `path`: a `.gguf` file, or a folder holding a Hugging Face
/// checkpoint (or a single GGUF file).
pub(crate) fn load(path: &Path) -> Result<Loaded, String> {
    if path.is_dir() {
        if path.join("config.json").exists() {
            return folder(path);
        }
        let ggufs: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| e.to_string())?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "gguf"))
            .collect();
        return match ggufs.as_slice() {
            [one] => gguf(one),
            [] => Err(
                "the folder has neither a config.json (a Hugging Face checkpoint) nor a \
                       .gguf file"
                    .into(),
            ),
            _ => Err("the folder has several .gguf files: name the one to load".into()),
        };
    }
    if !path.exists() {
        return Err("no such file or folder".into());
    }
    gguf(path)
}

pub(crate) fn read_json(path: &Path) -> Result<Option<serde_json::Value>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// A token's text in `tokenizer_config.json` (`"</s>"` or `{"content": "</s>", ..}`).
fn token_text(value: Option<&serde_json::Value>) -> Option<String> {
    match value? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Object(o) => o.get("content")?.as_str().map(str::to_owned),
        _ => None,
    }
}

/// Token ids from `eos_token_id` (one id or a list).
fn ids(value: Option<&serde_json::Value>) -> Vec<u32> {
    match value {
        Some(serde_json::Value::Number(n)) => {
            n.as_u64().map(|n| vec![n as u32]).unwrap_or_default()
        }
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|n| n.as_u64().map(|n| n as u32))
            .collect(),
        _ => Vec::new(),
    }
}

/// The chat template of `tokenizer_config.json` (a string, or named templates of which
/// `default` is taken), or of `chat_template.jinja` beside it.
fn chat_template(dir: &Path, config: Option<&serde_json::Value>) -> Result<Option<String>, String> {
    let from_config = config.and_then(|c| match c.get("chat_template")? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Array(named) => named
            .iter()
            .find(|t| t.get("name").and_then(|n| n.as_str()) == Some("default"))
            .and_then(|t| t.get("template")?.as_str().map(str::to_owned)),
        _ => None,
    });
    if from_config.is_some() {
        return Ok(from_config);
    }
    match std::fs::read_to_string(dir.join("chat_template.jinja")) {
        Ok(source) => Ok(Some(source)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// A Hugging Face checkpoint folder.
fn folder(dir: &Path) -> Result<Loaded, String> {
    let config = read_json(&dir.join("config.json"))?.ok_or("config.json is missing")?;
    let tokenizer_path = dir.join("tokenizer.json");
    if !tokenizer_path.exists() {
        return Err(
            "tokenizer.json is missing: chatan reads a checkpoint's tokenizer from it".into(),
        );
    }
    let tokenizer = Tokenizer::from_file(&tokenizer_path)
        .map_err(|e| format!("{}: {e}", tokenizer_path.display()))?;
    let tokenizer_config = read_json(&dir.join("tokenizer_config.json"))?;
    let generation = read_json(&dir.join("generation_config.json"))?;
    let bos = token_text(tokenizer_config.as_ref().and_then(|c| c.get("bos_token")));
    let eos_text = token_text(tokenizer_config.as_ref().and_then(|c| c.get("eos_token")));
    let mut eos = ids(generation.as_ref().and_then(|g| g.get("eos_token_id")));
    if eos.is_empty() {
        eos = ids(config.get("eos_token_id"));
    }
    if eos.is_empty() {
        eos.extend(eos_text.as_deref().and_then(|t| tokenizer.token_to_id(t)));
    }
    let chat = chat_template(dir, tokenizer_config.as_ref())?
        .map(|source| {
            ChatTemplate::new(
                source,
                bos.unwrap_or_default(),
                eos_text.unwrap_or_default(),
            )
        })
        .transpose()?;
    let weights = safetensors(dir)?;
    let model_type = config
        .get("model_type")
        .and_then(|t| t.as_str())
        .unwrap_or("");
    let model: Box<dyn Model> = match model_type {
        "gpt2" => Box::new(
            gpt2::Gpt2::load(gpt2::Config::from_json(&config)?, weights)
                .map_err(|e| e.to_string())?,
        ),
        "llama" | "qwen2" => Box::new(
            llama::Llama::load(llama::Config::from_json(&config)?, weights)
                .map_err(|e| e.to_string())?,
        ),
        other => {
            return Err(format!(
                "model_type {other:?} is not supported; chatan runs {SUPPORTED}"
            ));
        }
    };
    Ok(Loaded {
        model,
        tokenizer,
        chat,
        eos,
        name: name_of(dir),
    })
}

/// The tensors of every `*.safetensors` file in `dir` (the shards of one checkpoint).
pub(crate) fn safetensors(dir: &Path) -> Result<Weights, String> {
    let mut shards: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    shards.sort();
    if shards.is_empty() {
        return Err("the folder has no .safetensors weights".into());
    }
    Weights::safetensors(&shards, &candle_core::Device::Cpu).map_err(|e| e.to_string())
}

/// A GGUF file: its tokenizer is the `tokenizer.json` beside it, or else built from
/// its own metadata.
fn gguf(path: &Path) -> Result<Loaded, String> {
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let content = Content::read(&mut file).map_err(|e| format!("not a GGUF file ({e})"))?;
    let text = |key: &str| {
        content
            .metadata
            .get(key)
            .and_then(|v| v.to_string().ok())
            .cloned()
    };
    let architecture = text("general.architecture").unwrap_or_default();
    if !matches!(architecture.as_str(), "llama" | "qwen2") {
        return Err(format!(
            "architecture {architecture:?} is not supported; chatan runs {SUPPORTED}"
        ));
    }
    let config = llama::Config::from_gguf(&content, &architecture)?;
    let beside = path.with_file_name("tokenizer.json");
    let tokenizer = if beside.exists() {
        Tokenizer::from_file(&beside).map_err(|e| format!("{}: {e}", beside.display()))?
    } else {
        super::tokenizer::from_gguf(&content)?
    };
    let token = |key: &str| -> Option<(u32, String)> {
        let id = content.metadata.get(key)?.to_u32().ok()?;
        Some((id, tokenizer.id_to_token(id)?))
    };
    let eos = token("tokenizer.ggml.eos_token_id");
    let bos = token("tokenizer.ggml.bos_token_id");
    let chat = text("tokenizer.chat_template")
        .map(|source| {
            ChatTemplate::new(
                source,
                bos.map(|b| b.1).unwrap_or_default(),
                eos.clone().map(|e| e.1).unwrap_or_default(),
            )
        })
        .transpose()?;
    let weights = Weights::Gguf {
        content,
        file,
        dense_budget: super::model::DENSE_BUDGET,
    };
    let model = llama::Llama::load(config, weights).map_err(|e| e.to_string())?;
    Ok(Loaded {
        model: Box::new(model),
        tokenizer,
        chat,
        eos: eos.map(|e| vec![e.0]).unwrap_or_default(),
        name: name_of(path),
    })
}

/// A model's name for reports: the file's stem or the folder's name.
fn name_of(path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    let stem = if path.is_dir() {
        path.file_name()
    } else {
        path.file_stem()
    };
    stem.map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}
