//! Answers to chat requests, in either provider's wire format.

use super::faults::limiter_headers;
use super::{Failure, Reply, State, json, lock};
use crate::config::Fault;
use crate::reply;
use crate::wire::{self, Api, Asked};
use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};
use std::sync::atomic::Ordering;
use std::time::Duration;

pub(super) fn respond(
    state: &State,
    api: Api,
    id: u64,
    asked: &Asked,
    (fault, limited): (Option<Fault>, Option<Duration>),
    sent_key: Option<&str>,
) -> (Result<Reply, Failure>, Option<String>) {
    let error = |status: StatusCode, message: &str| {
        Ok(json(status, &wire::error(api, status.as_u16(), message)))
    };
    match fault {
        None => {
            let (text, ending, cached) = answer(state, api, asked);
            let body = wire::reply(api, id, asked, &text, ending, cached);
            (Ok(json(StatusCode::OK, &body)), Some(text))
        }
        Some(Fault::RateLimit) => {
            let mut response = json(
                StatusCode::TOO_MANY_REQUESTS,
                &wire::error(api, 429, "Rate limit reached (injected by chatan-mock)"),
            );
            let wait = state.config.retry_after;
            let headers = response.headers_mut();
            if let Some(reset) = limited {
                limiter_headers(&state.config, api, reset, headers);
            }
            // An injected 429 says when to come back; the limiter's only if told to.
            if limited.is_none() || state.config.retry_after_set {
                headers.insert(
                    "retry-after",
                    wait.as_secs().to_string().parse().expect("digits"),
                );
                headers.insert(
                    "retry-after-ms",
                    wait.as_millis().to_string().parse().expect("digits"),
                );
            }
            (Ok(response), None)
        }
        Some(Fault::ServerError) => (
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal error (injected by chatan-mock)",
            ),
            None,
        ),
        Some(Fault::Unauthorized) => (
            error(
                StatusCode::UNAUTHORIZED,
                "Incorrect API key provided (injected by chatan-mock)",
            ),
            None,
        ),
        Some(Fault::BadRequest) => (
            error(
                StatusCode::BAD_REQUEST,
                "Invalid request (injected by chatan-mock)",
            ),
            None,
        ),
        Some(Fault::Forbidden) => (
            error(
                StatusCode::FORBIDDEN,
                "You do not have access to this model (injected by chatan-mock)",
            ),
            None,
        ),
        Some(Fault::NoQuota) => {
            let body = match api {
                Api::OpenAi => serde_json::json!({"error": {
                    "message": "You exceeded your current quota, please check your plan and billing details. (injected by chatan-mock)",
                    "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}}),
                Api::Anthropic => wire::error(
                    api,
                    400,
                    "Your credit balance is too low to access the Anthropic API. (injected by chatan-mock)",
                ),
            };
            let status = match api {
                Api::OpenAi => StatusCode::TOO_MANY_REQUESTS,
                Api::Anthropic => StatusCode::BAD_REQUEST,
            };
            (Ok(json(status, &body)), None)
        }
        Some(Fault::Malformed) => {
            let body = match (state.config.echo_key, sent_key) {
                // A broken proxy that echoes the request's headers into a 200.
                (true, Some(key)) => Bytes::from(format!(
                    "{{\"choices\": [{{\"mess <debug> authorization: {key} </debug>"
                )),
                _ => Bytes::from_static(b"{\"choices\": [{\"mess"),
            };
            let mut response = Response::new(Full::new(body));
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/json"),
            );
            (Ok(response), None)
        }
        Some(Fault::Drop) => (
            Err("connection dropped (injected by chatan-mock)".into()),
            None,
        ),
    }
}

/// The reply to `asked`, as the model would end it, and the system prompt's tokens
/// written to and read from Anthropic's prompt cache (a `cache_control` system prompt is
/// written the first time it is seen, read after).
pub(super) fn answer(
    state: &State,
    api: Api,
    asked: &Asked,
) -> (String, wire::Ending, (usize, usize)) {
    let cached = match (&asked.system, api) {
        (Some(system), Api::Anthropic) if asked.cache_system => {
            let tokens = wire::tokens(system);
            if lock(&state.cached_systems).insert(system.clone()) {
                (tokens, 0)
            } else {
                (0, tokens)
            }
        }
        _ => (0, 0),
    };
    if state
        .config
        .refusals
        .iter()
        .any(|needle| asked.prompt.contains(needle.as_str()))
    {
        return (wire::REFUSAL.to_owned(), wire::Ending::Refused, cached);
    }
    let (text, ending) = wire::end(asked, &reply_text(state, asked));
    (text, ending, cached)
}

pub(super) fn reply_text(state: &State, asked: &Asked) -> String {
    for (rule, turn) in state.config.reply_rules.iter().zip(&state.reply_turns) {
        if asked.prompt.contains(&rule.needle) && !rule.replies.is_empty() {
            let i = turn.fetch_add(1, Ordering::SeqCst) % rule.replies.len();
            return rule.replies[i].clone();
        }
    }
    match &asked.schema {
        Some(schema) => {
            let seed = reply::fingerprint(&[asked.system.as_deref().unwrap_or(""), &asked.prompt]);
            wire::instance(schema, "text", u64::from(seed)).to_string()
        }
        None => reply::placeholder(asked.system.as_deref(), &asked.prompt),
    }
}
