//! What the server does besides answering: checks of the headers, the rate limiter and
//! its headers, injected faults, latency.

use super::{Reply, State, json, lock};
use crate::config::{Fault, MockConfig};
use crate::wire;
use crate::wire::Api;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use std::time::{Duration, Instant};

/// A refusal for a missing or wrong key or API version.
pub(super) fn check_headers(
    config: &MockConfig,
    api: Api,
    req: &Request<Incoming>,
) -> Option<Reply> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if api == Api::Anthropic && header("anthropic-version").is_none() {
        return Some(json(
            StatusCode::BAD_REQUEST,
            &wire::error(api, 400, "anthropic-version: header is required"),
        ));
    }
    let expected = config.api_key.as_deref()?;
    let sent = match api {
        Api::OpenAi => header("authorization").and_then(|v| v.strip_prefix("Bearer ")),
        Api::Anthropic => header("x-api-key"),
    };
    if sent == Some(expected) {
        return None;
    }
    let message = match (config.echo_key, sent) {
        (true, Some(key)) => format!("Incorrect API key provided: {key}"),
        _ => "Incorrect API key provided".to_owned(),
    };
    Some(json(
        StatusCode::UNAUTHORIZED,
        &wire::error(api, 401, &message),
    ))
}

/// A rate limit when `requests_per_second` requests were let through in the last second:
/// how long until the window has room again.
pub(super) fn over_rate(state: &State) -> Option<Duration> {
    let limit = state.config.requests_per_second?;
    let now = Instant::now();
    let mut window = lock(&state.window);
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
    {
        window.pop_front();
    }
    if window.len() >= limit as usize {
        let oldest = *window.front().expect("the window is full");
        return Some((oldest + Duration::from_secs(1)).saturating_duration_since(now));
    }
    window.push_back(now);
    None
}

/// The headers of a 429 from the request limiter, which will have room again in
/// `reset`, as each provider sends them: OpenAI's `x-ratelimit-limit-requests`,
/// `x-ratelimit-remaining-requests` and `x-ratelimit-reset-requests` (a duration such as
/// `120ms`; the rate-limits guide), with `retry-after` only if the mock is told one;
/// Anthropic's `retry-after` (seconds) and `anthropic-ratelimit-requests-limit`,
/// `-remaining`, `-reset` (RFC 3339; the rate-limits documentation).
pub(super) fn limiter_headers(
    config: &MockConfig,
    api: Api,
    reset: Duration,
    headers: &mut hyper::HeaderMap,
) {
    let limit = config.requests_per_second.unwrap_or(1);
    let value = |text: String| hyper::header::HeaderValue::from_str(&text).expect("ascii");
    match api {
        Api::OpenAi => {
            headers.insert(
                "x-ratelimit-limit-requests",
                value((limit * 60).to_string()),
            );
            headers.insert("x-ratelimit-remaining-requests", value("0".into()));
            headers.insert(
                "x-ratelimit-reset-requests",
                value(format!("{}ms", reset.as_millis().max(1))),
            );
        }
        Api::Anthropic => {
            let at = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now() + reset);
            headers.insert(
                "retry-after",
                value(reset.as_secs_f64().ceil().max(1.0).to_string()),
            );
            headers.insert(
                "anthropic-ratelimit-requests-limit",
                value((limit * 60).to_string()),
            );
            headers.insert("anthropic-ratelimit-requests-remaining", value("0".into()));
            headers.insert(
                "anthropic-ratelimit-requests-reset",
                value(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            );
        }
    }
}

/// The next draw of the server's seeded dice, in `[0, 1)`.
pub(super) fn roll(state: &State) -> f64 {
    let mut dice = lock(&state.dice);
    *dice = dice.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *dice;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

pub(super) fn next_fault(state: &State, id: u64) -> Option<Fault> {
    if let Some(fault) = lock(&state.script).pop_front() {
        return Some(fault);
    }
    if let Some((from, fault)) = state.config.fail_from
        && id >= from
    {
        return Some(fault);
    }
    let c = &state.config;
    if c.rate_limit + c.server_error + c.drop + c.malformed <= 0.0 {
        return None;
    }
    let roll = roll(state);
    let mut edge = 0.0;
    for (p, fault) in [
        (c.rate_limit, Fault::RateLimit),
        (c.server_error, Fault::ServerError),
        (c.drop, Fault::Drop),
        (c.malformed, Fault::Malformed),
    ] {
        edge += p;
        if roll < edge {
            return Some(fault);
        }
    }
    None
}

pub(super) fn latency(config: &MockConfig, prompt: &str) -> Duration {
    config
        .latency_rules
        .iter()
        .find(|r| prompt.contains(&r.needle))
        .map_or(config.latency, |r| r.latency)
}
