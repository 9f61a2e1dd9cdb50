//! The HTTP transport every provider shares: the pooled client, the key, the URL and the
//! timeout; posting a JSON body; and turning HTTP failures into [`GeneratorError`]s (with
//! the provider's own message, key redacted). It knows nothing of any wire format: that
//! is the [`WireFormat`](super::WireFormat)'s part.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Client, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::{ConfigError, Error, GeneratorError};
use crate::reply::RateLimits;
use crate::secret::ApiKey;

/// The default per-request timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// The default cap on a reply body.
pub(crate) const DEFAULT_MAX_REPLY_BYTES: usize = 32 << 20;

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
    /// `url`, parsed once: every request posts a clone (parsing it again, IDNA and all,
    /// was a visible share of a request's CPU).
    parsed: reqwest::Url,
    pub(crate) timeout: Duration,
    pub(crate) max_reply_bytes: usize,
    /// Whether the server has answered anything (shared by clones): until then, a
    /// connection that cannot be made is [`GeneratorError::Unreachable`], not worth
    /// retrying.
    reached: std::sync::Arc<std::sync::atomic::AtomicBool>,
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
        let url = endpoint(base_url, path, variable)?;
        Ok(Transport {
            client: client(headers)?,
            key,
            path,
            parsed: parse(&url, variable)?,
            url,
            timeout: DEFAULT_TIMEOUT,
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
            reached: Default::default(),
        })
    }

    /// Posts to another base URL from now on.
    pub(crate) fn set_base_url(&mut self, base_url: &str) -> Result<(), Error> {
        self.url = endpoint(base_url, self.path, "base URL")?;
        self.parsed = parse(&self.url, "base URL")?;
        self.reached = Default::default();
        Ok(())
    }

    /// The error a failed send stands for: a connection that cannot be made to a server
    /// that has never answered is [`GeneratorError::Unreachable`].
    fn sent(
        &self,
        sent: Result<reqwest::Response, reqwest::Error>,
        timeout: Duration,
    ) -> Result<reqwest::Response, GeneratorError> {
        use std::sync::atomic::Ordering;
        match sent {
            Ok(response) => {
                self.reached.store(true, Ordering::Relaxed);
                Ok(response)
            }
            Err(e) if e.is_connect() && !self.reached.load(Ordering::Relaxed) => {
                Err(GeneratorError::Unreachable(Box::new(transport(e, timeout))))
            }
            Err(e) => Err(transport(e, timeout)),
        }
    }

    /// The key, for `Debug` (which redacts it).
    pub(crate) fn key(&self) -> &Option<ApiKey> {
        &self.key
    }

    /// The URL of `path` (`/batches`) under the base URL.
    #[cfg_attr(not(any(feature = "openai", feature = "anthropic")), allow(dead_code))]
    pub(crate) fn url_of(&self, path: &str) -> String {
        let base = self.url.strip_suffix(self.path).unwrap_or(&self.url);
        format!("{base}{path}")
    }

    /// Sends `method` to `url` with `body` (of `content_type`) and returns the reply's
    /// bytes, or the error its status stands for, key redacted: for the APIs beside
    /// the chat endpoint (batches, files).
    #[cfg_attr(not(any(feature = "openai", feature = "anthropic")), allow(dead_code))]
    pub(crate) async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<(&'static str, Vec<u8>)>,
    ) -> Result<Vec<u8>, GeneratorError> {
        let timeout = self.timeout;
        let call = async {
            let mut request = self.client.request(method, url).timeout(timeout);
            if let Some((content_type, body)) = body {
                request = request
                    .header(CONTENT_TYPE, HeaderValue::from_static(content_type))
                    .body(body);
            }
            let response = self.sent(request.send().await, timeout)?;
            let status = response.status();
            let now = std::time::SystemTime::now();
            let retry_after = retry_after(response.headers(), now)
                .or_else(|| reset_of(rate_limits(response.headers(), now)));
            let bytes = response.bytes().await.map_err(|e| transport(e, timeout))?;
            if status.is_success() {
                return Ok(bytes.to_vec());
            }
            let error: Result<serde_json::Value, _> =
                classify(status, retry_after, &bytes, &|text| self.redact_text(text));
            Err(error.err().unwrap_or_else(|| {
                GeneratorError::Malformed(format!("status {status} on success"))
            }))
        };
        call.await.map_err(|e| self.redact(e))
    }

    /// [`call`](Transport::call) for a JSON reply.
    #[cfg_attr(not(any(feature = "openai", feature = "anthropic")), allow(dead_code))]
    pub(crate) async fn call_json<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<(&'static str, Vec<u8>)>,
    ) -> Result<T, GeneratorError> {
        let bytes = self.call(method, url, body).await?;
        read_reply(StatusCode::OK, None, &bytes, &|text| self.redact_text(text))
    }

    /// The error that `status` and `body` (an error body of this API) stand for.
    #[cfg_attr(not(any(feature = "openai", feature = "anthropic")), allow(dead_code))]
    pub(crate) fn error_of(&self, status: u16, body: &[u8]) -> GeneratorError {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let error: Result<serde_json::Value, _> =
            read_reply(status, None, body, &|text| self.redact_text(text));
        match error {
            Err(error) => error,
            Ok(_) => GeneratorError::Malformed("an error entry with a success status".into()),
        }
    }

    /// Posts a JSON `body` and reads the JSON reply. Every failure passes through
    /// [`redact`](Transport::redact) here, the one place between a server's bytes and an
    /// error or log line, so no path can leak the key.
    pub(crate) async fn post<T: DeserializeOwned>(
        &self,
        body: Vec<u8>,
    ) -> Result<(T, Option<RateLimits>), GeneratorError> {
        self.exchange(body).await.map_err(|e| self.redact(e))
    }

    async fn exchange<T: DeserializeOwned>(
        &self,
        body: Vec<u8>,
    ) -> Result<(T, Option<RateLimits>), GeneratorError> {
        let timeout = self.timeout;
        let sent = self
            .client
            .post(self.parsed.clone())
            .timeout(timeout)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body)
            .send()
            .await;
        let mut response = self.sent(sent, timeout)?;
        let status = response.status();
        let now = std::time::SystemTime::now();
        let limits = rate_limits(response.headers(), now);
        // How long to wait matters only to a failure.
        let retry_after = if status.is_success() {
            None
        } else {
            retry_after(response.headers(), now).or_else(|| reset_of(limits))
        };
        // Room for the whole body at once when its length is known (and allowed).
        let length = response.content_length().unwrap_or(0) as usize;
        let mut bytes = Vec::with_capacity(length.min(self.max_reply_bytes));
        while let Some(chunk) = response.chunk().await.map_err(|e| transport(e, timeout))? {
            if bytes.len() + chunk.len() > self.max_reply_bytes {
                return Err(GeneratorError::TooLarge {
                    limit: self.max_reply_bytes,
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        read_reply(status, retry_after, &bytes, &|text| self.redact_text(text))
            .map(|value| (value, limits))
    }

    /// `text` with the key replaced wherever it appears.
    fn redact_text(&self, text: String) -> String {
        match &self.key {
            Some(key) => key.redact(text),
            None => text,
        }
    }

    /// `error` with the key replaced in every message it carries.
    fn redact(&self, error: GeneratorError) -> GeneratorError {
        error.map_messages(&|text| self.redact_text(text))
    }
}

/// Reads a reply: the JSON body of a success, or the error a status stands for, with the
/// provider's message. The body's text is redacted before any of it is cut to an
/// excerpt, so a key cut in half by the excerpt cannot leak either.
fn read_reply<T: DeserializeOwned>(
    status: StatusCode,
    retry_after: Option<Duration>,
    bytes: &[u8],
    redact: &dyn Fn(String) -> String,
) -> Result<T, GeneratorError> {
    // A parser's message may quote the body too (`invalid type: string "..."`).
    classify(status, retry_after, bytes, redact).map_err(|e| e.map_messages(redact))
}

fn classify<T: DeserializeOwned>(
    status: StatusCode,
    retry_after: Option<Duration>,
    bytes: &[u8],
    redact: &dyn Fn(String) -> String,
) -> Result<T, GeneratorError> {
    if status.is_success() {
        return serde_json::from_slice(bytes).map_err(|e| {
            let text = redact(String::from_utf8_lossy(bytes).into_owned());
            GeneratorError::Malformed(format!("{e} in {}", excerpt(&text)))
        });
    }
    let message = provider_message(bytes, redact);
    Err(match status {
        StatusCode::TOO_MANY_REQUESTS if crate::error::is_quota(&message) => {
            GeneratorError::Rejected {
                status: status.as_u16(),
                message,
            }
        }
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

fn transport(error: reqwest::Error, timeout: Duration) -> GeneratorError {
    // A connection that timed out is a connection failure (no server there), not a
    // server too slow to reply.
    if error.is_timeout() && !error.is_connect() {
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

// The headers read from every reply, named once (a name given as text is parsed again
// at each lookup).
const RETRY_AFTER: HeaderName = HeaderName::from_static("retry-after");
const RETRY_AFTER_MS: HeaderName = HeaderName::from_static("retry-after-ms");
const OPENAI_REQUESTS_REMAINING: HeaderName =
    HeaderName::from_static("x-ratelimit-remaining-requests");
const OPENAI_REQUESTS_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset-requests");
const OPENAI_TOKENS_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining-tokens");
const OPENAI_TOKENS_RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset-tokens");
const ANTHROPIC_REQUESTS_REMAINING: HeaderName =
    HeaderName::from_static("anthropic-ratelimit-requests-remaining");
const ANTHROPIC_REQUESTS_RESET: HeaderName =
    HeaderName::from_static("anthropic-ratelimit-requests-reset");
const ANTHROPIC_TOKENS_REMAINING: HeaderName =
    HeaderName::from_static("anthropic-ratelimit-tokens-remaining");
const ANTHROPIC_TOKENS_RESET: HeaderName =
    HeaderName::from_static("anthropic-ratelimit-tokens-reset");

/// `url` (checked already by [`endpoint`]) as reqwest's URL.
fn parse(url: &str, variable: &str) -> Result<reqwest::Url, Error> {
    reqwest::Url::parse(url).map_err(|_| {
        Error::Config(ConfigError::BadUrl {
            variable: variable.to_owned(),
            value: url.to_owned(),
        })
    })
}

/// `retry-after-ms` (OpenAI), or `retry-after` in seconds or as an HTTP date (a time
/// `now` is before; a date past is no wait).
fn retry_after(headers: &HeaderMap, now: std::time::SystemTime) -> Option<Duration> {
    let text = |name: &HeaderName| headers.get(name)?.to_str().ok().map(str::trim);
    let number = |name: &HeaderName| text(name)?.parse::<f64>().ok();
    if let Some(ms) = number(&RETRY_AFTER_MS).filter(|v| v.is_finite() && *v >= 0.0) {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    if let Some(secs) = number(&RETRY_AFTER).filter(|v| v.is_finite() && *v >= 0.0) {
        return Some(Duration::from_secs_f64(secs));
    }
    let date = chrono::DateTime::parse_from_rfc2822(text(&RETRY_AFTER)?).ok()?;
    let at = std::time::SystemTime::UNIX_EPOCH
        + Duration::from_secs(u64::try_from(date.timestamp()).ok()?);
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// When a 429 that names no `Retry-After` may be tried again: when the limit its
/// rate-limit headers say is used up resets (OpenAI sends `x-ratelimit-reset-*` with its
/// 429s; the longest wait if both requests and tokens are used up).
fn reset_of(limits: Option<RateLimits>) -> Option<Duration> {
    let limits = limits?;
    [
        (limits.requests_remaining, limits.requests_reset),
        (limits.tokens_remaining, limits.tokens_reset),
    ]
    .into_iter()
    .filter(|(left, _)| *left == Some(0))
    .filter_map(|(_, reset)| reset)
    .max()
}

/// The rate-limit headers of a reply: OpenAI's `x-ratelimit-remaining-requests` /
/// `-tokens` with `x-ratelimit-reset-*` as durations (`1s`, `6m0s`, `20ms`), or
/// Anthropic's `anthropic-ratelimit-requests-remaining` / `-tokens-remaining` with
/// `-reset` as RFC 3339 times. `None` if there are none.
fn rate_limits(headers: &HeaderMap, now: std::time::SystemTime) -> Option<RateLimits> {
    let text = |name: &HeaderName| headers.get(name)?.to_str().ok().map(str::trim);
    let number = |name: &HeaderName| text(name)?.parse::<u64>().ok();
    let until = |name: &HeaderName| -> Option<Duration> {
        let value = text(name)?;
        if let Some(d) = go_duration(value) {
            return Some(d);
        }
        let at = chrono::DateTime::parse_from_rfc3339(value).ok()?;
        let at = std::time::SystemTime::UNIX_EPOCH
            + Duration::from_millis(u64::try_from(at.timestamp_millis()).ok()?);
        Some(at.duration_since(now).unwrap_or(Duration::ZERO))
    };
    let limits = RateLimits {
        requests_remaining: number(&OPENAI_REQUESTS_REMAINING)
            .or_else(|| number(&ANTHROPIC_REQUESTS_REMAINING)),
        requests_reset: until(&OPENAI_REQUESTS_RESET).or_else(|| until(&ANTHROPIC_REQUESTS_RESET)),
        tokens_remaining: number(&OPENAI_TOKENS_REMAINING)
            .or_else(|| number(&ANTHROPIC_TOKENS_REMAINING)),
        tokens_reset: until(&OPENAI_TOKENS_RESET).or_else(|| until(&ANTHROPIC_TOKENS_RESET)),
    };
    (limits != RateLimits::default()).then_some(limits)
}

/// A duration as Go prints it (`1s`, `6m0s`, `1h2m3.5s`, `20ms`).
fn go_duration(text: &str) -> Option<Duration> {
    let mut total = 0.0;
    let mut rest = text;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter(|&i| i > 0)?;
        let value: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let (unit, scale) = [("ms", 0.001), ("h", 3600.0), ("m", 60.0), ("s", 1.0)]
            .into_iter()
            .find(|(unit, _)| rest.starts_with(unit))?;
        total += value * scale;
        rest = &rest[unit.len()..];
    }
    Some(Duration::from_secs_f64(total))
}

/// The provider's explanation: `error.message` of OpenAI's and Anthropic's error bodies
/// (with OpenAI's `type`/`code` when they say more, such as `insufficient_quota`), else
/// the start of the body; redacted before it is cut.
fn provider_message(body: &[u8], redact: &dyn Fn(String) -> String) -> String {
    #[derive(serde::Deserialize)]
    struct Envelope {
        error: Inner,
    }
    #[derive(serde::Deserialize)]
    struct Inner {
        message: String,
        #[serde(default, rename = "type")]
        kind: Option<String>,
        #[serde(default)]
        code: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<Envelope>(body) {
        Ok(e) => {
            let mut message = e.error.message;
            let code = e.error.code.as_ref().and_then(|c| c.as_str());
            if let Some(kind) = [e.error.kind.as_deref(), code]
                .into_iter()
                .flatten()
                .find(|k| crate::error::is_quota(k) && !crate::error::is_quota(&message))
            {
                message = format!("{message} ({kind})");
            }
            redact(message)
        }
        Err(_) if body.is_empty() => "(empty body)".into(),
        Err(_) => excerpt(&redact(String::from_utf8_lossy(body).into_owned())),
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

    fn same(text: String) -> String {
        text
    }

    #[test]
    fn reads_provider_messages() {
        assert_eq!(
            provider_message(br#"{"error":{"message":"bad key","type":"x"}}"#, &same),
            "bad key"
        );
        assert_eq!(provider_message(b"oops", &same), "oops");
        assert_eq!(provider_message(b"", &same), "(empty body)");
        let quota = br#"{"error":{"message":"You are over.","type":"insufficient_quota","code":"insufficient_quota"}}"#;
        assert_eq!(
            provider_message(quota, &same),
            "You are over. (insufficient_quota)"
        );
    }

    #[test]
    fn no_quota_is_a_rejection_not_a_rate_limit() {
        let body = br#"{"error":{"message":"You exceeded your current quota.","type":"insufficient_quota"}}"#;
        let e = read_reply::<serde_json::Value>(StatusCode::TOO_MANY_REQUESTS, None, body, &same)
            .unwrap_err();
        assert!(
            matches!(e, GeneratorError::Rejected { status: 429, .. }),
            "{e:?}"
        );
        assert!(e.is_fatal() && !e.is_retryable());
        let e = read_reply::<serde_json::Value>(StatusCode::TOO_MANY_REQUESTS, None, b"{}", &same)
            .unwrap_err();
        assert!(e.is_retryable() && !e.is_fatal());
    }

    #[test]
    fn reads_rate_limit_headers() {
        let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        assert_eq!(rate_limits(&h, now), None);
        h.insert("x-ratelimit-remaining-requests", "0".parse().unwrap());
        h.insert("x-ratelimit-reset-requests", "1m2.5s".parse().unwrap());
        h.insert("x-ratelimit-remaining-tokens", "1200".parse().unwrap());
        h.insert("x-ratelimit-reset-tokens", "20ms".parse().unwrap());
        let l = rate_limits(&h, now).unwrap();
        assert_eq!(l.requests_remaining, Some(0));
        assert_eq!(l.requests_reset, Some(Duration::from_millis(62_500)));
        assert_eq!(l.tokens_remaining, Some(1200));
        assert_eq!(l.tokens_reset, Some(Duration::from_millis(20)));
        let mut h = HeaderMap::new();
        h.insert(
            "anthropic-ratelimit-requests-remaining",
            "3".parse().unwrap(),
        );
        h.insert(
            "anthropic-ratelimit-requests-reset",
            "2023-11-14T22:13:30Z".parse().unwrap(),
        );
        let l = rate_limits(&h, now).unwrap();
        assert_eq!(l.requests_remaining, Some(3));
        assert_eq!(l.requests_reset, Some(Duration::from_secs(10)));
    }

    #[test]
    fn a_429_with_no_retry_after_waits_for_the_used_up_limit_to_reset() {
        let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-remaining-requests", "0".parse().unwrap());
        h.insert("x-ratelimit-reset-requests", "850ms".parse().unwrap());
        h.insert("x-ratelimit-remaining-tokens", "5000".parse().unwrap());
        h.insert("x-ratelimit-reset-tokens", "6s".parse().unwrap());
        assert_eq!(
            reset_of(rate_limits(&h, now)),
            Some(Duration::from_millis(850))
        );
        h.insert("x-ratelimit-remaining-tokens", "0".parse().unwrap());
        assert_eq!(reset_of(rate_limits(&h, now)), Some(Duration::from_secs(6)));
        // Nothing used up: no wait from these headers.
        h.insert("x-ratelimit-remaining-requests", "3".parse().unwrap());
        h.insert("x-ratelimit-remaining-tokens", "3".parse().unwrap());
        assert_eq!(reset_of(rate_limits(&h, now)), None);
        assert_eq!(reset_of(None), None);
    }

    #[test]
    fn reads_retry_after() {
        let now = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_470);
        let mut h = HeaderMap::new();
        h.insert("retry-after", "2".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(2)));
        h.insert("retry-after-ms", "150".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_millis(150)));
        // An HTTP date: 07:28:00 is 10 s after `now`.
        let mut h = HeaderMap::new();
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(10)));
        let later = now + Duration::from_secs(60);
        assert_eq!(retry_after(&h, later), Some(Duration::ZERO));
        h.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&h, now), None);
    }

    /// Every error path, fed replies that quote the key everywhere: in the body, in a
    /// JSON message, in another JSON field, as an echoed header, and cut by the excerpt
    /// at every offset of the key. Neither the key nor any 6-character piece of it may
    /// appear in an error's `Display` or `Debug`.
    #[test]
    fn the_key_never_leaves_through_an_error() {
        let key_text = "sk-proj-Zq8vL2mN4pR7tX1wY5bC9dF3";
        let key = ApiKey::new(key_text).unwrap();
        let redact = |text: String| key.redact(text);
        let pieces: Vec<&str> = (0..=key_text.len() - 6)
            .map(|i| &key_text[i..i + 6])
            .collect();
        let mut bodies: Vec<String> = vec![
            key_text.to_owned(),
            format!("Authorization: Bearer {key_text}"),
            format!("{{\"error\":{{\"message\":\"Incorrect API key provided: {key_text}\"}}}}"),
            format!("{{\"error\":{{\"message\":\"bad\",\"param\":\"{key_text}\"}}}}"),
            format!(
                "{{\"choices\": [{{\"message\": {{\"content\": 5, \"key\": \"{key_text}\"}}}}]}}"
            ),
            format!("{{\"choices\": \"{key_text}\"}}"),
            format!("<html>401 {key_text} unauthorized</html>"),
        ];
        // The excerpt keeps 200 characters: put the key across that cut at every offset.
        for offset in 0..=key_text.len() {
            bodies.push(format!(
                "{}{key_text} trailing text",
                "x".repeat(200 - offset)
            ));
        }
        let statuses = [200u16, 400, 401, 403, 404, 408, 429, 500, 503];
        for body in &bodies {
            for status in statuses {
                let status = StatusCode::from_u16(status).unwrap();
                #[derive(Debug, serde::Deserialize)]
                #[allow(dead_code)]
                struct Shape {
                    choices: Vec<u32>,
                }
                let error = read_reply::<Shape>(status, None, body.as_bytes(), &redact)
                    .expect_err("no body here is a valid reply");
                for shown in [error.to_string(), format!("{error:?}")] {
                    for piece in &pieces {
                        assert!(
                            !shown.contains(piece),
                            "HTTP {status}, body {body:?}: {piece:?} in {shown}"
                        );
                    }
                }
            }
        }
    }
}
