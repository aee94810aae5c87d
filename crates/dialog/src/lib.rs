//! Dialplans for Switchboard: the format, its validator and the sans-IO interpreter.
