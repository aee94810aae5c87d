//! The ACD in simulated time: what a supervisor would check on the floor.

mod agents;
mod announcements;
mod config;
mod overflow;
mod priority;
mod random_day;
mod ringing;
mod routing;
mod snapshots;
mod support;
