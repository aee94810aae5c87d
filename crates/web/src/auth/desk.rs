//! What each role may do at the agent desk: admins and supervisors see and change every agent,
//! QA sees everything and changes nothing, an agent sees and changes only itself and not the
//! queues.

use super::Principal;
use crate::config::Role;
use crate::error::ApiError;

impl Principal {
    /// Whether this principal may see agent `id`: agents only themselves.
    pub fn may_see_agent(&self, id: &str) -> bool {
        self.agent_id.as_deref().is_none_or(|mine| mine == id)
    }

    /// Ok when this principal may read agent `id`, else the 403.
    pub fn check_agent_read(&self, id: &str) -> Result<(), ApiError> {
        if self.may_see_agent(id) {
            Ok(())
        } else {
            Err(ApiError::forbidden("agents may see only themselves"))
        }
    }

    /// Ok when this principal may set agent `id` available or away, else the 403.
    pub fn check_agent_change(&self, id: &str) -> Result<(), ApiError> {
        match self.role {
            Role::Admin | Role::Supervisor => Ok(()),
            Role::Agent if self.may_see_agent(id) => Ok(()),
            Role::Agent => Err(ApiError::forbidden("agents may set only their own state")),
            Role::Qa => Err(ApiError::forbidden(
                "the qa role may not change agent states",
            )),
        }
    }

    /// Ok when this principal may see the queues (everyone but agents), else the 403.
    pub fn check_queue_read(&self) -> Result<(), ApiError> {
        match self.role {
            Role::Agent => Err(ApiError::forbidden("agents may not see the queues")),
            Role::Admin | Role::Supervisor | Role::Qa => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_at_the_desk() {
        let ann = Principal::new("ann", Role::Agent, None);
        let qa = Principal::new("quinn", Role::Qa, None);
        let boss = Principal::new("sue", Role::Supervisor, None);
        assert!(ann.check_agent_read("ann").is_ok() && ann.check_agent_read("bob").is_err());
        assert!(ann.check_agent_change("ann").is_ok() && ann.check_agent_change("bob").is_err());
        assert!(ann.check_queue_read().is_err());
        assert!(qa.check_agent_read("bob").is_ok() && qa.check_queue_read().is_ok());
        assert!(qa.check_agent_change("bob").is_err());
        assert!(boss.check_agent_change("bob").is_ok() && boss.check_queue_read().is_ok());
    }
}
