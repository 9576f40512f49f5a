//! The sync plan of one mailbox: a pure function of what the cache holds and
//! what the server reports (DESIGN.md "Sync per mailbox", steps 2-4). The
//! network code in `mailbox.rs` only carries it out, so every case is tested
//! here without a server.

use satchel_cache::SyncState;

use crate::imap::SyncMode;

/// What STATUS or SELECT said about a mailbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerState {
    pub uidvalidity: Option<u32>,
    pub uidnext: Option<u32>,
    pub highestmodseq: Option<u64>,
    pub exists: Option<u32>,
}

/// How to learn about flag changes and expunges among cached messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagStep {
    /// Nothing cached yet, or nothing changed since the last sync.
    Nothing,
    /// QRESYNC: SELECT already reported changed flags and VANISHED UIDs.
    FromSelect,
    /// CONDSTORE: `UID FETCH 1:last (FLAGS) (CHANGEDSINCE modseq)`.
    ChangedSince { modseq: u64, last_uid: u32 },
    /// No CONDSTORE (or no usable MODSEQ yet): `UID FETCH 1:last (FLAGS)`;
    /// cached UIDs missing from the answer were expunged.
    Full { last_uid: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// UIDVALIDITY changed (or first sync): forget cached UIDs and start over
    /// under this UIDVALIDITY.
    pub reset_to: Option<u32>,
    pub flags: FlagStep,
    /// UIDs to fetch whole: `first..=last`.
    pub fetch_new: Option<(u32, u32)>,
    /// CONDSTORE only: compare the message count with EXISTS afterwards and
    /// UID SEARCH for expunges when they differ.
    pub check_expunges: bool,
    /// The MODSEQ to record with the changes (the server's HIGHESTMODSEQ
    /// when SELECT answered, so later changes all have a greater one).
    pub modseq: Option<u64>,
}

/// True when STATUS shows nothing new: the mailbox need not be selected.
/// Only trusted with a MODSEQ: without one, flag changes are invisible to
/// STATUS.
pub fn unchanged(cached: &SyncState, cached_count: u64, status: &ServerState) -> bool {
    cached.uidvalidity.is_some()
        && cached.uidvalidity == status.uidvalidity
        && status.uidnext == Some(cached.uidnext)
        && cached.modseq.is_some()
        && status.highestmodseq == cached.modseq
        && status.exists.map(u64::from) == Some(cached_count)
}

/// The SELECT parameters: QRESYNC with what we know when we can, else
/// CONDSTORE (to get HIGHESTMODSEQ), else nothing (a plain server is never
/// sent CONDSTORE or QRESYNC syntax).
pub fn select_parameters(mode: SyncMode, cached: &SyncState) -> Option<String> {
    match (mode, cached.uidvalidity, cached.modseq) {
        (SyncMode::QResync, Some(uv), Some(modseq)) if cached.uidnext > 1 => {
            Some(format!("(QRESYNC ({uv} {modseq} 1:{}))", cached.uidnext - 1))
        }
        (SyncMode::QResync | SyncMode::CondStore, ..) => Some("(CONDSTORE)".into()),
        (SyncMode::Plain, ..) => None,
    }
}

