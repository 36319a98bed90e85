//! Property tests: sign-then-verify round trips for every algorithm with arbitrary claims, and
//! no single-byte change to a valid token survives verification.

use std::collections::BTreeMap;

use proptest::prelude::*;
use signet::{Algorithm, Claims, NumericDate, UnverifiedToken};

use crate::{AUD, ISS, NOW, key, validation};

fn any_alg() -> impl Strategy<Value = Algorithm> {
    proptest::sample::select(Algorithm::ALL.to_vec())
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
enum Value {
    Int(i64),
    Text(String),
    Flag(bool),
    List(Vec<String>),
}

fn custom_claims() -> impl Strategy<Value = BTreeMap<String, Value>> {
    let value = prop_oneof![
        any::<i64>().prop_map(Value::Int),
        ".{0,40}".prop_map(Value::Text),
        any::<bool>().prop_map(Value::Flag),
        proptest::collection::vec(".{0,10}", 0..4).prop_map(Value::List),
    ];
    // Custom names avoid the registered ones, which live in `Claims` itself.
    let name = "[a-z_][a-z0-9_]{0,12}".prop_filter("registered claim", |n| {
        !["iss", "sub", "aud", "exp", "nbf", "iat", "jti"].contains(&n.as_str())
    });
    proptest::collection::btree_map(name, value, 0..8)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn sign_then_verify_round_trips_for_every_algorithm(
        alg in any_alg(),
        sub in "\\PC{0,30}",
        jti in proptest::option::of("[A-Za-z0-9\"\\\\/]{1,20}"),
        custom in custom_claims(),
    ) {
        let k = key(alg);
        let claims = Claims {
            iss: Some(ISS.into()),
            sub: Some(sub.clone().into()),
            aud: Some(AUD.into()),
            exp: NumericDate::from_secs(NOW + 60),
            nbf: None,
            iat: NumericDate::from_secs(NOW),
            jti: jti.clone().map(Into::into),
            custom: custom.clone(),
        };
        let token = k.sign(&claims).unwrap();
        let got = k.verifying_key().verify_as::<BTreeMap<String, Value>>(&token, &validation()).unwrap();
        prop_assert_eq!(got.sub.as_deref(), Some(sub.as_str()));
        prop_assert_eq!(got.jti.as_deref(), jti.as_deref());
        prop_assert_eq!(got.custom, custom);
    }

    #[test]
    fn any_single_byte_change_to_a_valid_token_is_refused(
        alg in any_alg(),
        position in any::<prop::sample::Index>(),
        replacement in 0x21u8..0x7f,
    ) {
        let k = key(alg);
        let token = crate::token(k);
        let i = position.index(token.len());
        prop_assume!(token.as_bytes()[i] != replacement);
        let mut bytes = token.into_bytes();
        bytes[i] = replacement;
        let changed = String::from_utf8(bytes).unwrap();
        let outcome = UnverifiedToken::parse(&changed)
            .and_then(|t| t.verify(k.verifying_key(), &validation()).map(|_| ()));
        prop_assert!(outcome.is_err(), "a change at byte {} was accepted", i);
    }
}
