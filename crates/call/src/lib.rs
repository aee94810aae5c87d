//! The call layer: the SIP edge task, one task per call (media, dialplan, recording, event log),
//! and our own SIP caller for `switchboard call`.

pub mod agent_desk;
pub mod agent_leg;
pub mod bot_voice;
pub mod caller_speech;
pub mod client;
pub mod consult;
pub mod contact_center;
pub mod gateway;
pub mod inbound;
pub mod media_session;
pub mod pending_input;
pub mod sip_server;
pub mod understanding;
pub mod webhook;

pub use caller_speech::SpeechServices;
pub use gateway::{CallSettings, CenterSetup, DialplanRegistry, Gateway, Listen, start};
