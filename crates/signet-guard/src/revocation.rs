//! The set of revocations a guard holds, of every kind the issuer's feed carries: revoked
//! `jti`s, and cutoffs of a client (every token issued to it at or before a time), of a subject
//! (every token of a user issued at or before a time) and of an SSO session (every token
//! carrying its `sid`). Each entry is kept until the last token it covers could no longer pass
//! anyway: its `until` (the token's `exp`, or the latest `exp` a covered token can have) plus
//! the leeway the guard allows. All kinds sit behind one lock and are checked by hash lookups.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

/// Revocations of every kind; see the module documentation.
///
/// # Examples
///
/// ```
/// use signet_guard::{RevocationSet, TokenRef};
/// let set = RevocationSet::default();
/// set.cut_off_subject("alice", 1_700_000_000, u64::MAX); // "log out everywhere" at that second
/// let before = TokenRef { sub: Some("alice"), iat: 1_699_999_000, ..TokenRef::default() };
/// let after = TokenRef { sub: Some("alice"), iat: 1_700_000_001, ..TokenRef::default() };
/// assert!(set.covers(&before));
/// assert!(!set.covers(&after));
/// ```
#[derive(Debug, Default)]
pub struct RevocationSet {
    sets: RwLock<Sets>,
}

#[derive(Debug, Default)]
struct Sets {
    /// Revoked `jti`s with the `exp` of their tokens.
    jtis: HashMap<String, u64>,
    clients: HashMap<String, Cutoff>,
    subjects: HashMap<String, Cutoff>,
    /// Ended sessions (`sid`) with the latest `exp` a token of theirs can have.
    sessions: HashMap<String, u64>,
}

#[derive(Debug, Clone, Copy)]
struct Cutoff {
    issued_before: u64,
    until: u64,
}

/// What a token is looked up by.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenRef<'a> {
    /// Its `jti`.
    pub jti: Option<&'a str>,
    /// Its `client_id`.
    pub client_id: Option<&'a str>,
    /// Its `sub`.
    pub sub: Option<&'a str>,
    /// Its `sid`.
    pub sid: Option<&'a str>,
    /// Its `iat` (Unix seconds; 0 when it has none, which every cutoff covers).
    pub iat: u64,
}

fn cut_off(map: &mut HashMap<String, Cutoff>, id: String, issued_before: u64, until: u64) {
    let entry = map.entry(id).or_insert(Cutoff {
        issued_before,
        until,
    });
    entry.issued_before = entry.issued_before.max(issued_before);
    entry.until = entry.until.max(until);
}

fn covered(map: &HashMap<String, Cutoff>, id: Option<&str>, iat: u64) -> bool {
    id.and_then(|id| map.get(id))
        .is_some_and(|cut| iat <= cut.issued_before)
}

