//! myna-consent: the consent, review and revocation screens and the
//! authorization flow that operators of the Mynaportal API
//! (マイナポータルAPI) must show citizens, as a Rust/WebAssembly SDK.
//!
//! The map of the crate:
//!
//! - [`catalogue`] — the 16 APIs and every data item of the reference report,
//!   with availability, sensitivity and ja/en labels.
//! - [`request`] — [`request::ConsentRequest`], what an operator asks for, and
//!   every rule it must meet.
//! - [`consent`] — a granted consent: status, end date and days left in
//!   Japan's calendar, and the consent receipt.
//! - [`digest`] — SHA-256 hex, shared by receipts and requests.
//! - [`rfc3339`] — timestamps on the wire, as `time` writes them, without
//!   `time`'s formatting in the browser package.
//! - [`shape`] — a typed value from a JSON value, without serde_json's
//!   error messages (which would cost each wasm module their formatting).
//! - [`weburl`] — WHATWG URL parsing: the `url` crate natively, the
//!   browser's `URL` in wasm.
//! - [`flow`] — the pending authorization transaction and every check on
//!   the callback from Mynaportal before it reaches the backend.
//! - [`surface`] — the JavaScript surface's closed vocabularies: event names
//!   and every error code, with who reads each (the typings are generated
//!   from it).
//! - [`i18n`] — locales and the fixed words of the screens (a leaf: each
//!   domain type owns its own words).
//! - `backend` (feature `browser`) — the client of the operator backend.
//! - `ui` (feature `browser`) — the screens, in Leptos, each in a shadow root.
//! - `js` (feature `browser`) — the JavaScript API.
//! - `wire` (feature `browser`) — JSON between Rust and JavaScript values,
//!   the text left to the browser.
//!
//! The domain modules are plain Rust with no browser dependency, so the
//! sandbox validates requests with the same code and tests run natively.

pub mod catalogue;
pub mod consent;
pub mod digest;
pub mod flow;
pub mod i18n;
pub mod request;
pub mod rfc3339;
pub mod shape;
pub mod surface;
pub mod weburl;

#[cfg(feature = "browser")]
pub mod backend;
#[cfg(feature = "browser")]
pub mod js;
#[cfg(feature = "browser")]
pub mod ui;
#[cfg(feature = "browser")]
pub mod wire;
