//! Dialplans for Switchboard: the format, its validator and the sans-IO interpreter.
//!
//! A dialplan is a TOML file of named nodes (see docs/DIALPLANS.md). [`Dialplan::load`]
//! checks it completely, reporting every problem with `file:line:col`;
//! [`DialplanInterpreter`] runs one call through it, driven by inputs and time passed in.

#![warn(missing_docs)]

mod bot;
mod callback;
mod condition;
mod error;
mod escalation;
mod format;
mod handoff;
mod hours;
mod interpreter;
mod parse;
mod queue;
mod slots;
mod template;
mod understand;
mod validate;
mod webhook;

pub use bot::{Candidate, KbAnswer, Understanding};
pub use callback::CallbackRequest;
pub use error::{DialplanError, DialplanErrors};
pub use format::Dialplan;
pub use interpreter::{
    DialplanEvent, DialplanInterpreter, Input, ListenRequest, Output, PromptItem, TurnContext,
};
pub use queue::{PRIORITIES, QueueRequest};
pub use webhook::{WebhookFailure, WebhookMethod, WebhookRequest};
