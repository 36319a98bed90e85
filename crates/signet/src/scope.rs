//! The `scope` claim and parameter (RFC 6749 §3.3, RFC 9068 §2.2.3): space-separated words.
//! One reading for the issuer, which grants scopes, and the verifiers, which require them.

/// The words of a scope, empty ones (from doubled or trailing spaces) left out.
///
/// ```
/// let words: Vec<&str> = signet::scope::words("read  write ").collect();
/// assert_eq!(words, ["read", "write"]);
/// ```
pub fn words(scope: &str) -> impl Iterator<Item = &str> + Clone {
    scope.split(' ').filter(|w| !w.is_empty())
}

/// Whether `scope` holds `word`.
///
/// ```
/// assert!(signet::scope::contains("openid profile", "profile"));
/// assert!(!signet::scope::contains("openid profile", "email"));
/// ```
pub fn contains(scope: &str, word: &str) -> bool {
    words(scope).any(|w| w == word)
}

/// Whether every word of the `requested` scope is among `allowed`. The request is read
/// strictly: an empty word (a doubled, leading or trailing space, or an empty request) is
/// allowed by nothing.
///
/// ```
/// use signet::scope::within;
/// let allowed = ["read", "write"];
/// assert!(within("read write", allowed));
/// assert!(!within("read admin", allowed));
/// assert!(!within("read  write", allowed));
/// ```
pub fn within<'a>(requested: &str, allowed: impl IntoIterator<Item = &'a str> + Clone) -> bool {
    requested
        .split(' ')
        .all(|w| allowed.clone().into_iter().any(|a| a == w))
}
