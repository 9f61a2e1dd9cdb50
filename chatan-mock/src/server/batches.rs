//! The batch endpoints: OpenAI's files and batches, Anthropic's message batches.

use super::faults::check_headers;
use super::respond::answer;
use super::{Failure, Reply, State, json, lock};
use crate::config::Fault;
use crate::wire;
use crate::wire::Api;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// The batch APIs (see [`crate::batch`]).
pub(super) async fn batch(
    state: &Arc<State>,
    route: crate::batch::Route,
    req: Request<Incoming>,
) -> Result<Reply, Failure> {
    use crate::batch::Route;
    let api = route.api();
    if let Some(refusal) = check_headers(&state.config, api, &req) {
        state.refused.fetch_add(1, Ordering::SeqCst);
        return Ok(refusal);
    }
    let content_type = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let body = req.into_body().collect().await?.to_bytes();
    let bad = |message: &str| {
        Ok(json(
            StatusCode::BAD_REQUEST,
            &wire::error(api, 400, message),
        ))
    };
    let missing = |what: &str| {
        Ok(json(
            StatusCode::NOT_FOUND,
            &wire::error(api, 404, &format!("no {what}")),
        ))
    };
    let read = || serde_json::from_slice::<serde_json::Value>(&body);
    let delay = state.config.batch_delay;
    let answer = |api: Api, body: &serde_json::Value| answer_in_batch(state, api, body);
    let mut store = lock(&state.batches);
    match route {
        Route::UploadFile => match crate::batch::multipart_file(&content_type, &body) {
            Ok(file) => Ok(json(StatusCode::OK, &store.upload(file))),
            Err(message) => bad(&message),
        },
        Route::FileContent(id) => match store.file(&id) {
            Some(bytes) => Ok(Response::new(Full::new(bytes))),
            None => missing(&format!("file {id}")),
        },
        Route::CreateOpenAi => match read()
            .map_err(|e| e.to_string())
            .and_then(|b| store.create_openai(&b, delay, state.config.batch_end))
        {
            Ok(object) => Ok(json(StatusCode::OK, &object)),
            Err(message) => bad(&message),
        },
        Route::CreateAnthropic => match read()
            .map_err(|e| e.to_string())
            .and_then(|b| store.create_anthropic(&b, state.config.batch_end))
        {
            Ok(object) => Ok(json(StatusCode::OK, &object)),
            Err(message) => bad(&message),
        },
        Route::GetOpenAi(id) if store.has(&id, Api::OpenAi) => {
            store.process(&id, delay, &answer);
            Ok(json(StatusCode::OK, &store.openai_object(&id, delay)))
        }
        Route::CancelOpenAi(id) if store.cancel(&id) => {
            Ok(json(StatusCode::OK, &store.openai_object(&id, delay)))
        }
        Route::GetAnthropic(id) if store.has(&id, Api::Anthropic) => {
            store.process(&id, delay, &answer);
            let base = format!("http://{host}");
            Ok(json(StatusCode::OK, &store.anthropic_object(&id, &base)))
        }
        Route::AnthropicResults(id) => match store.anthropic_results(&id) {
            Some(results) => Ok(Response::new(Full::new(Bytes::from(results)))),
            None => missing(&format!("ended batch {id}")),
        },
        Route::GetOpenAi(id) | Route::CancelOpenAi(id) | Route::GetAnthropic(id) => {
            missing(&format!("batch {id}"))
        }
    }
}

/// One request of a batch, answered as the chat endpoint would answer it: a reply
/// body, or the status and error body of the fault a `fail_for` rule gives it.
pub(super) fn answer_in_batch(
    state: &State,
    api: Api,
    body: &serde_json::Value,
) -> crate::batch::Answer {
    let asked = crate::rules::check(api, body, &state.config)
        .and_then(|()| wire::parse(api, body.to_string().as_bytes()))
        .map_err(|message| (400, wire::error(api, 400, &message)))?;
    state.batch_requests.fetch_add(1, Ordering::SeqCst);
    let fault = state
        .config
        .fault_rules
        .iter()
        .find(|rule| asked.prompt.contains(&rule.needle))
        .map(|rule| rule.fault);
    if let Some(fault) = fault {
        let status = match fault {
            Fault::RateLimit | Fault::NoQuota => 429,
            Fault::BadRequest => 400,
            Fault::Unauthorized => 401,
            Fault::Forbidden => 403,
            Fault::ServerError | Fault::Drop | Fault::Malformed => 500,
        };
        let message = format!("{} (injected by chatan-mock)", fault.name());
        return Err((status, wire::error(api, status, &message)));
    }
    let (text, ending, cached) = answer(state, api, &asked);
    let id = state.batch_requests.load(Ordering::SeqCst);
    Ok(wire::reply(api, id, &asked, &text, ending, cached))
}
