//! Names of calls, agents and queues: cheap to clone, looked up by `&str`.

use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

/// Defines a text identifier: an `Arc<str>`, so outputs and timers copy a pointer, not text.
macro_rules! text_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Arc<str>);

        impl $name {
            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                Self(text.into())
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                Self(text.into())
            }
        }

        // Hashes and compares like `str`, so maps keyed by the id answer `&str` look-ups.
        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                &*self.0 == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
            }
        }
    };
}

text_id!(
    /// A call, as the gateway names it (the store's call id).
    CallId
);
text_id!(
    /// An agent, by the `id` of its `[[agent]]` section (also its SIP user name).
    AgentId
);
text_id!(
    /// A queue, by the `name` of its `[[queue]]` section.
    QueueId
);
