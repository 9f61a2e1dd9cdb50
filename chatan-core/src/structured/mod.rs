//! Structured outputs: a generated column whose type is a serde struct, enum or `Vec`
//! (anything `serde::Deserialize + schemars::JsonSchema` that is not a plain
//! [`FromReply`](crate::FromReply) type) is asked for as JSON matching its type's JSON
//! Schema, using the provider's native structured output (OpenAI `response_format`
//! `json_schema`, Anthropic tool use), and the reply is checked against the schema's
//! constraints (`minimum`, `maxLength`, `enum`, ...) and parsed into the type. A reply
//! that does not fit is asked for again with the problem fed back, then reported.
//!
//! ```
//! #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
//! struct Judgement {
//!     /// From 1 to 10.
//!     #[schemars(range(min = 1, max = 10))]
//!     score: u8,
//!     reason: String,
//! }
//!
//! chatan::dataset! {
//!     #[derive(Debug)]
//!     struct Judged {
//!         answer: String = gen("answer a trivia question"),
//!         verdict: Judgement = gen("rate this answer from 1 to 10: {answer}"),
//!         note: String = gen("explain the score {verdict.score}"),
//!     }
//! }
//!
//! let schema = chatan::structured::Schema::of::<Judgement>();
//! assert_eq!(schema.json()["properties"]["score"]["maximum"], 10);
//! let parsed: Judgement = schema.parse("```json\n{\"score\": 7, \"reason\": \"close\"}\n```").unwrap();
//! assert_eq!(parsed.score, 7);
//! assert!(schema.parse::<Judgement>(r#"{"score": 11, "reason": "x"}"#).is_err());
//! ```

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::from_reply::ReplyError;

mod strict;
mod validate;

use self::strict::{StrictSize, make_strict};
use self::validate::validate;

/// The JSON Schema of a structured column's type, as sent to providers.
#[derive(Debug, Clone, PartialEq)]
pub struct Schema {
    /// The schema; always an object schema (a type whose schema is not an object is
    /// wrapped as `{"value": ...}`, since providers require an object at the root).
    json: Value,
    /// Whether the type's schema was wrapped in `{"value": ...}`.
    wrapped: bool,
    /// The type's name, for messages.
    type_name: &'static str,
}

