//! API keys, kept out of every `Debug`, error and log.

use std::fmt;

use reqwest::header::HeaderValue;

use crate::error::{ConfigError, Error};

/// An API key. Its `Debug` prints `[redacted]`; it has no `Display`; the header built
/// from it is marked sensitive, so HTTP-level debug output hides it too.
#[derive(Clone)]
pub(crate) struct ApiKey(String);

impl ApiKey {
    pub(crate) fn new(key: impl Into<String>) -> Result<Self, Error> {
        let key: String = key.into();
        let key = key.trim().to_owned();
        if key.is_empty() {
            return Err(Error::Config(ConfigError::EmptyKey));
        }
        Ok(ApiKey(key))
    }

    /// A header value carrying the key (with a prefix such as `Bearer `), marked
    /// sensitive.
    pub(crate) fn header(&self, prefix: &str) -> Result<HeaderValue, Error> {
        let mut value = HeaderValue::from_str(&format!("{prefix}{}", self.0))
            .map_err(|_| Error::Config(ConfigError::KeyNotHeaderSafe))?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// Replaces the key wherever it appears in `text` (a provider's error message may
    /// quote it back).
    pub(crate) fn redact(&self, text: String) -> String {
        if text.contains(&self.0) {
            text.replace(&self.0, "[redacted]")
        } else {
            text
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_key() {
        let key = ApiKey::new("sk-secret-123").unwrap();
        assert_eq!(format!("{key:?}"), "[redacted]");
        assert!(!format!("{:?}", key.header("Bearer ").unwrap()).contains("sk-secret-123"));
    }

    #[test]
    fn redacts_the_key_in_messages() {
        let key = ApiKey::new("sk-secret-123").unwrap();
        assert_eq!(
            key.redact("bad key sk-secret-123!".into()),
            "bad key [redacted]!"
        );
    }

    #[test]
    fn rejects_empty_and_unsendable_keys() {
        assert!(ApiKey::new("  ").is_err());
        let e = ApiKey::new("sk-\nx").unwrap().header("").unwrap_err();
        assert!(!e.to_string().contains("sk-"));
    }
}
