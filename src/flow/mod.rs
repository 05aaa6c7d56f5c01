//! The authorization flow on the browser side: the pending transaction the
//! page keeps while the citizen is at Mynaportal, and every check on the
//! callback before anything reaches the operator backend.
//!
//! Plain Rust with no browser dependency: the JS glue only stores and loads a
//! [`PendingTransaction`] and hands the callback URL in.

mod callback;

pub use callback::{
    check_callback, hand_over, parse_callback, Callback, CallbackError, Completion, Handover,
    PendingTransaction, TRANSACTION_LIFETIME,
};
