//! Message flags: the five permanent system flags as bits (so unread counts
//! are a cheap integer test) and keywords as a sorted list.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemFlag {
    Seen = 1,
    Answered = 2,
    Flagged = 4,
    Deleted = 8,
    Draft = 16,
}

impl SystemFlag {
    pub const ALL: [SystemFlag; 5] = [
        SystemFlag::Seen,
        SystemFlag::Answered,
        SystemFlag::Flagged,
        SystemFlag::Deleted,
        SystemFlag::Draft,
    ];

    /// The IMAP spelling, e.g. `\Seen`.
    pub fn imap_name(self) -> &'static str {
        match self {
            SystemFlag::Seen => "\\Seen",
            SystemFlag::Answered => "\\Answered",
            SystemFlag::Flagged => "\\Flagged",
            SystemFlag::Deleted => "\\Deleted",
            SystemFlag::Draft => "\\Draft",
        }
    }
}

/// The flags of one message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flags {
    pub system: u32,
    /// Keywords (`$Forwarded`, `Junk`, ...), sorted and without duplicates.
    pub keywords: Vec<String>,
}

impl Flags {
    /// Builds flags from IMAP flag strings. `\Recent` is session state, not a
    /// flag of the message, and is ignored; unknown backslash flags too.
    pub fn from_imap<'a>(names: impl IntoIterator<Item = &'a str>) -> Flags {
        let mut flags = Flags::default();
        for name in names {
            if let Some(system) = name.strip_prefix('\\') {
                if let Some(f) = SystemFlag::ALL
                    .iter()
                    .find(|f| f.imap_name()[1..].eq_ignore_ascii_case(system))
                {
                    flags.system |= *f as u32;
                }
            } else if !name.is_empty() {
                flags.keywords.push(name.to_string());
            }
        }
        flags.keywords.sort();
        flags.keywords.dedup();
        flags
    }

    /// Every flag name this set holds (IMAP spelling).
    pub fn contains(&self, name: &str) -> bool {
        match name.strip_prefix('\\') {
            Some(sys) => SystemFlag::ALL
                .iter()
                .any(|f| f.imap_name()[1..].eq_ignore_ascii_case(sys) && self.has(*f)),
            None => self.keywords.iter().any(|k| k == name),
        }
    }

    /// Sets or clears one flag by IMAP name.
    pub fn set(&mut self, name: &str, on: bool) {
        if let Some(sys) = name.strip_prefix('\\') {
            if let Some(f) = SystemFlag::ALL.iter().find(|f| f.imap_name()[1..].eq_ignore_ascii_case(sys)) {
                if on {
                    self.system |= *f as u32;
                } else {
                    self.system &= !(*f as u32);
                }
            }
            return;
        }
        self.keywords.retain(|k| k != name);
        if on {
            self.keywords.push(name.to_string());
            self.keywords.sort();
        }
    }

    pub fn has(&self, flag: SystemFlag) -> bool {
        self.system & flag as u32 != 0
    }

    /// All flags in IMAP spelling, system flags first.
    pub fn to_imap(&self) -> Vec<String> {
        SystemFlag::ALL
            .iter()
            .filter(|f| self.has(**f))
            .map(|f| f.imap_name().to_string())
            .chain(self.keywords.iter().cloned())
            .collect()
    }

    pub(crate) fn keywords_column(&self) -> String {
        self.keywords.join(" ")
    }

    pub(crate) fn from_columns(system: i64, keywords: &str) -> Flags {
        Flags {
            system: system as u32,
            keywords: keywords.split(' ').filter(|k| !k.is_empty()).map(String::from).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_system_flags_case_insensitively_and_drops_recent() {
        let f = Flags::from_imap(["\\SEEN", "\\Recent", "$Label1", "\\flagged", "$Label1", "Junk"]);
        assert!(f.has(SystemFlag::Seen));
        assert!(f.has(SystemFlag::Flagged));
        assert!(!f.has(SystemFlag::Answered));
        assert_eq!(f.keywords, vec!["$Label1", "Junk"]);
        assert_eq!(f.to_imap(), vec!["\\Seen", "\\Flagged", "$Label1", "Junk"]);
    }

    #[test]
    fn column_round_trip() {
        let f = Flags::from_imap(["\\Draft", "a", "b"]);
        assert_eq!(Flags::from_columns(f.system as i64, &f.keywords_column()), f);
        assert_eq!(Flags::from_columns(0, ""), Flags::default());
    }
}
