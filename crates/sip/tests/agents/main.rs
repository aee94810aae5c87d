//! What agents' phones need from the endpoint, in simulated time: signing in (registrar),
//! reachability (qualify), calls to them carrying context, and transfers they start.

mod agent_invite;
mod qualify;
mod registrar;
mod support;
mod transfer;
