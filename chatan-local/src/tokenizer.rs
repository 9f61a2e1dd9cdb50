//! A tokenizer built from a GGUF file's own metadata (`tokenizer.ggml.*`), for models
//! shipped without a `tokenizer.json`: byte-level BPE (`tokenizer.ggml.model = "gpt2"`)
//! from the token list and the merges, with the control tokens (`<|im_start|>`, ...)
//! as special tokens that encode whole.

use candle_core::quantized::gguf_file::{Content, Value};
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::{AddedToken, Tokenizer};

/// Why a tokenizer could not be built.
pub(crate) fn from_gguf(content: &Content) -> Result<Tokenizer, String> {
    let meta = &content.metadata;
    let kind = meta
        .get("tokenizer.ggml.model")
        .and_then(|v| v.to_string().ok())
        .map(String::as_str);
    if kind != Some("gpt2") {
        return Err(format!(
            "the GGUF's tokenizer is {:?}; chatan builds byte-level BPE (\"gpt2\") tokenizers \
             from GGUF metadata: put the model's tokenizer.json beside it",
            kind.unwrap_or("missing")
        ));
    }
    let strings = |key: &str| -> Result<Vec<String>, String> {
        let Some(Value::Array(values)) = meta.get(key) else {
            return Err(format!("the GGUF has no {key}"));
        };
        values
            .iter()
            .map(|v| v.to_string().cloned().map_err(|e| format!("{key}: {e}")))
            .collect()
    };
    let tokens = strings("tokenizer.ggml.tokens")?;
    let merges = strings("tokenizer.ggml.merges")?;
    let types: Vec<i32> = match meta.get("tokenizer.ggml.token_type") {
        Some(Value::Array(values)) => values.iter().map(|v| v.to_i32().unwrap_or(1)).collect(),
        _ => vec![1; tokens.len()],
    };
    let vocab: tokenizers::models::bpe::Vocab = tokens
        .iter()
        .enumerate()
        .map(|(id, token)| (token.clone(), id as u32))
        .collect();
    let merges: tokenizers::models::bpe::Merges = merges
        .iter()
        .filter_map(|m| m.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())))
        .collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| format!("the GGUF's BPE tokenizer is invalid: {e}"))?;
    let mut tokenizer = Tokenizer::new(bpe);
    tokenizer.with_pre_tokenizer(Some(ByteLevel::new(false, true, true)));
    tokenizer.with_decoder(Some(ByteLevelDecoder::new(false, true, true)));
    // Control tokens (type 3) and user-defined ones (type 4) encode whole.
    let special: Vec<AddedToken> = tokens
        .iter()
        .zip(&types)
        .filter(|(_, t)| matches!(t, 3 | 4))
        .map(|(token, _)| AddedToken::from(token.clone(), true))
        .collect();
    tokenizer
        .add_special_tokens(special)
        .map_err(|e| format!("the GGUF's special tokens: {e}"))?;
    Ok(tokenizer)
}
