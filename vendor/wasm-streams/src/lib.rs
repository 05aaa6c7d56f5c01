//! A stand-in for [wasm-streams](https://crates.io/crates/wasm-streams)
//! 0.5, put in its place by the `[patch.crates-io]` in the workspace's
//! `Cargo.toml`.
//!
//! Leptos 0.8 always links `server_fn`, whose browser client streams
//! request and response bodies through wasm-streams. wasm-streams exports
//! three `#[wasm_bindgen]` classes (IntoUnderlyingSource, …Sink,
//! …ByteSource), and every module that links it exports them too. Their
//! code is then reachable from the module's exports and from vtables in its
//! data, which wasm-opt cannot see through: 5.0 KB gzip in the consent
//! module and 4.2 KB in the account module, for classes nothing in the SDK
//! can reach.
//!
//! myna-consent has no server functions: it is a client-side library that
//! calls the operator's backend with `fetch` (`src/backend.rs`). So this
//! crate gives `server_fn` the names it compiles against, the only two calls
//! its browser client makes (a streaming request body, a streaming response
//! body), and nothing else. They cannot be reached from the SDK; if a server
//! function is ever added, its first streaming call stops with the panic
//! below rather than misbehave, and this patch must go.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use wasm_bindgen::JsValue;

const NO_SERVER_FUNCTIONS: &str =
    "myna-consent has no server functions: wasm-streams is a stand-in (vendor/wasm-streams)";

/// A web `ReadableStream` (the names of wasm-streams' `readable::ReadableStream`).
pub struct ReadableStream {
    raw: web_sys::ReadableStream,
}

impl ReadableStream {
    /// Wraps a web stream.
    pub fn from_raw(raw: web_sys::ReadableStream) -> Self {
        Self { raw }
    }

    /// The web stream.
    pub fn into_raw(self) -> web_sys::ReadableStream {
        self.raw
    }

    /// A web stream from a Rust stream: never reached (see the crate docs).
    pub fn from_stream<St>(_stream: St) -> Self
    where
        St: Stream<Item = Result<JsValue, JsValue>> + 'static,
    {
        panic!("{NO_SERVER_FUNCTIONS}")
    }

    /// A Rust stream from this web stream: never reached (see the crate docs).
    pub fn into_stream(self) -> IntoStream {
        panic!("{NO_SERVER_FUNCTIONS}")
    }
}

/// What [`ReadableStream::into_stream`] would return; there is never one.
pub struct IntoStream {
    _never: std::convert::Infallible,
}

impl Stream for IntoStream {
    type Item = Result<JsValue, JsValue>;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self._never {}
    }
}
