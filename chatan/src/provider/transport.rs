//! The HTTP transport every provider shares: the pooled client, the key, the URL and the
//! timeout; posting a JSON body; and turning HTTP failures into [`GeneratorError`]s (with
//! the provider's own message, key redacted). It knows nothing of any wire format: that
//! is the [`WireFormat`](super::WireFormat)'s part.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Client, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::{ConfigError, Error, GeneratorError};
use crate::secret::ApiKey;

/// The default per-request timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// A client with connection pooling that sends `headers` (the key, the API version)
/// with every request; one per provider value, shared by its clones.
fn client(headers: HeaderMap) -> Result<Client, Error> {
    Client::builder()
        .default_headers(headers)
        .pool_idle_timeout(Duration::from_secs(90))
        .build()
        .map_err(|e| Error::Config(ConfigError::Client(e.to_string())))
}

/// Where and how to post: client (with the key and fixed headers), URL, timeout.
#[derive(Clone)]
pub(crate) struct Transport {
    client: Client,
    key: Option<ApiKey>,
    path: &'static str,
    pub(crate) url: String,
    pub(crate) timeout: Duration,
}

impl Transport {
    /// `path` is joined to `base_url` (named `variable` in errors); `headers` go with
    /// every request.
    pub(crate) fn new(
        key: Option<ApiKey>,
        headers: HeaderMap,
        base_url: &str,
        path: &'static str,
        variable: &str,
    ) -> Result<Self, Error> {
        Ok(Transport {
            client: client(headers)?,
            key,
            path,
            url: endpoint(base_url, path, variable)?,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// Posts to another base URL from now on.
    pub(crate) fn set_base_url(&mut self, base_url: &str) -> Result<(), Error> {
        self.url = endpoint(base_url, self.path, "base URL")?;
        Ok(())
    }

    /// The key, for `Debug` (which redacts it).
    pub(crate) fn key(&self) -> &Option<ApiKey> {
        &self.key
    }

    /// Posts a JSON `body` and reads the JSON reply.
    pub(crate) async fn post<T: DeserializeOwned>(
        &self,
        body: Vec<u8>,
    ) -> Result<T, GeneratorError> {
        post_json(
            &self.client,
            &self.url,
            body,
            self.timeout,
            self.key.as_ref(),
        )
        .await
    }
}

/// Checks a base URL and joins `path` to it.
fn endpoint(base: &str, path: &str, variable: &str) -> Result<String, Error> {
    let base = base.trim().trim_end_matches('/');
    match reqwest::Url::parse(base) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(format!("{base}{path}")),
        _ => Err(Error::Config(ConfigError::BadUrl {
            variable: variable.to_owned(),
            value: base.to_owned(),
        })),
    }
}

/// Posts `body` as JSON and reads a JSON reply, mapping every failure.
async fn post_json<T: DeserializeOwned>(
    client: &Client,
    url: &str,
    body: Vec<u8>,
    timeout: Duration,
    key: Option<&ApiKey>,
) -> Result<T, GeneratorError> {
    let response = client
        .post(url)
        .timeout(timeout)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(body)
        .send()
        .await
        .map_err(|e| transport(e, timeout))?;
    let status = response.status();
    let retry_after = retry_after(response.headers());
    let bytes = response.bytes().await.map_err(|e| transport(e, timeout))?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|e| {
            GeneratorError::Malformed(format!(
                "{e} in {}",
                excerpt(&String::from_utf8_lossy(&bytes))
            ))
        });
    }
    let mut message = provider_message(&bytes);
    if let Some(key) = key {
        message = key.redact(message);
    }
    Err(match status {
        StatusCode::TOO_MANY_REQUESTS => GeneratorError::RateLimited {
            retry_after,
            message,
        },
        s if s.is_server_error() || s == StatusCode::REQUEST_TIMEOUT => GeneratorError::Server {
            status: s.as_u16(),
            message,
        },
        s => GeneratorError::Rejected {
            status: s.as_u16(),
            message,
        },
    })
}

fn transport(error: reqwest::Error, timeout: Duration) -> GeneratorError {
    if error.is_timeout() {
        return GeneratorError::Timeout(timeout);
    }
    // The URL holds no secret, but the error chain's innermost cause says the most.
    let mut causes = String::new();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        causes.push_str(": ");
        causes.push_str(&cause.to_string());
        source = cause.source();
    }
    GeneratorError::Connection(format!("{}{causes}", error.without_url()))
}

/// `retry-after-ms` (OpenAI) or `retry-after` in seconds.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let read = |name: &str| headers.get(name)?.to_str().ok()?.trim().parse::<f64>().ok();
    if let Some(ms) = read("retry-after-ms").filter(|v| v.is_finite() && *v >= 0.0) {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    read("retry-after")
        .filter(|v| v.is_finite() && *v >= 0.0)
        .map(Duration::from_secs_f64)
}

/// The provider's explanation: `error.message` of OpenAI's and Anthropic's error
/// bodies, else the start of the body.
fn provider_message(body: &[u8]) -> String {
    #[derive(serde::Deserialize)]
    struct Envelope {
        error: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        message: String,
    }
    match serde_json::from_slice::<Envelope>(body) {
        Ok(e) => e.error.message,
        Err(_) if body.is_empty() => "(empty body)".into(),
        Err(_) => excerpt(&String::from_utf8_lossy(body)),
    }
}

fn excerpt(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_join_and_reject_bad_urls() {
        assert_eq!(
            endpoint("http://localhost:8000/v1/", "/chat/completions", "X").unwrap(),
            "http://localhost:8000/v1/chat/completions"
        );
        let e = endpoint("localhost:8000", "/x", "OPENAI_BASE_URL").unwrap_err();
        assert!(e.to_string().contains("OPENAI_BASE_URL"));
    }

    #[test]
    fn reads_provider_messages() {
        assert_eq!(
            provider_message(br#"{"error":{"message":"bad key","type":"x"}}"#),
            "bad key"
        );
        assert_eq!(provider_message(b"oops"), "oops");
        assert_eq!(provider_message(b""), "(empty body)");
    }

    #[test]
    fn reads_retry_after() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(150)));
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), None);
    }
}
