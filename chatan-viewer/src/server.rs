//! The viewer's HTTP server: `GET /` (the page), `GET /page.js` (its script) and
//! `GET /events` (server-sent events: a snapshot, then every change), on the loopback
//! interface, for as long as the run goes on.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::{broadcast, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use super::state::{Broadcast, Message};
use chatan_core::Error;

const PAGE: &str = include_str!("page.html");
const SCRIPT: &str = include_str!("page.js");

/// The page may run its own script and nothing else: no inline script, no other origin.
const POLICY: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
                      style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; \
                      form-action 'none'; frame-ancestors 'none'";

/// A comment line every so often keeps an idle event stream open through proxies.
const HEARTBEAT: Duration = Duration::from_secs(15);

/// How long open pages get to receive the last messages when the run ends.
const LAST_WORDS: Duration = Duration::from_millis(500);

type Body = BoxBody<Bytes, Infallible>;

/// A server serving a run; [`Serving::close`] (or dropping it) stops it.
pub(crate) struct Serving {
    broadcast: Arc<Broadcast>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Serving {
    /// Ends the event streams (pages keep what they were sent) and stops the server;
    /// returns once it no longer listens.
    pub(crate) async fn close(mut self) {
        self.broadcast.close();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.broadcast.close();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Starts serving `broadcast` on `listener` (on the current tokio runtime).
pub(crate) fn spawn(
    listener: std::net::TcpListener,
    broadcast: Arc<Broadcast>,
) -> Result<Serving, Error> {
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| Error::Viewer("the viewer needs a tokio runtime to serve from".into()))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::Viewer(e.to_string()))?;
    let listener = {
        let _entered = runtime.enter();
        tokio::net::TcpListener::from_std(listener).map_err(|e| Error::Viewer(e.to_string()))?
    };
    let (shutdown, mut stop) = oneshot::channel();
    let served = Arc::clone(&broadcast);
    let task = runtime.spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                _ = &mut stop => break,
                accepted = listener.accept() => {
                    let Ok((stream, _)) = accepted else { continue };
                    let broadcast = Arc::clone(&served);
                    connections.spawn(async move {
                        let service = service_fn(move |request| {
                            let broadcast = Arc::clone(&broadcast);
                            async move { Ok::<_, Infallible>(respond(&broadcast, &request)) }
                        });
                        // A page that goes away is no error of the run's.
                        let _ = http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        }
        drop(listener);
        // The streams end once their last messages are out; a page that does not
        // read them is not waited for long.
        let _ = tokio::time::timeout(LAST_WORDS, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
        connections.shutdown().await;
    });
    Ok(Serving {
        broadcast,
        shutdown: Some(shutdown),
        task: Some(task),
    })
}

fn respond(broadcast: &Arc<Broadcast>, request: &Request<Incoming>) -> Response<Body> {
    if request.method() != Method::GET {
        return plain(StatusCode::METHOD_NOT_ALLOWED, "only GET");
    }
    match request.uri().path() {
        "/" => {
            let mut response = full(PAGE, "text/html; charset=utf-8");
            response
                .headers_mut()
                .insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
            response
        }
        "/page.js" => full(SCRIPT, "text/javascript; charset=utf-8"),
        "/events" => events(broadcast),
        _ => plain(StatusCode::NOT_FOUND, "not found"),
    }
}

fn full(body: &'static str, content_type: &'static str) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())).boxed());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = full(text, "text/plain; charset=utf-8");
    *response.status_mut() = status;
    response
}

/// One server-sent event.
fn frame(message: &Message) -> Result<Frame<Bytes>, Infallible> {
    // JSON has no raw line breaks, so one `data:` line holds it.
    Ok(Frame::data(Bytes::from(format!(
        "id: {}\ndata: {}\n\n",
        message.seq, message.json
    ))))
}

/// What a page's event stream reads from.
enum Feed {
    /// The snapshot to send first, and the messages after it.
    Start(Message, Option<broadcast::Receiver<Message>>),
    /// Live messages after sequence number `after`.
    Live(u64, broadcast::Receiver<Message>),
    Done,
}

/// The event stream: a snapshot of the run so far, then every change after it, until
/// the run's viewer closes.
fn events(broadcast: &Arc<Broadcast>) -> Response<Body> {
    let (snapshot, receiver) = broadcast.subscribe();
    let broadcast = Arc::clone(broadcast);
    let body = stream::unfold(Feed::Start(snapshot, receiver), move |feed| {
        let broadcast = Arc::clone(&broadcast);
        async move {
            match feed {
                Feed::Start(snapshot, receiver) => {
                    let next = match receiver {
                        Some(receiver) => Feed::Live(snapshot.seq, receiver),
                        None => Feed::Done,
                    };
                    Some((frame(&snapshot), next))
                }
                Feed::Live(after, mut receiver) => loop {
                    let received = tokio::time::timeout(HEARTBEAT, receiver.recv()).await;
                    match received {
                        Err(_) => {
                            let beat = Ok(Frame::data(Bytes::from_static(b": still here\n\n")));
                            return Some((beat, Feed::Live(after, receiver)));
                        }
                        Ok(Ok(message)) if message.seq <= after => continue,
                        Ok(Ok(message)) => {
                            let seq = message.seq;
                            return Some((frame(&message), Feed::Live(seq, receiver)));
                        }
                        // Fell behind: start again from a fresh snapshot.
                        Ok(Err(broadcast::error::RecvError::Lagged(_))) => {
                            let snapshot = broadcast.snapshot();
                            let seq = snapshot.seq;
                            return Some((frame(&snapshot), Feed::Live(seq, receiver)));
                        }
                        Ok(Err(broadcast::error::RecvError::Closed)) => return None,
                    }
                },
                Feed::Done => None,
            }
        }
    });
    let mut response = Response::new(BodyExt::boxed(StreamBody::new(body)));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
