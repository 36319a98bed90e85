//! Revoking (RFC 7009) and introspecting (RFC 7662) the issuer's own tokens.

use serde_json::{Map, Value, json};
use signet::Validation;

use super::DomainError;
use super::Issuer;
use super::grants::refresh_hash;
use crate::store::Client;

/// One of this issuer's access tokens, checked except for its expiry and audience.
pub(crate) async fn own_access_token(
    issuer: &Issuer,
    token: &str,
) -> Option<signet::Claims<'static, Map<String, Value>>> {
    let ring = issuer.keys.current(issuer.now()).await.ok()?;
    let validation = Validation::builder()
        .issuer(issuer.config.issuer())
        .insecure_any_audience()
        .required_typ("at+jwt")
        .clock(std::sync::Arc::clone(&issuer.config.clock))
        .build();
    ring.verifier.verify_as(token, &validation).ok()
}

/// Revokes a token for the client that holds it: a refresh token in any issuer (a rotated one
/// too) ends its whole login; an access token's `jti` is denied until it expires. A token of
/// another client, or no token of this issuer, changes nothing.
pub(crate) async fn revoke(
    issuer: &Issuer,
    client: &Client,
    token: &str,
) -> Result<(), DomainError> {
    let now = issuer.now();
    if let Some(family) = issuer.store.family_of(&refresh_hash(token)).await? {
        if family.client_id == client.id && !family.revoked {
            issuer.end_login(&family.id, now).await?;
        }
    } else if let Some(claims) = own_access_token(issuer, token).await
        && claims.custom.get("client_id").and_then(Value::as_str) == Some(client.id.as_str())
        && let (Some(jti), Some(exp)) = (claims.jti.as_deref(), claims.exp)
    {
        issuer
            .deny(jti, i64::try_from(exp.as_secs()).unwrap_or(i64::MAX), now)
            .await?;
    }
    Ok(())
}

/// What `asker` may learn of a token: its RFC 7662 claims when it is live and `asker` is the
/// client it was issued to, or a resource server registered for its audience; else `None`
/// (answered `{"active": false}`).
pub(crate) async fn introspect(
    issuer: &Issuer,
    asker: &Client,
    token: &str,
) -> Result<Option<Value>, DomainError> {
    let now = issuer.now();
    let may_see = |client_id: &str, audience: &str| {
        asker.id == client_id || (asker.introspect && asker.audiences.iter().any(|a| a == audience))
    };
    if let Some((family, exp)) = issuer
        .store
        .refresh_family(&refresh_hash(token), now)
        .await?
        && may_see(&family.client_id, &family.audience)
    {
        return Ok(Some(json!({
            "active": true, "token_type": "refresh_token", "client_id": family.client_id,
            "scope": family.scope, "exp": exp,
        })));
    }
    let Some(claims) = own_access_token(issuer, token).await else {
        return Ok(None);
    };
    // A token naming no client is seen only by an introspecting client of its audience (no
    // client's id is empty).
    let client_id = claims
        .custom
        .get("client_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let seen = claims
        .aud
        .as_ref()
        .is_some_and(|aud| aud.iter().any(|a| may_see(client_id, a)));
    let live = claims
        .exp
        .is_some_and(|e| i64::try_from(e.as_secs()).unwrap_or(i64::MAX) > now);
    if !seen || !live {
        return Ok(None);
    }
    if issuer.store.is_denied(&token_ids(&claims)).await? {
        return Ok(None);
    }
    let mut body = serde_json::to_value(&claims).map_err(|e| DomainError::Internal(e.into()))?;
    body["active"] = json!(true);
    body["token_type"] = json!("Bearer");
    Ok(Some(body))
}

/// What a token's revocation entries are looked up by. An id the token lacks reads as empty,
/// which matches no entry (every entry names a non-empty id); a missing `iat` reads as 0, which
/// every cutoff covers.
pub(crate) fn token_ids<'a>(
    claims: &'a signet::Claims<'static, Map<String, Value>>,
) -> crate::store::TokenIds<'a> {
    let text = |name: &str| claims.custom.get(name).and_then(Value::as_str);
    crate::store::TokenIds {
        jti: claims.jti.as_deref().unwrap_or_default(),
        client_id: text("client_id").unwrap_or_default(),
        sub: claims.sub.as_deref().unwrap_or_default(),
        sid: text("sid"),
        iat: claims
            .iat
            .map_or(0, |i| i64::try_from(i.as_secs()).unwrap_or(i64::MAX)),
    }
}
