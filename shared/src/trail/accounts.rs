//! Which accounts' files the forwarder reads: all, or an allow-list (`ALLOWED_ACCOUNT_IDS`), so
//! that a file planted under another account's folder of the bucket is not forwarded.

use super::key::is_account_id;

/// The accounts whose trail files are forwarded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum AllowedAccounts {
    /// Every account (no list configured).
    #[default]
    All,
    /// Only these 12-digit account ids.
    Only(Vec<String>),
}

impl AllowedAccounts {
    /// A comma-separated list of 12-digit account ids; `Err` names the first that is not one.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut accounts = Vec::new();
        for account in text.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            if !is_account_id(account) {
                return Err(format!("{account:?} is not a 12-digit account id"));
            }
            accounts.push(account.to_owned());
        }
        Ok(if accounts.is_empty() {
            AllowedAccounts::All
        } else {
            AllowedAccounts::Only(accounts)
        })
    }

    pub fn allows(&self, account_id: &str) -> bool {
        match self {
            AllowedAccounts::All => true,
            AllowedAccounts::Only(accounts) => accounts.iter().any(|a| a == account_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_allows_its_accounts_only_and_a_bad_id_is_named() {
        let only = AllowedAccounts::parse(" 111122223333, 444455556666 ").unwrap();
        assert!(only.allows("444455556666"));
        assert!(!only.allows("777788889999"));
        assert_eq!(AllowedAccounts::parse("").unwrap(), AllowedAccounts::All);
        assert!(AllowedAccounts::All.allows("777788889999"));
        assert_eq!(
            AllowedAccounts::parse("111122223333,alias").unwrap_err(),
            "\"alias\" is not a 12-digit account id"
        );
    }
}
