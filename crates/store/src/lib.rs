//! Switchboard's store: calls and their append-only event timeline (SQLite or PostgreSQL).