impl RevocationSet {
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Sets> {
        self.sets.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Sets> {
        self.sets.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a revoked `jti` whose token expires at `exp` (Unix seconds).
    pub fn insert(&self, jti: impl Into<String>, exp: u64) {
        self.write().jtis.insert(jti.into(), exp);
    }

    /// Records a client cutoff: tokens issued to `client_id` at or before `issued_before` are
    /// revoked; the entry matters until `until` (Unix seconds).
    pub fn cut_off_client(&self, client_id: impl Into<String>, issued_before: u64, until: u64) {
        cut_off(
            &mut self.write().clients,
            client_id.into(),
            issued_before,
            until,
        );
    }

    /// Records a subject cutoff: tokens whose `sub` is `sub` issued at or before
    /// `issued_before` are revoked; the entry matters until `until` (Unix seconds).
    pub fn cut_off_subject(&self, sub: impl Into<String>, issued_before: u64, until: u64) {
        cut_off(&mut self.write().subjects, sub.into(), issued_before, until);
    }

    /// Records an ended session: tokens carrying `sid` are revoked; the entry matters until
    /// `until` (Unix seconds).
    pub fn end_session(&self, sid: impl Into<String>, until: u64) {
        let mut sets = self.write();
        let entry = sets.sessions.entry(sid.into()).or_insert(until);
        *entry = (*entry).max(until);
    }

    /// Whether any entry covers the token.
    pub fn covers(&self, token: &TokenRef<'_>) -> bool {
        let sets = self.read();
        token.jti.is_some_and(|j| sets.jtis.contains_key(j))
            || token.sid.is_some_and(|s| sets.sessions.contains_key(s))
            || covered(&sets.subjects, token.sub, token.iat)
            || covered(&sets.clients, token.client_id, token.iat)
    }

    /// Whether a token issued to `client_id` at `iat` falls under a client cutoff.
    pub fn client_cut_off(&self, client_id: &str, iat: u64) -> bool {
        covered(&self.read().clients, Some(client_id), iat)
    }

    /// Whether `jti` is revoked.
    pub fn contains(&self, jti: &str) -> bool {
        self.read().jtis.contains_key(jti)
    }

    /// Drops the entries whose last covered token expired more than `leeway` seconds before
    /// `now` (Unix seconds): a verifier that allows that leeway refuses those by `exp` alone.
    pub fn prune(&self, now: u64, leeway: u64) {
        let live = |until: u64| until.saturating_add(leeway) >= now;
        let mut sets = self.write();
        sets.jtis.retain(|_, exp| live(*exp));
        sets.clients.retain(|_, cut| live(cut.until));
        sets.subjects.retain(|_, cut| live(cut.until));
        sets.sessions.retain(|_, until| live(*until));
    }

    /// How many entries are held, of all kinds.
    pub fn len(&self) -> usize {
        let sets = self.read();
        sets.jtis.len() + sets.clients.len() + sets.subjects.len() + sets.sessions.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revoked_token_inside_the_leeway_stays_revoked() {
        let set = RevocationSet::default();
        set.insert("t", 1_000);
        set.cut_off_client("c", 900, 1_000);
        // 30 s past exp, with a 60 s leeway: the token could still pass its exp check.
        set.prune(1_030, 60);
        assert!(set.contains("t"));
        assert!(set.client_cut_off("c", 900));
        assert!(
            !set.client_cut_off("c", 901),
            "tokens issued after the cutoff pass"
        );
        // Past exp plus leeway the token fails on exp alone; the entries may go.
        set.prune(1_061, 60);
        assert!(!set.contains("t"));
        assert!(set.is_empty());
    }

    #[test]
    fn user_logged_out_everywhere_keeps_no_old_token_but_a_new_login_passes() {
        let set = RevocationSet::default();
        set.cut_off_subject("alice", 500, 1_100);
        let old = TokenRef {
            sub: Some("alice"),
            iat: 500,
            ..TokenRef::default()
        };
        let new = TokenRef { iat: 501, ..old };
        let other = TokenRef {
            sub: Some("bob"),
            ..old
        };
        assert!(set.covers(&old));
        assert!(!set.covers(&new), "a login after the cutoff passes");
        assert!(!set.covers(&other), "another user's token passes");
        // A token without iat is covered: it cannot show it came after the cutoff.
        assert!(set.covers(&TokenRef { iat: 0, ..old }));
    }

    #[test]
    fn ended_session_denies_each_of_its_tokens_and_no_other() {
        let set = RevocationSet::default();
        set.end_session("s1", 1_000);
        let of_session = TokenRef {
            sid: Some("s1"),
            iat: 999,
            ..TokenRef::default()
        };
        assert!(set.covers(&of_session));
        assert!(!set.covers(&TokenRef {
            sid: Some("s2"),
            ..of_session
        }));
        assert!(!set.covers(&TokenRef {
            sid: None,
            ..of_session
        }));
        set.prune(1_061, 60);
        assert!(set.is_empty(), "the entry goes when its last token could");
    }

    #[test]
    fn later_cutoff_of_the_same_subject_widens_the_entry() {
        let set = RevocationSet::default();
        set.cut_off_subject("u", 100, 700);
        set.cut_off_subject("u", 200, 800);
        set.cut_off_subject("u", 150, 750);
        let at = |iat| TokenRef {
            sub: Some("u"),
            iat,
            ..TokenRef::default()
        };
        assert!(set.covers(&at(200)));
        assert!(!set.covers(&at(201)));
        set.prune(800 + 60, 60);
        assert_eq!(set.len(), 1, "kept until the latest until");
    }
}
