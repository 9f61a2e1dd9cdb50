//! Checking a reply's JSON against the whole schema of its type.

use serde_json::Value;

/// Checks `value` against the constraints of `schema` that serde does not check
/// (ranges, lengths, enums, required fields); `path` names where, for the message.
pub(super) fn validate(schema: &Value, value: &Value, path: &mut String) -> Result<(), String> {
    let Value::Object(s) = schema else {
        return Ok(());
    };
    let at = |path: &str| {
        if path.is_empty() {
            "the reply".to_owned()
        } else {
            format!("`{}`", path.trim_start_matches('.'))
        }
    };
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = s.get(key)
            && !options
                .iter()
                .any(|o| validate(o, value, &mut path.clone()).is_ok())
        {
            return Err(format!("{} matches none of the allowed shapes", at(path)));
        }
    }
    if let Some(Value::Array(allowed)) = s.get("enum")
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        return Err(format!(
            "{} is {value}, not one of {}",
            at(path),
            list.join(", ")
        ));
    }
    if let Some(expected) = s.get("const")
        && expected != value
    {
        return Err(format!("{} is {value}, not {expected}", at(path)));
    }
    if let Some(types) = s.get("type") {
        let fits = |t: &Value| match t.as_str() {
            Some("object") => value.is_object(),
            Some("array") => value.is_array(),
            Some("string") => value.is_string(),
            Some("boolean") => value.is_boolean(),
            Some("null") => value.is_null(),
            Some("integer") => value.is_i64() || value.is_u64(),
            Some("number") => value.is_number(),
            _ => true,
        };
        let ok = match types {
            Value::Array(ts) => ts.iter().any(fits),
            t => fits(t),
        };
        if !ok {
            return Err(format!(
                "{} is {value}, which is not of type {types}",
                at(path)
            ));
        }
    }
    if let Some(n) = value.as_f64() {
        let bound = |key: &str| s.get(key).and_then(Value::as_f64);
        if let Some(min) = bound("minimum").filter(|&m| n < m) {
            return Err(format!("{} is {value}, below the minimum {min}", at(path)));
        }
        if let Some(max) = bound("maximum").filter(|&m| n > m) {
            return Err(format!("{} is {value}, above the maximum {max}", at(path)));
        }
        if let Some(min) = bound("exclusiveMinimum").filter(|&m| n <= m) {
            return Err(format!("{} is {value}, not above {min}", at(path)));
        }
        if let Some(max) = bound("exclusiveMaximum").filter(|&m| n >= m) {
            return Err(format!("{} is {value}, not below {max}", at(path)));
        }
    }
    if let Some(text) = value.as_str() {
        let chars = text.chars().count() as u64;
        if let Some(min) = s
            .get("minLength")
            .and_then(Value::as_u64)
            .filter(|&m| chars < m)
        {
            return Err(format!(
                "{} has {chars} characters, fewer than {min}",
                at(path)
            ));
        }
        if let Some(max) = s
            .get("maxLength")
            .and_then(Value::as_u64)
            .filter(|&m| chars > m)
        {
            return Err(format!(
                "{} has {chars} characters, more than {max}",
                at(path)
            ));
        }
    }
    if let Some(items) = value.as_array() {
        let n = items.len() as u64;
        if let Some(min) = s.get("minItems").and_then(Value::as_u64).filter(|&m| n < m) {
            return Err(format!("{} has {n} items, fewer than {min}", at(path)));
        }
        if let Some(max) = s.get("maxItems").and_then(Value::as_u64).filter(|&m| n > m) {
            return Err(format!("{} has {n} items, more than {max}", at(path)));
        }
        if let Some(item_schema) = s.get("items") {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                validate(item_schema, item, path)?;
                path.truncate(len);
            }
        }
    }
    if let Some(object) = value.as_object() {
        if let Some(Value::Array(required)) = s.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(name) {
                    return Err(format!("{} has no field `{name}`", at(path)));
                }
            }
        }
        if let Some(Value::Object(properties)) = s.get("properties") {
            for (name, field) in object {
                if let Some(field_schema) = properties.get(name) {
                    let len = path.len();
                    path.push('.');
                    path.push_str(name);
                    validate(field_schema, field, path)?;
                    path.truncate(len);
                }
            }
        }
    }
    Ok(())
}
