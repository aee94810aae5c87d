//! SIP signalling for Switchboard: a sans-IO endpoint (transactions, dialogs, SDP offer/answer,
//! digest authentication, a registrar, qualify pings, transfers) over a strict RFC 3261 message
//! parser.
//!
//! The edges (sockets, timers) live in the `call` crate; everything here is driven by
//! `handle_*` calls with the time passed in, so it runs in unit tests faster than real time.

pub mod auth;
pub mod endpoint;
pub mod headers;
pub mod message;
pub mod qualify;
pub mod refer;
pub mod registrar;
pub mod sdp;
pub mod validate;

pub use endpoint::{
    DialogId, EndCause, EndpointConfig, IncomingCall, OutgoingCall, Peer, SipEndpoint, SipEvent,
    Transmit, TransportKind, TrunkAuth,
};
pub use message::SipMessage;
pub use qualify::QualifyId;
pub use refer::Replaces;
pub use registrar::{Binding, RegistrarConfig};
