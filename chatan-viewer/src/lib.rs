//! The live viewer (cargo feature `viewer`): a page in the browser that shows a run as
//! its rows fill in.
//!
//! [`Runner::viewer`](chatan_core::Runner::viewer) starts a small HTTP server on the loopback
//! interface for the run, prints its address once, and serves one self-contained page
//! (embedded in the crate: no CDN, no build step) with an event stream:
//!
//! - one column per recipe column; rows appear as they start, cells go from queued
//!   (waiting for a slot or a retry) to in flight ([`Event::RequestSent`](chatan_core::Event::RequestSent)) to filled;
//!   long values are folded (click to expand);
//! - the prompt behind a generated cell, as it was sent, one click away;
//! - failed cells with row, column, attempts and cause; retries counted;
//! - a header with rows done of all, rows/s, ETA, requests in flight, retries, tokens
//!   and, given [`Viewer::prices`], the estimated cost; each provider batch of the run
//!   ([`Event::BatchProgress`](chatan_core::Event::BatchProgress)); the final summary when the run ends.
//!
//! Memory is bounded: the server keeps the rows under way, the latest
//! [`window`](Viewer::window) finished rows and up to 100 failed ones; the page keeps
//! the same. Values are set as text (a generated `<script>` shows as text) and the
//! page's script is served apart under a content security policy that allows no other.
//! The server listens on 127.0.0.1 only, serves the page, its script and the event
//! stream and nothing else, and is gone when the run returns: it never keeps the
//! process alive.
//!
//! ```no_run
//! # chatan::dataset! { #[derive(Debug)] struct Qa { q: String = gen("a question"), a: String = gen("answer: {q}") } }
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use chatan::viewer::Viewer;
//!
//! let llm = chatan::OpenAi::from_env()?;
//! let viewer = Viewer::start()?.prices(0.40, 1.60); // $ per million tokens in, out
//! println!("watch at {}", viewer.url());
//! let rows = Qa::runner(&llm).viewer(viewer).generate(1_000).await?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod server;
mod state;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use chatan_core::layer::Limiter;
use chatan_core::{Error, Watch, Watching};

use self::state::Broadcast;

/// Finished rows the page and the server keep, by default.
const DEFAULT_WINDOW: usize = 200;

/// A live viewer for one run: bound to its address at once (so its URL is known before
/// the run), serving while the run goes on. See the [module docs](self).
#[derive(Debug)]
pub struct Viewer {
    listener: TcpListener,
    address: SocketAddr,
    window: usize,
    prices: Option<(f64, f64)>,
    announce: bool,
}

impl Viewer {
    /// A viewer on `127.0.0.1` at a port the system picks.
    pub fn start() -> Result<Viewer, Error> {
        Self::on_port(0)
    }

    /// A viewer on `127.0.0.1:port` (0: a port the system picks).
    pub fn on_port(port: u16) -> Result<Viewer, Error> {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .map_err(|e| Error::Viewer(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
        let address = listener
            .local_addr()
            .map_err(|e| Error::Viewer(e.to_string()))?;
        Ok(Viewer {
            listener,
            address,
            window: DEFAULT_WINDOW,
            prices: None,
            announce: true,
        })
    }

    /// The page's address, `http://127.0.0.1:{port}/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// How many finished rows the page (and the server) keep, besides rows under way
    /// and failed ones (default 200; at least 1).
    pub fn window(mut self, rows: usize) -> Self {
        self.window = rows.max(1);
        self
    }

    /// Prices in dollars per million input and output tokens, for the estimated cost
    /// in the header and the summary.
    pub fn prices(mut self, input_per_million: f64, output_per_million: f64) -> Self {
        self.prices = Some((input_per_million, output_per_million));
        self
    }

    /// Does not print the address when the run starts (it is printed once, on standard
    /// error, by default).
    pub fn quiet(mut self) -> Self {
        self.announce = false;
        self
    }
}

/// The runner starts the viewer with the run ([`Runner::viewer`](chatan_core::Runner::viewer)):
/// the page is fed the run's events, and the server stops once the run has ended.
impl Watch for Viewer {
    fn start(self: Box<Self>, limiter: Option<Limiter>) -> Result<Watching, Error> {
        let broadcast = Arc::new(Broadcast::new(self.window, self.prices, limiter));
        let url = self.url();
        let serving = server::spawn(self.listener, Arc::clone(&broadcast))?;
        if self.announce {
            eprintln!("chatan viewer: {url}");
        }
        tracing::info!(%url, "viewer serving");
        Ok(Watching {
            observer: broadcast,
            close: Box::pin(serving.close()),
        })
    }
}