impl Schema {
    /// The schema of `T` (computed once per type, then shared).
    pub fn of<T: JsonSchema + 'static>() -> Arc<Schema> {
        static CACHE: OnceLock<RwLock<HashMap<TypeId, Arc<Schema>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(Default::default);
        let id = TypeId::of::<T>();
        if let Some(schema) = cache.read().unwrap_or_else(|e| e.into_inner()).get(&id) {
            return Arc::clone(schema);
        }
        let schema = Arc::new(Schema::build::<T>());
        cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(id)
            .or_insert(schema)
            .clone()
    }

    fn build<T: JsonSchema>() -> Schema {
        let generator = schemars::generate::SchemaSettings::draft2020_12()
            .with(|s| {
                s.inline_subschemas = true;
                s.meta_schema = None;
            })
            .into_generator();
        let mut json = generator.into_root_schema_for::<T>().to_value();
        if let Value::Object(map) = &mut json {
            map.remove("title");
        }
        let object = json.get("type").and_then(Value::as_str) == Some("object");
        let (json, wrapped) = if object {
            (json, false)
        } else {
            let mut properties = Map::new();
            properties.insert("value".into(), json);
            let wrapper = serde_json::json!({
                "type": "object",
                "properties": properties,
                "required": ["value"],
            });
            (wrapper, true)
        };
        Schema {
            json,
            wrapped,
            type_name: std::any::type_name::<T>(),
        }
    }

    /// The schema as JSON.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// The schema in the form OpenAI's strict structured outputs take (the Structured
    /// Outputs guide, "Supported schemas"): every object closed (`additionalProperties:
    /// false`) with every property required (an `Option` field is already nullable);
    /// `oneOf` (a serde enum with data) as `anyOf`, whose variants are disjoint
    /// anyway; `const` as a one-value `enum`; and every keyword strict mode does not
    /// take (`minLength`, `maxLength`, `uniqueItems`, `default`, a `format` it does not
    /// know, ...) moved into the `description`, where the model reads it — the reply is
    /// still checked against the full schema here ([`parse`](Schema::parse)). `None` if
    /// the type cannot be said in strict mode at all (a map, whose keys are open; more
    /// than 10 levels of nesting, 5 000 properties or 1 000 enum values): it is then
    /// sent as it is, with `strict: false`.
    pub fn strict(&self) -> Option<Value> {
        let mut json = self.json.clone();
        let mut size = StrictSize::default();
        make_strict(&mut json, 0, &mut size).then_some(json)
    }

    /// Reads a reply: the JSON in it (a Markdown code fence around it is fine), checked
    /// against the schema's constraints, then deserialized.
    pub fn parse<T: DeserializeOwned>(&self, reply: &str) -> Result<T, ReplyError> {
        let fail = |reason: String| ReplyError::with_reply(self.type_name, reply, reason);
        let text = json_text(reply);
        let mut value: Value =
            serde_json::from_str(text).map_err(|e| fail(format!("the reply is not JSON ({e})")))?;
        let schema = if self.wrapped {
            // `{"value": ...}` as asked, or the bare value from a server that ignored
            // the wrapper.
            if let Value::Object(map) = &mut value
                && map.len() == 1
                && let Some(inner) = map.remove("value")
            {
                value = inner;
            }
            &self.json["properties"]["value"]
        } else {
            &self.json
        };
        if let Err(problem) = validate(schema, &value, &mut String::new()) {
            return Err(fail(problem));
        }
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." {
                fail(inner.to_string())
            } else {
                fail(format!("at {path}: {inner}"))
            }
        })
    }
}

/// The JSON inside a reply: without a Markdown code fence, or from the first `{` / `[`
/// to the last `}` / `]` when prose surrounds it.
fn json_text(reply: &str) -> &str {
    let trimmed = reply.trim();
    if let Some(rest) = trimmed.strip_prefix("```") {
        let body = rest.split_once('\n').map_or(rest, |(_, body)| body);
        return body.trim_end().trim_end_matches("```").trim();
    }
    if serde_json::from_str::<serde::de::IgnoredAny>(trimmed).is_ok() {
        return trimmed;
    }
    let start = trimmed.find(['{', '[']);
    let end = trimmed.rfind(['}', ']']);
    match (start, end) {
        (Some(start), Some(end)) if start < end => &trimmed[start..=end],
        _ => trimmed,
    }
}

/// An integer from `MIN` to `MAX`, both included: a score a judge gives, say. Its schema
/// carries the range, and a value outside it does not deserialize, so a reply with one
/// is asked for again. As a column by itself it parses a plain number reply.
///
/// ```
/// use chatan::structured::Scale;
///
/// let score: Scale<1, 10> = serde_json::from_str("7").unwrap();
/// assert_eq!(score.get(), 7);
/// assert!(serde_json::from_str::<Scale<1, 10>>("11").is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Scale<const MIN: i64, const MAX: i64>(i64);

impl<const MIN: i64, const MAX: i64> Scale<MIN, MAX> {
    /// `value`, if it is in range.
    pub fn new(value: i64) -> Result<Self, String> {
        if (MIN..=MAX).contains(&value) {
            Ok(Scale(value))
        } else {
            Err(format!("{value} is not from {MIN} to {MAX}"))
        }
    }

    /// The value.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// A score as a number, for `chatan::eval::Evaluation::judge`.
impl<const MIN: i64, const MAX: i64> From<Scale<MIN, MAX>> for f64 {
    fn from(score: Scale<MIN, MAX>) -> f64 {
        score.0 as f64
    }
}

impl<const MIN: i64, const MAX: i64> std::fmt::Display for Scale<MIN, MAX> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de, const MIN: i64, const MAX: i64> serde::Deserialize<'de> for Scale<MIN, MAX> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = i64::deserialize(deserializer)?;
        Scale::new(value).map_err(serde::de::Error::custom)
    }
}

