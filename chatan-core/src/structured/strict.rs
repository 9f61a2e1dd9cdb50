//! A schema as OpenAI's strict mode takes it: the keywords it supports kept, the others
//! said in the description (the reply is still checked against the whole schema).

use serde_json::Value;

/// The keywords a schema may hold in OpenAI's strict mode (the Structured Outputs
/// guide, "Supported schemas": the types and `enum`, `anyOf`, `$ref`/`$defs`, `pattern`
/// and `format` for strings, `multipleOf`, `minimum`, `maximum`, `exclusiveMinimum`,
/// `exclusiveMaximum` for numbers, `minItems`, `maxItems` for arrays; objects with
/// `properties`, `required` and `additionalProperties: false`).
pub(super) const STRICT_KEYWORDS: &[&str] = &[
    "type",
    "description",
    "title",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "anyOf",
    "$ref",
    "$defs",
    "pattern",
    "format",
    "multipleOf",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
];

/// The string formats strict mode takes (the same guide).
const STRICT_FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// What a strict schema holds so far, against the guide's limits: 5 000 object
/// properties, 10 levels of nesting, 1 000 enum values in all.
#[derive(Default)]
pub(super) struct StrictSize {
    properties: usize,
    enum_values: usize,
}

/// Rewrites `schema` (at nesting `depth`) for strict mode, in place; whether it could
/// be.
pub(super) fn make_strict(schema: &mut Value, depth: usize, size: &mut StrictSize) -> bool {
    let Value::Object(map) = schema else {
        // `true`/`false` schemas have no keywords.
        return true;
    };
    if depth > 10 {
        return false;
    }
    if let Some(options) = map.remove("oneOf") {
        map.insert("anyOf".into(), options);
    }
    if let Some(value) = map.remove("const") {
        map.insert("enum".into(), Value::Array(vec![value]));
    }
    let is_string = match map.get("type") {
        Some(Value::String(t)) => t == "string",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
        _ => false,
    };
    let known_format = map
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| STRICT_FORMATS.contains(&f));
    if !is_string || !known_format {
        // An integer's `uint8`, a float's `double`: the type says enough.
        if let Some(format) = map.remove("format")
            && is_string
        {
            map.insert("x-chatan-format".into(), format);
        }
    }
    // Keywords strict mode refuses go into the description.
    let mut said = Vec::new();
    let refused: Vec<String> = map
        .keys()
        .filter(|k| !STRICT_KEYWORDS.contains(&k.as_str()))
        .cloned()
        .collect();
    for key in refused {
        let value = map.remove(&key).unwrap_or(Value::Null);
        match key.as_str() {
            // Annotations with nothing to say to the model.
            "default" | "examples" | "$schema" | "$id" | "$comment" | "readOnly" | "writeOnly"
            | "deprecated" => {}
            "x-chatan-format" => said.push(format!("format: {}", value.as_str().unwrap_or(""))),
            _ => said.push(format!("{key}: {value}")),
        }
    }
    if !said.is_empty() {
        let note = format!("({})", said.join("; "));
        let description = match map.get("description").and_then(Value::as_str) {
            Some(text) if !text.is_empty() => format!("{text} {note}"),
            _ => note,
        };
        map.insert("description".into(), Value::String(description));
    }
    if let Some(Value::Array(values)) = map.get("enum") {
        size.enum_values += values.len();
    }
    let mut fits = size.enum_values <= 1_000;
    match map.get("additionalProperties") {
        // A map: its keys cannot be listed, so it cannot be closed.
        Some(Value::Object(_)) | Some(Value::Bool(true)) => return false,
        _ => {}
    }
    let object = map.get("type").is_some_and(|t| match t {
        Value::String(t) => t == "object",
        Value::Array(ts) => ts.iter().any(|t| t == "object"),
        _ => false,
    });
    if object || map.contains_key("properties") {
        let names: Vec<Value> = match map.get("properties") {
            Some(Value::Object(properties)) => {
                properties.keys().cloned().map(Value::String).collect()
            }
            _ => Vec::new(),
        };
        size.properties += names.len();
        fits &= size.properties <= 5_000;
        map.insert("required".into(), Value::Array(names));
        map.insert("additionalProperties".into(), Value::Bool(false));
    }
    // Only the keywords that hold schemas are walked into: `properties` maps names to
    // schemas (a field called `format` is not a keyword).
    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        for property in properties.values_mut() {
            fits &= make_strict(property, depth + 1, size);
        }
    }
    if let Some(Value::Object(defs)) = map.get_mut("$defs") {
        for def in defs.values_mut() {
            fits &= make_strict(def, depth, size);
        }
    }
    if let Some(items) = map.get_mut("items") {
        fits &= make_strict(items, depth + 1, size);
    }
    if let Some(Value::Array(options)) = map.get_mut("anyOf") {
        for option in options {
            fits &= make_strict(option, depth, size);
        }
    }
    fits
}
