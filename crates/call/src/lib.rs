//! The call task: one owner per call wiring SIP, media, dialplan and store.