impl<const MIN: i64, const MAX: i64> JsonSchema for Scale<MIN, MAX> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Scale_{MIN}_to_{MAX}").into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "integer",
            "minimum": MIN,
            "maximum": MAX,
        })
    }
}

impl<const MIN: i64, const MAX: i64> crate::FromReply for Scale<MIN, MAX> {
    fn from_reply(reply: String) -> Result<Self, ReplyError> {
        let value: i64 = reply
            .trim()
            .parse()
            .map_err(|e| ReplyError::new::<Self>(&reply, e))?;
        Scale::new(value).map_err(|e| ReplyError::new::<Self>(&reply, e))
    }

    fn shape() -> Option<crate::Shape> {
        Some(crate::Shape::integer(MIN, MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::strict::STRICT_KEYWORDS;
    use super::*;

    #[derive(Debug, serde::Deserialize, JsonSchema, PartialEq)]
    struct Review {
        #[schemars(range(min = 1, max = 5))]
        stars: u8,
        #[schemars(length(min = 3))]
        title: String,
        tags: Vec<Tag>,
        note: Option<String>,
    }

    #[derive(Debug, serde::Deserialize, JsonSchema, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Tag {
        Good,
        Bad,
    }

    #[test]
    fn object_types_are_sent_as_they_are_and_others_wrapped() {
        let review = Schema::of::<Review>();
        assert!(!review.wrapped);
        assert_eq!(review.json()["type"], "object");
        let list = Schema::of::<Vec<Tag>>();
        assert!(list.wrapped);
        assert_eq!(list.json()["properties"]["value"]["type"], "array");
        assert_eq!(
            list.parse::<Vec<Tag>>(r#"{"value": ["good"]}"#).unwrap(),
            [Tag::Good]
        );
        // A bare array is accepted too (a server that ignored the wrapper).
        assert_eq!(list.parse::<Vec<Tag>>(r#"["bad"]"#).unwrap(), [Tag::Bad]);
        assert!(
            Arc::ptr_eq(&Schema::of::<Review>(), &review),
            "computed once"
        );
    }

    #[test]
    fn strict_schemas_close_every_object() {
        let strict = Schema::of::<Review>().strict().unwrap();
        assert_eq!(strict["additionalProperties"], false);
        let required: Vec<&str> = strict["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(required.len(), 4);
        assert!(required.contains(&"note"));
        assert!(strict["properties"]["stars"].get("format").is_none());
    }

    #[derive(Debug, serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Document {
        /// The document's format.
        format: String,
        #[schemars(length(min = 10, max = 200))]
        summary: String,
        shape: Shape,
        id: uuid::Uuid,
        score: Scale<1, 10>,
        parts: Vec<Part>,
        note: Option<Part>,
    }

    #[derive(Debug, serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Part {
        #[schemars(length(max = 5))]
        tags: Vec<String>,
        #[schemars(range(min = 0.0, max = 1.0))]
        weight: f32,
    }

    #[derive(Debug, serde::Deserialize, JsonSchema)]
    #[allow(dead_code)]
    enum Shape {
        Point,
        Circle { radius: f64 },
        Square(u32),
    }

    /// Every keyword of `schema`, walked as strict mode reads it, with the path.
    fn keywords(schema: &Value, path: &str, out: &mut Vec<(String, String)>) {
        let Value::Object(map) = schema else { return };
        for (key, value) in map {
            out.push((path.to_owned(), key.clone()));
            match key.as_str() {
                "properties" | "$defs" => {
                    for (name, sub) in value.as_object().unwrap() {
                        keywords(sub, &format!("{path}/{name}"), out);
                    }
                }
                "items" => keywords(value, &format!("{path}[]"), out),
                "anyOf" => {
                    for (i, sub) in value.as_array().unwrap().iter().enumerate() {
                        keywords(sub, &format!("{path}|{i}"), out);
                    }
                }
                _ => {}
            }
        }
    }

    #[test]
    fn strict_schemas_hold_only_what_strict_mode_takes() {
        let strict = Schema::of::<Document>().strict().expect("strict");
        let mut seen = Vec::new();
        keywords(&strict, "", &mut seen);
        for (path, key) in &seen {
            assert!(STRICT_KEYWORDS.contains(&key.as_str()), "{key} at {path}");
        }
        // A field named `format` is a property, not a keyword: kept, and required.
        assert_eq!(strict["properties"]["format"]["type"], "string");
        let required = strict["required"].as_array().unwrap();
        assert!(required.contains(&Value::from("format")));
        assert_eq!(
            required.len(),
            strict["properties"].as_object().unwrap().len()
        );
        // What strict mode does not take is in the description, and still checked.
        let summary = &strict["properties"]["summary"];
        assert!(summary.get("minLength").is_none());
        let text = summary["description"].as_str().unwrap();
        assert!(
            text.contains("minLength: 10") && text.contains("maxLength: 200"),
            "{text}"
        );
        let tags = &strict["properties"]["parts"]["items"]["properties"]["tags"];
        assert_eq!(tags["maxItems"], 5);
        // A data enum is `anyOf`; a uuid keeps its format; numbers their ranges.
        assert!(strict["properties"]["shape"].get("anyOf").is_some());
        assert!(strict["properties"]["shape"].get("oneOf").is_none());
        assert_eq!(strict["properties"]["id"]["format"], "uuid");
        assert_eq!(strict["properties"]["score"]["maximum"], 10);
        let short = r#"{"format": "pdf", "summary": "short", "shape": "Point", "id": "67e55044-10b1-426f-9247-bb680e5fe0c8", "score": 3, "parts": [], "note": null}"#;
        let err = Schema::of::<Document>()
            .parse::<Document>(short)
            .unwrap_err();
        assert!(err.to_string().contains("fewer than 10"), "{err}");
    }

    #[test]
    fn a_map_cannot_be_strict() {
        #[derive(Debug, serde::Deserialize, JsonSchema)]
        #[allow(dead_code)]
        struct Counts {
            by_word: std::collections::HashMap<String, u32>,
        }
        assert_eq!(Schema::of::<Counts>().strict(), None);
    }

    #[test]
    fn constraints_are_checked_and_named() {
        let schema = Schema::of::<Review>();
        let good = r#"{"stars": 4, "title": "fine", "tags": ["good"], "note": null}"#;
        assert_eq!(schema.parse::<Review>(good).unwrap().stars, 4);
        for (reply, says) in [
            (
                r#"{"stars": 9, "title": "fine", "tags": []}"#,
                "`stars` is 9, above the maximum 5",
            ),
            (
                r#"{"stars": 2, "title": "no", "tags": []}"#,
                "`title` has 2 characters, fewer than 3",
            ),
            (
                r#"{"stars": 2, "title": "fine", "tags": ["meh"]}"#,
                "`tags[0]` is \"meh\", not one of",
            ),
            (r#"{"stars": 2, "tags": []}"#, "has no field `title`"),
            ("stars: 2", "not JSON"),
        ] {
            let err = schema.parse::<Review>(reply).unwrap_err();
            assert!(err.to_string().contains(says), "{reply}: {err}");
        }
    }

    #[test]
    fn json_is_found_inside_fences_and_prose() {
        assert_eq!(json_text("```json\n{\"a\": 1}\n```"), "{\"a\": 1}");
        assert_eq!(json_text("Here it is: {\"a\": 1}. Done."), "{\"a\": 1}");
        assert_eq!(json_text(" [1, 2] "), "[1, 2]");
    }
}
