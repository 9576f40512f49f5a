//! The accounts table: one row per configured account, keyed by its name.
//! Settings live in the profile's config file; the cache only needs the id.

use rusqlite::{OptionalExtension, params};

use crate::error::{Result, SqlContext};
use crate::{Account, Cache, CacheError};

impl Cache {
    /// Returns the account row for `name`, creating or updating it.
    pub fn ensure_account(&self, name: &str, email: &str) -> Result<Account> {
        let conn = self.write()?;
        let id: i64 = conn
            .query_row(
                "INSERT INTO accounts (name, email) VALUES (?1, ?2)
                 ON CONFLICT (name) DO UPDATE SET email = excluded.email
                 RETURNING id",
                params![name, email],
                |r| r.get(0),
            )
            .context("saving an account")?;
        Ok(Account { id, name: name.to_string(), email: email.to_string() })
    }

    pub fn account_by_name(&self, name: &str) -> Result<Account> {
        let conn = self.write()?;
        conn.query_row(
            "SELECT id, name, email FROM accounts WHERE name = ?1",
            params![name],
            |r| Ok(Account { id: r.get(0)?, name: r.get(1)?, email: r.get(2)? }),
        )
        .optional()
        .context("looking up an account")?
        .ok_or_else(|| CacheError::NoSuchAccount(name.to_string()))
    }

    /// Removes an account and, through the foreign keys, everything cached
    /// for it.
    pub fn remove_account(&self, name: &str) -> Result<bool> {
        let conn = self.write()?;
        let n = conn
            .execute("DELETE FROM accounts WHERE name = ?1", params![name])
            .context("removing an account")?;
        Ok(n > 0)
    }
}