/// Decides the work after SELECT. `qresync_sent` says whether SELECT
/// carried QRESYNC parameters (and so already reported changes).
pub fn plan(
    mode: SyncMode,
    cached: &SyncState,
    cached_count: u64,
    selected: &ServerState,
    qresync_sent: bool,
) -> Plan {
    let server_uidnext = selected.uidnext.unwrap_or(1).max(1);
    let modseq = if mode == SyncMode::Plain { None } else { selected.highestmodseq };
    let reset_to = match (cached.uidvalidity, selected.uidvalidity) {
        (Some(old), Some(new)) if old != new => Some(new),
        (None, Some(new)) => Some(new),
        _ => None,
    };
    // After a reset everything is fetched afresh.
    let (from_uid, has_cached) = if reset_to.is_some() {
        (1, false)
    } else {
        (cached.uidnext.max(1), cached_count > 0 || cached.uidnext > 1)
    };
    let last_cached_uid = from_uid.saturating_sub(1);

    let flags = if !has_cached || last_cached_uid == 0 {
        FlagStep::Nothing
    } else {
        match (mode, cached.modseq, modseq) {
            (SyncMode::QResync, Some(_), _) if qresync_sent => FlagStep::FromSelect,
            (SyncMode::QResync | SyncMode::CondStore, Some(old), Some(new)) if old == new => FlagStep::Nothing,
            (SyncMode::QResync | SyncMode::CondStore, Some(old), Some(_)) => {
                FlagStep::ChangedSince { modseq: old, last_uid: last_cached_uid }
            }
            _ => FlagStep::Full { last_uid: last_cached_uid },
        }
    };
    let fetch_new = (server_uidnext > from_uid).then(|| (from_uid, server_uidnext - 1));
    Plan {
        reset_to,
        flags,
        fetch_new,
        // QRESYNC reports expunges (VANISHED); a full flag fetch reveals them;
        // CONDSTORE alone does not, so count and search when needed.
        check_expunges: mode == SyncMode::CondStore && has_cached,
        modseq,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(uv: Option<u32>, next: u32, modseq: Option<u64>) -> SyncState {
        SyncState { uidvalidity: uv, uidnext: next, modseq }
    }

    fn server(uv: u32, next: u32, modseq: Option<u64>, exists: u32) -> ServerState {
        ServerState { uidvalidity: Some(uv), uidnext: Some(next), highestmodseq: modseq, exists: Some(exists) }
    }

    #[test]
    fn first_sync_fetches_everything_under_the_new_uidvalidity() {
        let p = plan(SyncMode::QResync, &state(None, 1, None), 0, &server(7, 101, Some(50), 100), false);
        assert_eq!(p.reset_to, Some(7));
        assert_eq!(p.flags, FlagStep::Nothing);
        assert_eq!(p.fetch_new, Some((1, 100)));
        assert_eq!(p.modseq, Some(50));
        assert!(!p.check_expunges);
    }

    #[test]
    fn empty_mailbox_fetches_nothing() {
        let p = plan(SyncMode::Plain, &state(None, 1, None), 0, &server(7, 1, None, 0), false);
        assert_eq!(p.fetch_new, None);
        assert_eq!(p.flags, FlagStep::Nothing);
    }

    #[test]
    fn uidvalidity_change_rebuilds() {
        let p = plan(SyncMode::QResync, &state(Some(7), 101, Some(50)), 100, &server(8, 11, Some(3), 10), true);
        assert_eq!(p.reset_to, Some(8));
        assert_eq!(p.flags, FlagStep::Nothing);
        assert_eq!(p.fetch_new, Some((1, 10)));
    }

    #[test]
    fn qresync_takes_changes_from_select_and_fetches_only_new() {
        let p = plan(SyncMode::QResync, &state(Some(7), 101, Some(50)), 100, &server(7, 105, Some(60), 102), true);
        assert_eq!(p.reset_to, None);
        assert_eq!(p.flags, FlagStep::FromSelect);
        assert_eq!(p.fetch_new, Some((101, 104)));
        assert!(!p.check_expunges);
        assert_eq!(p.modseq, Some(60));
    }

    #[test]
    fn qresync_without_a_known_modseq_falls_back_to_a_full_flag_fetch() {
        let p = plan(SyncMode::QResync, &state(Some(7), 101, None), 100, &server(7, 101, Some(60), 100), false);
        assert_eq!(p.flags, FlagStep::Full { last_uid: 100 });
        assert_eq!(p.fetch_new, None);
    }

    #[test]
    fn condstore_asks_for_changes_since_and_checks_expunges() {
        let p = plan(SyncMode::CondStore, &state(Some(7), 101, Some(50)), 100, &server(7, 101, Some(55), 98), false);
        assert_eq!(p.flags, FlagStep::ChangedSince { modseq: 50, last_uid: 100 });
        assert!(p.check_expunges);
        assert_eq!(p.fetch_new, None);
    }

    #[test]
    fn condstore_with_same_modseq_skips_the_flag_fetch() {
        let p = plan(SyncMode::CondStore, &state(Some(7), 101, Some(50)), 100, &server(7, 101, Some(50), 100), false);
        assert_eq!(p.flags, FlagStep::Nothing);
        assert!(p.check_expunges, "expunges do not move HIGHESTMODSEQ on every server");
    }

    #[test]
    fn plain_server_always_fetches_all_flags_and_never_records_a_modseq() {
        let p = plan(SyncMode::Plain, &state(Some(7), 101, None), 100, &server(7, 103, Some(99), 102), false);
        assert_eq!(p.flags, FlagStep::Full { last_uid: 100 });
        assert_eq!(p.fetch_new, Some((101, 102)));
        assert_eq!(p.modseq, None);
        assert!(!p.check_expunges);
    }

    #[test]
    fn interrupted_initial_sync_resumes_after_the_last_committed_batch() {
        // Batches up to UID 400 were committed with MODSEQ 50 before the drop.
        let p = plan(SyncMode::QResync, &state(Some(7), 401, Some(50)), 400, &server(7, 1001, Some(50), 1000), true);
        assert_eq!(p.reset_to, None);
        assert_eq!(p.fetch_new, Some((401, 1000)));
        assert_eq!(p.flags, FlagStep::FromSelect);
    }

    #[test]
    fn select_parameters_per_mode() {
        assert_eq!(
            select_parameters(SyncMode::QResync, &state(Some(7), 101, Some(50))).as_deref(),
            Some("(QRESYNC (7 50 1:100))")
        );
        assert_eq!(select_parameters(SyncMode::QResync, &state(None, 1, None)).as_deref(), Some("(CONDSTORE)"));
        assert_eq!(select_parameters(SyncMode::CondStore, &state(Some(7), 101, Some(50))).as_deref(), Some("(CONDSTORE)"));
        assert_eq!(select_parameters(SyncMode::Plain, &state(Some(7), 101, Some(50))), None);
    }

    #[test]
    fn status_shortcut_needs_every_number_to_match() {
        let cached = state(Some(7), 101, Some(50));
        assert!(unchanged(&cached, 100, &server(7, 101, Some(50), 100)));
        assert!(!unchanged(&cached, 100, &server(7, 101, Some(51), 100)));
        assert!(!unchanged(&cached, 100, &server(7, 102, Some(50), 100)));
        assert!(!unchanged(&cached, 99, &server(7, 101, Some(50), 100)));
        assert!(!unchanged(&cached, 100, &server(8, 101, Some(50), 100)));
        assert!(!unchanged(&state(Some(7), 101, None), 100, &server(7, 101, None, 100)));
    }
}
