//! How urgent a waiting call is.

use std::str::FromStr;

use crate::error::UnknownPriority;

/// How urgent a call is: a higher value is answered first, equal values in arrival order.
///
/// The classes the dialplan's escalation sets (`handoff_priority`) have names; any number
/// orders among them (e.g. `Priority(25)` for a VIP billing question).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(pub u8);

impl Priority {
    /// General questions, the default.
    pub const GENERAL: Self = Self(10);
    /// Billing questions: ahead of general ones.
    pub const BILLING: Self = Self(20);
    /// Complaints: ahead of billing and general questions.
    pub const COMPLAINT: Self = Self(30);
}

impl Default for Priority {
    fn default() -> Self {
        Self::GENERAL
    }
}

impl FromStr for Priority {
    type Err = UnknownPriority;

    /// Reads `complaint`, `billing`, `general` or a number from 0 to 255.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "complaint" => Ok(Self::COMPLAINT),
            "billing" => Ok(Self::BILLING),
            "general" => Ok(Self::GENERAL),
            number => number
                .parse()
                .map(Self)
                .map_err(|_| UnknownPriority(text.to_string())),
        }
    }
}
