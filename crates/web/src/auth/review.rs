//! What each role may do in QA review: admins, supervisors and QA score calls; anyone who may
//! read a call comments on it; reports and the audit log are for admins and supervisors; who
//! sees personal data is configured (`[web] pii_roles`).

use super::Principal;
use crate::config::Role;
use crate::error::ApiError;

impl Principal {
    /// Ok when this principal may score calls (not agents), else the 403.
    pub fn check_score(&self) -> Result<(), ApiError> {
        match self.role {
            Role::Admin | Role::Supervisor | Role::Qa => Ok(()),
            Role::Agent => Err(ApiError::forbidden("agents may not score calls")),
        }
    }

    /// Ok when this principal may read reports (admins and supervisors), else the 403.
    pub fn check_reports(&self) -> Result<(), ApiError> {
        self.check_oversight("reports")
    }

    /// Ok when this principal may read the audit log (admins and supervisors), else the 403.
    pub fn check_audit(&self) -> Result<(), ApiError> {
        self.check_oversight("the audit log")
    }

    fn check_oversight(&self, what: &str) -> Result<(), ApiError> {
        match self.role {
            Role::Admin | Role::Supervisor => Ok(()),
            Role::Qa | Role::Agent => Err(ApiError::forbidden(format!(
                "{what} are for the admin and supervisor roles, not {}",
                self.role.as_str()
            ))),
        }
    }

    /// Whether this principal has the `view_pii` permission: its role is in `pii_roles`.
    pub fn views_pii(&self, pii_roles: &[Role]) -> bool {
        pii_roles.contains(&self.role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_in_review() {
        let agent = Principal::new("ann", Role::Agent, None);
        let qa = Principal::new("quinn", Role::Qa, None);
        let boss = Principal::new("sue", Role::Supervisor, None);
        assert!(agent.check_score().is_err() && qa.check_score().is_ok());
        assert!(qa.check_reports().is_err() && qa.check_audit().is_err());
        assert!(agent.check_reports().is_err());
        assert!(boss.check_reports().is_ok() && boss.check_audit().is_ok());
        let pii = [Role::Admin, Role::Supervisor];
        assert!(boss.views_pii(&pii) && !qa.views_pii(&pii) && !agent.views_pii(&pii));
    }
}
