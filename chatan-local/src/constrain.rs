//! Decoding held to a JSON schema: at every step, a mask of the tokens that can still
//! lead to a reply matching the column's schema, so a structured reply always parses
//! and fits its constraints (enum values, integer ranges, required fields).
//!
//! The masks come from llguidance (Microsoft's guidance parser; a crate with no
//! tokenizer dependency of its own). Measured against outlines-core on SmolLM2's 49 152
//! tokens and a judge's schema (`{score: 1..=10, reason: string}`), release builds, one
//! run: llguidance 8.4 µs a token (0.37 ms to compile a row's grammar, 130 ms once per
//! model for the vocabulary); outlines-core 52.6 µs a token (36 ms per schema for its
//! index), and outlines-core needs `tokenizers` 0.22 with the C library oniguruma, a
//! second tokenizers beside this crate's.

use std::sync::Arc;

use llguidance::toktrie::{ApproximateTokEnv, SimpleVob, TokEnv, TokRxInfo, TokTrie};
use llguidance::{Matcher, ParserFactory};

/// How many tokens before its budget ends a structured reply starts closing what it has
/// open (at most half its budget): a string's closing quote, then the object's remaining
/// properties and braces. Without it, a free-text property runs to the budget and the
/// reply is cut. The model spells the keys still to come token by token under the mask,
/// often in small pieces: three short properties after a string took 30-35 tokens on
/// SmolLM2, hence twice that.
pub(crate) const CLOSING_RESERVE: usize = 64;

/// What masks are made from, built once per model (on the first structured request).
pub(crate) struct Grammars {
    factory: ParserFactory,
    /// The tokens that begin by closing something: `"`, `}` or `]`.
    closing: SimpleVob,
}

impl Grammars {
    /// The vocabulary of `tokenizer` (its bytes per token), with `eos` as the token
    /// that ends a reply.
    pub(crate) fn new(tokenizer: &tokenizers::Tokenizer, eos: u32) -> Result<Self, String> {
        let json = tokenizer.to_string(false).map_err(|e| {
            format!("the tokenizer could not be read for constrained decoding: {e}")
        })?;
        let json: serde_json::Value = serde_json::from_str(&json).map_err(|e| e.to_string())?;
        let words = llguidance::token_bytes_from_tokenizer_json(&json)
            .map_err(|e| format!("the tokenizer's tokens could not be read as bytes: {e}"))?;
        let mut closing = SimpleVob::alloc(words.len());
        for (token, word) in words.iter().enumerate() {
            if matches!(word.first(), Some(b'"' | b'}' | b']')) {
                closing.allow_token(token as u32);
            }
        }
        let info = TokRxInfo::new(words.len() as u32, eos);
        let trie = TokTrie::from(&info, &words);
        let env: TokEnv = Arc::new(ApproximateTokEnv::new(trie));
        let mut factory = ParserFactory::new_simple(&env).map_err(|e| e.to_string())?;
        factory.quiet();
        Ok(Grammars { factory, closing })
    }

    /// A matcher for one reply that must match `shape`: a JSON schema, or a regular
    /// expression.
    pub(crate) fn matcher(&self, shape: &chatan_core::Shape) -> Result<Matcher, String> {
        let grammar = match shape {
            chatan_core::Shape::Json(schema) => {
                let mut schema = schema.clone();
                closed(&mut schema);
                // JSON as one line with fixed separators: with whitespace left free, a
                // small model can fill its whole budget with newlines between two tokens
                // of structure.
                if let Some(object) = schema.as_object_mut() {
                    object.insert(
                        "x-guidance".into(),
                        serde_json::json!({
                            "whitespace_flexible": false,
                            "item_separator": ", ",
                            "key_separator": ": ",
                        }),
                    );
                }
                llguidance::api::TopLevelGrammar::from_json_schema(schema)
            }
            chatan_core::Shape::Regex(regex) => llguidance::api::TopLevelGrammar::from_regex(regex),
            other => return Err(format!("a reply shape this model cannot hold: {other:?}")),
        };
        let parser = self.factory.create_parser(grammar).map_err(|e| {
            format!("the reply's shape could not be compiled for constrained decoding: {e}")
        })?;
        let matcher = Matcher::new(Ok(parser));
        match matcher.get_error() {
            Some(error) => Err(error),
            None => Ok(matcher),
        }
    }
}

/// Objects in `schema` that do not say whether they take properties beyond the ones
/// they list take none: JSON Schema allows them by default, and a small model held to
/// such a schema goes on inventing properties until its token budget runs out (seen on
/// SmolLM2: 9 of 48 judge replies). The reply's type ignores them anyway.
fn closed(schema: &mut serde_json::Value) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if object.contains_key("properties") && !object.contains_key("additionalProperties") {
        object.insert("additionalProperties".into(), false.into());
    }
    // The keywords whose values are schemas, maps of schemas, or lists of schemas.
    for (keyword, value) in object.iter_mut() {
        match keyword.as_str() {
            "items" | "additionalProperties" | "not" | "contains" => closed(value),
            "properties" | "$defs" | "definitions" | "patternProperties" => {
                if let Some(map) = value.as_object_mut() {
                    map.values_mut().for_each(closed);
                }
            }
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                if let Some(list) = value.as_array_mut() {
                    list.iter_mut().for_each(closed);
                }
            }
            _ => {}
        }
    }
}

/// Sets every logit `matcher` does not allow next to minus infinity. With `remaining`
/// of a `budget` of tokens left, no more than [`CLOSING_RESERVE`] (or half the budget),
/// only the tokens that close something stay allowed, where the schema allows any.
pub(crate) fn mask(
    grammars: &Grammars,
    matcher: &mut Matcher,
    logits: &mut [f32],
    (remaining, budget): (usize, usize),
) -> Result<(), String> {
    let mut allowed = matcher.compute_mask().map_err(|e| e.to_string())?;
    let reserve = CLOSING_RESERVE.min(budget / 2);
    if remaining <= reserve && !allowed.and_is_zero(&grammars.closing) {
        allowed.and(&grammars.closing);
    }
    // By 32-token words of the bitset: most are all allowed or all refused.
    allowed.iter_unset_entries(|token| {
        if let Some(logit) = logits.get_mut(token) {
            *logit = f32::NEG_INFINITY;
        }
    });
    // Logits past the tokenizer's vocabulary (a model's padded rows) are never text.
    let known = allowed.len().min(logits.len());
    logits[known..].fill(f32::NEG_INFINITY);
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn objects_that_list_properties_take_no_others_unless_they_say() {
        let mut schema = serde_json::json!({
            "type": "object",
            "properties": {
                "properties": {"type": "string"},
                "inner": {"$ref": "#/$defs/Inner"},
                "open": {"type": "object", "properties": {}, "additionalProperties": true},
            },
            "$defs": {"Inner": {"type": "object", "properties": {"a": {"type": "integer"}}}},
            "anyOf": [{"type": "object", "properties": {}}],
        });
        super::closed(&mut schema);
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["$defs"]["Inner"]["additionalProperties"], false);
        assert_eq!(schema["anyOf"][0]["additionalProperties"], false);
        assert_eq!(schema["properties"]["open"]["additionalProperties"], true);
        // A property named `properties` is a property, not a keyword.
        assert_eq!(
            schema["properties"]["properties"],
            serde_json::json!({"type": "string"})
        );
    }
}
