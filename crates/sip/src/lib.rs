//! SIP signalling for Switchboard: a sans-IO endpoint (transactions, dialogs, SDP) on rsipstack's message parser.
