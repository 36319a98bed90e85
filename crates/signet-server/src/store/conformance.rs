//! The store contract, checked unchanged against both backends: every test runs on a fresh
//! SQLite file and, when `SIGNET_TEST_POSTGRES_URL` is set, on a fresh PostgreSQL schema
//! (it says so when it skips PostgreSQL).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use super::{
    Client, EntryKind, Family, IssuedAccess, KeyAddition, Location, RefreshUse, SharedStore,
    StoredKey, Successor, User,
};

const NOW: i64 = 1_800_000_000;

/// A fresh store of each backend available, with a name for messages.
async fn stores() -> Vec<(&'static str, SharedStore, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = super::open(&Location::Sqlite(dir.path().join("signet.db")), true)
        .await
        .unwrap();
    let mut all = vec![("sqlite", sqlite, dir)];
    match std::env::var("SIGNET_TEST_POSTGRES_URL") {
        Ok(url) => {
            let url = fresh_schema(&url).await;
            let pg = super::open(&Location::Postgres(url), true).await.unwrap();
            all.push(("postgres", pg, tempfile::tempdir().unwrap()));
        }
        Err(_) => eprintln!("SIGNET_TEST_POSTGRES_URL is not set: PostgreSQL skipped"),
    }
    all
}

/// Makes a new schema in the database at `url`; returns a URL whose connections use it.
pub(crate) async fn fresh_schema(url: &str) -> String {
    use sqlx::Connection;
    let name = format!(
        "signet_unit_{}",
        crate::sealing::random_token(9)
            .unwrap()
            .to_lowercase()
            .replace(['-', '_'], "x")
    );
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query(&format!("CREATE SCHEMA {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{name}")
}

fn family(id: &str, client: &str, user: Option<&str>) -> Family {
    Family {
        id: id.into(),
        user_id: user.map(Into::into),
        client_id: client.into(),
        scope: "a".into(),
        audience: "api".into(),
        expires_at: NOW + 86_400,
        revoked: false,
        session_id: None,
    }
}

fn successor(n: usize) -> Successor {
    Successor {
        hash: format!("next-{n}").into_bytes(),
        expires_at: NOW + 3600,
        jti: format!("jti-next-{n}"),
        access_exp: NOW + 600,
        kid: "k1".into(),
    }
}

async fn login(store: &SharedStore, id: &str, token: &[u8], jti: &str) {
    let access = IssuedAccess {
        jti,
        exp: NOW + 600,
        kid: "k1",
    };
    store
        .start_family(
            &family(id, "web", Some("u1")),
            token,
            NOW + 3600,
            access,
            NOW,
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_token_stolen_by_another_client_is_neither_rotated_nor_taken_for_reuse() {
    for (name, store, _dir) in stores().await {
        login(&store, "f1", b"r0", "jti-0").await;
        // Claims of many tokens committed together: the other client's claim is left out.
        let (s0, s1) = (successor(0), successor(1));
        let (stolen, own) = tokio::join!(
            store.use_refresh(b"r0", "other", NOW + 1, &s0),
            store.use_refresh(b"r0", "web", NOW + 1, &s1),
        );
        let (stolen, own) = (stolen.unwrap(), own.unwrap());
        assert!(matches!(own, RefreshUse::Rotated(_)), "{name}");
        assert!(
            matches!(stolen, RefreshUse::Invalid),
            "{name}: another client cannot rotate the token"
        );
        // Used now, the token shown by the other client is still no reuse of its own login.
        let again = store
            .use_refresh(b"r0", "other", NOW + 2, &successor(2))
            .await
            .unwrap();
        assert!(matches!(again, RefreshUse::Invalid), "{name}");
        let family = store.family_of(&successor(1).hash).await.unwrap().unwrap();
        assert!(!family.revoked, "{name}: the owner's login stands");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uses_of_one_refresh_token_have_exactly_one_winner() {
    for (name, store, _dir) in stores().await {
        login(&store, "f1", b"r0", "jti-0").await;
        let tasks: Vec<_> = (0..50)
            .map(|n| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    store
                        .use_refresh(b"r0", "web", NOW + 1, &successor(n))
                        .await
                })
            })
            .collect();
        let mut rotated = 0;
        let mut reused = 0;
        for t in tasks {
            match t.await.unwrap().unwrap() {
                RefreshUse::Rotated(f) => {
                    assert_eq!(f.id, "f1");
                    rotated += 1;
                }
                RefreshUse::Reused { family_id, .. } => {
                    assert_eq!(family_id, "f1");
                    reused += 1;
                }
                RefreshUse::Invalid => panic!("{name}: a used token is reuse, not invalid"),
            }
        }
        assert_eq!((rotated, reused), (1, 49), "{name}");
        // Exactly one successor is live.
        let live: Vec<usize> = {
            let mut live = Vec::new();
            for n in 0..50 {
                if store
                    .refresh_family(&successor(n).hash, NOW + 2)
                    .await
                    .unwrap()
                    .is_some()
                {
                    live.push(n);
                }
            }
            live
        };
        assert_eq!(live.len(), 1, "{name}: one live successor, got {live:?}");
    }
}

#[tokio::test]
async fn a_revoked_family_rotates_nothing_and_denies_its_access_tokens() {
    for (name, store, _dir) in stores().await {
        login(&store, "f1", b"r0", "jti-0").await;
        store.revoke_family("f1", NOW).await.unwrap();
        assert!(matches!(
            store
                .use_refresh(b"r0", "web", NOW + 1, &successor(0))
                .await
                .unwrap(),
            RefreshUse::Invalid
        ));
        assert!(
            store
                .refresh_family(&successor(0).hash, NOW + 1)
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
        assert!(
            store
                .is_denied(&ids("jti-0", "web", "u", None, NOW))
                .await
                .unwrap(),
            "{name}"
        );
        let feed = store.revocations_after(0, 0, 100).await.unwrap();
        assert_eq!(feed.len(), 1, "{name}");
        assert_eq!(feed[0].kind, EntryKind::Jti);
    }
}

#[tokio::test]
async fn the_grace_rule_keeps_one_live_token_and_never_revives_a_used_successor() {
    for (name, store, _dir) in stores().await {
        login(&store, "f1", b"r0", "jti-0").await;
        assert!(matches!(
            store
                .use_refresh(b"r0", "web", NOW + 1, &successor(1))
                .await
                .unwrap(),
            RefreshUse::Rotated(_)
        ));
        // Within the grace: r0 again discards successor 1 for successor 2.
        assert!(
            store
                .regrace(b"r0", NOW + 2, NOW, &successor(2))
                .await
                .unwrap()
                .is_some(),
            "{name}"
        );
        assert!(
            store
                .refresh_family(&successor(1).hash, NOW + 2)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .refresh_family(&successor(2).hash, NOW + 2)
                .await
                .unwrap()
                .is_some()
        );
        // Once successor 2 is used, the grace no longer applies.
        assert!(matches!(
            store
                .use_refresh(&successor(2).hash, "web", NOW + 3, &successor(3))
                .await
                .unwrap(),
            RefreshUse::Rotated(_)
        ));
        assert!(
            store
                .regrace(b"r0", NOW + 4, NOW, &successor(4))
                .await
                .unwrap()
                .is_none(),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_follower_paging_by_cursor_never_skips_an_entry_written_concurrently() {
    for (name, store, _dir) in stores().await {
        const WRITERS: usize = 8;
        const EACH: usize = 40;
        let writers: Vec<_> = (0..WRITERS)
            .map(|w| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    for i in 0..EACH {
                        store
                            .revoke_jti(&format!("w{w}-{i}"), NOW + 600, NOW)
                            .await
                            .unwrap();
                    }
                })
            })
            .collect();
        // A follower pages while the writers run, and once more after they are done;
        // whatever it read must then be the whole feed, in order.
        let mut cursor = 0;
        let mut seen = Vec::new();
        let mut page_of = |page: Vec<super::FeedEntry>, cursor: &mut i64| {
            for e in page {
                *cursor = e.seq;
                seen.push(e.seq);
            }
        };
        while !writers.iter().all(tokio::task::JoinHandle::is_finished) {
            page_of(
                store.revocations_after(cursor, 0, 7).await.unwrap(),
                &mut cursor,
            );
            tokio::task::yield_now().await;
        }
        for w in writers {
            w.await.unwrap();
        }
        loop {
            let page = store.revocations_after(cursor, 0, 7).await.unwrap();
            if page.is_empty() {
                break;
            }
            page_of(page, &mut cursor);
        }
        let all: Vec<i64> = store
            .revocations_after(0, 0, 10_000)
            .await
            .unwrap()
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(
            seen, all,
            "{name}: the follower skipped or reordered entries"
        );
    }
}

fn key(kid: &str, active_from: i64) -> StoredKey {
    StoredKey {
        kid: kid.into(),
        alg: "ES256".into(),
        sealed: vec![1, 2, 3],
        public_jwk: "{}".into(),
        created_at: NOW,
        active_from,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_first_keys_added_at_once_exactly_one_is_kept() {
    for (name, store, _dir) in stores().await {
        let tasks: Vec<_> = (0..10)
            .map(|n| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    store
                        .add_key(&key(&format!("first-{n}"), NOW), KeyAddition::First)
                        .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert_eq!(store.keys().await.unwrap().len(), 1, "{name}");
        let before = store.keys_version().await.unwrap();
        store
            .add_key(&key("next", NOW + 300), KeyAddition::Always)
            .await
            .unwrap();
        assert_ne!(store.keys_version().await.unwrap(), before, "{name}");
        // Revoking a key ends the logins it signed for and publishes a key entry.
        login(&store, "f1", b"r0", "jti-0").await;
        assert_eq!(
            store.revoke_key("k1", NOW, NOW + 900).await.unwrap(),
            None,
            "{name}: k1 was never stored"
        );
        let kept = store.keys().await.unwrap()[0].kid.clone();
        store
            .add_key(&key("k1", NOW - 10), KeyAddition::Always)
            .await
            .unwrap();
        assert_eq!(
            store.revoke_key("k1", NOW, NOW + 900).await.unwrap(),
            Some(1)
        );
        assert!(store.keys().await.unwrap().iter().all(|k| k.kid != "k1"));
        assert!(store.keys().await.unwrap().iter().any(|k| k.kid == kept));
        let feed = store.revocations_after(0, 0, 100).await.unwrap();
        assert!(
            feed.iter()
                .any(|e| e.kind == EntryKind::Key && e.id == "k1"),
            "{name}"
        );
        assert!(
            feed.iter()
                .any(|e| e.kind == EntryKind::Jti && e.id == "jti-0"),
            "{name}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_instances_making_a_due_rotation_at_once_exactly_one_adds_a_key() {
    for (name, store, _dir) in stores().await {
        store
            .add_key(&key("old", NOW - 100), KeyAddition::First)
            .await
            .unwrap();
        let tasks: Vec<_> = (0..10)
            .map(|n| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    store
                        .add_key(&key(&format!("next-{n}"), NOW + 300), KeyAddition::Rotation)
                        .await
                })
            })
            .collect();
        let mut added = 0;
        for t in tasks {
            added += usize::from(t.await.unwrap().unwrap());
        }
        assert_eq!(added, 1, "{name}");
        assert_eq!(store.keys().await.unwrap().len(), 2, "{name}");
        // Once that key signs, the next rotation may add one again.
        let mut later = key("after", NOW + 900);
        later.created_at = NOW + 600;
        assert!(
            store.add_key(&later, KeyAddition::Rotation).await.unwrap(),
            "{name}"
        );
    }
}

fn user(name: &str) -> User {
    User {
        id: format!("id-{name}"),
        name: name.into(),
        password_hash: "$argon2id$fake".into(),
        roles: vec!["admin".into()],
        claims: serde_json::Map::new(),
        disabled: false,
        profile: super::Profile::default(),
    }
}

fn client(id: &str) -> Client {
    Client {
        id: id.into(),
        secret_hash: Some(vec![9; 32]),
        grants: vec!["client_credentials".into()],
        scopes: vec!["a".into(), "b".into()],
        audiences: vec!["api".into()],
        introspect: true,
        oidc: super::OidcRegistration::default(),
        roles: vec![],
    }
}

/// What a token with these claims is looked up by.
fn ids<'a>(
    jti: &'a str,
    client_id: &'a str,
    sub: &'a str,
    sid: Option<&'a str>,
    iat: i64,
) -> super::TokenIds<'a> {
    super::TokenIds {
        jti,
        client_id,
        sub,
        sid,
        iat,
    }
}

#[tokio::test]
async fn users_and_clients_are_unique_and_their_removal_ends_their_logins() {
    for (name, store, _dir) in stores().await {
        store.add_user(&user("alice"), NOW).await.unwrap();
        assert!(matches!(
            store.add_user(&user("alice"), NOW).await,
            Err(super::StoreError::Conflict(_))
        ));
        let alice = store.user_by_name("alice").await.unwrap().unwrap();
        assert_eq!(
            (alice.roles.clone(), alice.disabled),
            (vec!["admin".to_owned()], false)
        );
        assert_eq!(
            store.user_by_id("id-alice").await.unwrap().unwrap().name,
            "alice"
        );
        store
            .start_family(
                &family("fa", "web", Some("id-alice")),
                b"ra",
                NOW + 3600,
                IssuedAccess {
                    jti: "jti-a",
                    exp: NOW + 600,
                    kid: "k1",
                },
                NOW,
            )
            .await
            .unwrap();
        assert_eq!(
            store
                .cut_off_user("alice", &super::UserChange::Disable, NOW, NOW + 600)
                .await
                .unwrap()
                .as_deref(),
            Some("id-alice")
        );
        assert!(
            store.user_by_name("alice").await.unwrap().unwrap().disabled,
            "{name}"
        );
        assert!(
            store.family_of(b"ra").await.unwrap().unwrap().revoked,
            "{name}"
        );
        assert!(
            store
                .cut_off_user("nobody", &super::UserChange::Delete, NOW, NOW + 600)
                .await
                .unwrap()
                .is_none()
        );

        store.add_client(&client("backend"), NOW).await.unwrap();
        assert!(matches!(
            store.add_client(&client("backend"), NOW).await,
            Err(super::StoreError::Conflict(_))
        ));
        let c = store.client("backend").await.unwrap().unwrap();
        assert!(c.introspect && !c.is_public(), "{name}");
        assert!(
            store
                .set_client_scopes("backend", &["a".into()])
                .await
                .unwrap()
        );
        assert_eq!(
            store.client("backend").await.unwrap().unwrap().scopes,
            vec!["a"]
        );
        assert!(
            store
                .cut_off_client("backend", &super::ClientChange::Delete, NOW, NOW + 900)
                .await
                .unwrap()
        );
        assert!(store.client("backend").await.unwrap().is_none());
        assert!(
            !store
                .cut_off_client("backend", &super::ClientChange::Delete, NOW, NOW + 900)
                .await
                .unwrap()
        );
        // The cutoff denies every token issued to the client up to now.
        assert!(
            store
                .is_denied(&ids("any", "backend", "x", None, NOW))
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            !store
                .is_denied(&ids("any", "backend", "x", None, NOW + 1))
                .await
                .unwrap(),
            "{name}"
        );
        // Pruning forgets entries past exp plus what the verifiers may need.
        store.prune(NOW + 10_000, 120).await.unwrap();
        assert!(
            store.revocations_after(0, 0, 100).await.unwrap().is_empty(),
            "{name}"
        );
        store.ping().await.unwrap();
    }
}

fn code(client_id: &str) -> super::AuthCode {
    super::AuthCode {
        client_id: client_id.into(),
        redirect_uri: "https://app.example/cb".into(),
        code_challenge: "c".repeat(43),
        nonce: Some("n-1".into()),
        scope: "openid".into(),
        session_id: "s1".into(),
        user_id: "id-alice".into(),
        auth_time: NOW,
        expires_at: NOW + 60,
    }
}

fn issue(n: usize) -> super::CodeIssue {
    super::CodeIssue {
        family_id: Some(format!("fam-{n}")),
        access_jti: format!("jti-{n}"),
        access_exp: NOW + 600,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_authorization_code_is_redeemed_once_and_a_replay_learns_what_the_first_use_issued() {
    for (name, store, _dir) in stores().await {
        let session = super::SsoSession {
            id: "s1".into(),
            user_id: "id-alice".into(),
            auth_time: NOW,
            expires_at: NOW + 3600,
        };
        store
            .start_session(&session, b"cookie-hash", NOW)
            .await
            .unwrap();
        store.add_client(&client("web"), NOW).await.unwrap();
        let tasks: Vec<_> = (0..20)
            .map(|n| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    store
                        .redeem_code(b"code-1", &code("web"), NOW + 1, &issue(n))
                        .await
                })
            })
            .collect();
        let mut winner = None;
        let mut replays = Vec::new();
        for (n, t) in tasks.into_iter().enumerate() {
            match t.await.unwrap().unwrap() {
                super::CodeUse::Redeemed(c) => {
                    assert_eq!(c.nonce.as_deref(), Some("n-1"), "{name}");
                    assert!(winner.replace(n).is_none(), "{name}: two winners");
                }
                super::CodeUse::Replayed(first) => replays.push(first),
                super::CodeUse::Invalid => panic!("{name}: a used code is a replay"),
            }
        }
        let winner = winner.expect("one use redeems the code");
        assert_eq!(replays.len(), 19, "{name}");
        for first in replays {
            assert_eq!(first.access_jti, format!("jti-{winner}"), "{name}");
            assert_eq!(first.family_id, Some(format!("fam-{winner}")), "{name}");
        }
        // An expired code is no code at all, but a used one is still known as used after.
        assert!(matches!(
            store
                .redeem_code(b"code-2", &code("web"), NOW + 61, &issue(0))
                .await
                .unwrap(),
            super::CodeUse::Invalid
        ));
        assert!(matches!(
            store
                .redeem_code(b"code-1", &code("web"), NOW + 61, &issue(0))
                .await
                .unwrap(),
            super::CodeUse::Replayed(first) if first.access_jti == format!("jti-{winner}")
        ));
        // The session is found by its cookie while it lasts, and not after.
        let found = store
            .session_by_cookie(b"cookie-hash", NOW + 10)
            .await
            .unwrap();
        assert_eq!(found.map(|s| s.id).as_deref(), Some("s1"), "{name}");
        assert!(
            store
                .session_by_cookie(b"cookie-hash", NOW + 3600)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .session_by_cookie(b"other", NOW)
                .await
                .unwrap()
                .is_none()
        );
        // The session's end names the client its redeemed code logged into; a code handed out
        // before the end (the user logged out) buys nothing after.
        let ended = store
            .end_session("s1", NOW + 2, NOW + 602)
            .await
            .unwrap()
            .expect("the session was live");
        let clients: Vec<&str> = ended.clients.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(clients, ["web"], "{name}");
        assert!(
            matches!(
                store
                    .redeem_code(b"code-3", &code("web"), NOW + 3, &issue(0))
                    .await
                    .unwrap(),
                super::CodeUse::Invalid
            ),
            "{name}: a code of an ended session was redeemed"
        );
    }
}

#[tokio::test]
async fn one_entry_revokes_a_whole_user_client_or_session_and_kinds_never_collide() {
    for (name, store, _dir) in stores().await {
        store.add_user(&user("alice"), NOW).await.unwrap();
        store.add_client(&client("alice-app"), NOW).await.unwrap();
        store
            .start_family(
                &family("fa", "alice-app", Some("id-alice")),
                b"ra",
                NOW + 3600,
                IssuedAccess {
                    jti: "jti-a",
                    exp: NOW + 600,
                    kid: "k1",
                },
                NOW,
            )
            .await
            .unwrap();
        // A new password: the logins end, and one subject entry covers every token so far.
        let before_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        let change = super::UserChange::Password("$argon2id$new".into());
        assert!(
            store
                .cut_off_user("alice", &change, NOW, NOW + 600)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(
            store
                .user_by_name("alice")
                .await
                .unwrap()
                .unwrap()
                .password_hash,
            "$argon2id$new",
            "{name}"
        );
        assert!(
            store.family_of(b"ra").await.unwrap().unwrap().revoked,
            "{name}"
        );
        let old = ids("other-jti", "web", "id-alice", None, NOW);
        assert!(store.is_denied(&old).await.unwrap(), "{name}");
        assert!(
            !store
                .is_denied(&super::TokenIds {
                    iat: NOW + 1,
                    ..old
                })
                .await
                .unwrap(),
            "{name}: a token issued after the cutoff passes"
        );
        // "Log out everywhere" later moves the same user's entry on.
        assert!(
            store
                .cut_off_user("alice", &super::UserChange::LogOut, NOW + 5, NOW + 605)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            store
                .is_denied(&super::TokenIds {
                    iat: NOW + 5,
                    ..old
                })
                .await
                .unwrap(),
            "{name}"
        );
        assert!(
            !store.user_by_name("alice").await.unwrap().unwrap().disabled,
            "{name}: logging out everywhere does not disable"
        );
        // A client entry of the same id is its own entry.
        assert!(
            store
                .cut_off_client(
                    "alice-app",
                    &super::ClientChange::Secret(vec![7; 32]),
                    NOW + 6,
                    NOW + 606,
                )
                .await
                .unwrap()
        );
        assert_eq!(
            store
                .client("alice-app")
                .await
                .unwrap()
                .unwrap()
                .secret_hash,
            Some(vec![7; 32])
        );
        assert!(
            !store
                .cut_off_client(
                    "nobody",
                    &super::ClientChange::Secret(vec![7; 32]),
                    NOW,
                    NOW
                )
                .await
                .unwrap()
        );
        let feed = store.revocations_after(0, 0, 100).await.unwrap();
        let kinds: Vec<(EntryKind, &str)> = feed.iter().map(|e| (e.kind, e.id.as_str())).collect();
        assert!(
            kinds.contains(&(EntryKind::Subject, "id-alice")),
            "{name}: {kinds:?}"
        );
        assert!(
            kinds.contains(&(EntryKind::Client, "alice-app")),
            "{name}: {kinds:?}"
        );
        assert_eq!(
            feed.iter().filter(|e| e.kind == EntryKind::Subject).count(),
            1,
            "{name}: the later cutoff replaced the earlier"
        );
        let subject = feed.iter().find(|e| e.kind == EntryKind::Subject).unwrap();
        assert_eq!((subject.revoked_at, subject.exp), (NOW + 5, NOW + 605));
        assert!(
            u128::try_from(subject.revoked_ms).unwrap() + 1_000 >= before_ms,
            "{name}: revoked_ms is the write's time in milliseconds"
        );
        let app_token = ids("j", "alice-app", "svc", None, NOW + 6);
        assert!(store.is_denied(&app_token).await.unwrap(), "{name}");

        // An ended session: one entry covers every token carrying its sid.
        store
            .start_session(
                &super::SsoSession {
                    id: "s9".into(),
                    user_id: "id-alice".into(),
                    auth_time: NOW,
                    expires_at: NOW + 3600,
                },
                b"cookie-9",
                NOW,
            )
            .await
            .unwrap();
        assert!(
            store
                .end_session("s9", NOW + 7, NOW + 607)
                .await
                .unwrap()
                .is_some()
        );
        let of_session = ids("j2", "web", "someone", Some("s9"), NOW + 100);
        assert!(store.is_denied(&of_session).await.unwrap(), "{name}");
        assert!(
            !store
                .is_denied(&super::TokenIds {
                    sid: Some("s8"),
                    ..of_session
                })
                .await
                .unwrap(),
            "{name}"
        );
        let feed = store.revocations_after(0, 0, 100).await.unwrap();
        assert!(
            feed.iter()
                .any(|e| e.kind == EntryKind::Session && e.id == "s9" && e.exp == NOW + 607),
            "{name}"
        );
    }
}

#[tokio::test]
async fn ssf_outbox_delivers_each_event_until_acknowledged_and_one_claim_wins() {
    for (name, store, _dir) in stores().await {
        let stream = super::ssf::SsfStream {
            id: "st1".into(),
            client_id: "siem".into(),
            config: "{}".into(),
            push: 1,
            status: "enabled".into(),
            reason: None,
            created_at: NOW,
        };
        store.add_stream(&stream).await.unwrap();
        assert!(store.stream("st1").await.unwrap().is_some(), "{name}");
        store
            .set_subject("st1", "{\"format\":\"opaque\",\"id\":\"x\"}", false)
            .await
            .unwrap();
        store
            .set_subject("st1", "{\"format\":\"opaque\",\"id\":\"x\"}", true)
            .await
            .unwrap();
        assert_eq!(
            store.subjects("st1").await.unwrap(),
            vec![("{\"format\":\"opaque\",\"id\":\"x\"}".to_owned(), true)],
            "{name}"
        );
        let events: Vec<(String, String, String)> = (0..3)
            .map(|i| ("st1".to_owned(), format!("j{i}"), "{}".to_owned()))
            .collect();
        store.enqueue(&events, NOW).await.unwrap();
        let due = store.due(NOW, 10).await.unwrap();
        assert_eq!(due.len(), 3, "{name}");
        // Two instances claim the same attempt: one wins; the event is not due again before
        // its retry time.
        assert!(
            store.claim(due[0].seq, NOW, NOW + 2).await.unwrap(),
            "{name}"
        );
        assert!(
            !store.claim(due[0].seq, NOW, NOW + 2).await.unwrap(),
            "{name}"
        );
        assert_eq!(store.due(NOW + 1, 10).await.unwrap().len(), 2, "{name}");
        assert_eq!(
            store.due(NOW + 2, 10).await.unwrap()[0].attempts,
            1,
            "{name}"
        );
        assert_eq!(
            store
                .ack(
                    "st1",
                    &["j0".to_owned(), "j1".to_owned(), "nope".to_owned()],
                    NOW
                )
                .await
                .unwrap(),
            2,
            "{name}"
        );
        let left: Vec<String> = store
            .pending("st1", 10)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.jti)
            .collect();
        assert_eq!(left, ["j2"], "{name}");
        // Another client may not change or delete the stream; its owner may.
        let mut paused = stream.clone();
        paused.status = "paused".into();
        assert!(store.save_stream(&paused).await.unwrap(), "{name}");
        assert!(
            store.due(NOW + 10, 10).await.unwrap().is_empty(),
            "{name}: paused holds"
        );
        assert!(
            !store.delete_stream("st1", "other").await.unwrap(),
            "{name}"
        );
        assert!(store.delete_stream("st1", "siem").await.unwrap(), "{name}");
        assert!(store.pending("st1", 10).await.unwrap().is_empty(), "{name}");
        store.prune_events(NOW, NOW).await.unwrap();
    }
}
