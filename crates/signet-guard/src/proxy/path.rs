//! The request path as the upstream will read it, kept inside the upstream's base path.

/// Why a request path was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path does not start with `/`.
    #[error("the request path must start with /")]
    NotAbsolute,
    /// The path climbs above the base path with `..` segments (plain or percent-encoded).
    #[error("the request path leaves the upstream's base path")]
    LeavesBase,
    /// The path holds a character or escape upstreams read differently: an encoded `/` or
    /// `\`, a backslash, a NUL, a bad escape, or a dot segment carrying `;` parameters.
    #[error("the request path is ambiguous")]
    Ambiguous,
}

/// Decodes `%2e`/`%2E` to `.` in a segment, and checks that every other escape is well formed
/// and not one upstreams split paths on.
fn decode_dots(segment: &str) -> Result<String, PathError> {
    let bytes = segment.as_bytes();
    let mut out = String::with_capacity(segment.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = segment.get(i + 1..i + 3).ok_or(PathError::Ambiguous)?;
                let value = u8::from_str_radix(hex, 16).map_err(|_| PathError::Ambiguous)?;
                match value {
                    b'.' => out.push('.'),
                    b'/' | b'\\' | 0 => return Err(PathError::Ambiguous),
                    _ => {
                        out.push('%');
                        out.push_str(hex);
                    }
                }
                i += 3;
            }
            b'\\' | 0 => return Err(PathError::Ambiguous),
            _ => {
                let ch = segment[i..].chars().next().ok_or(PathError::Ambiguous)?;
                out.push(ch);
                i += ch.len_utf8();
            }
        }
    }
    Ok(out)
}

/// The path (and query) to ask the upstream for: `base` (the upstream URL's path, such as
/// `/app`) joined with the request's path after its dot segments are resolved the way an
/// upstream resolves them (RFC 3986 §5.2.4, `%2e` read as `.`). A path that would climb above
/// `base` is refused, as is one that upstreams could read in more than one way.
///
/// # Examples
///
/// ```
/// use signet_guard::proxy::upstream_path;
/// assert_eq!(upstream_path("/app", "/orders?page=2")?, "/app/orders?page=2");
/// assert!(upstream_path("/app", "/../admin").is_err()); // no way out of the base path
/// # Ok::<(), signet_guard::proxy::PathError>(())
/// ```
pub fn upstream_path(base: &str, path_and_query: &str) -> Result<String, PathError> {
    let (path, query) = match path_and_query.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path_and_query, None),
    };
    let rest = path.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
    let mut kept: Vec<String> = Vec::new();
    let segments: Vec<&str> = rest.split('/').collect();
    let last = segments.len().saturating_sub(1);
    let mut trailing_slash = false;
    for (i, raw) in segments.iter().enumerate() {
        let segment = decode_dots(raw)?;
        let name = segment.split(';').next().unwrap_or_default();
        let is_dot = name == "." || name == "..";
        if is_dot && name.len() != segment.len() {
            // `..;x`: Tomcat and others read it as `..`; refuse rather than guess.
            return Err(PathError::Ambiguous);
        }
        match name {
            "." => trailing_slash = i == last,
            ".." => {
                if kept.pop().is_none() {
                    return Err(PathError::LeavesBase);
                }
                trailing_slash = i == last;
            }
            _ => {
                kept.push(segment);
                trailing_slash = false;
            }
        }
    }
    let mut out = base.trim_end_matches('/').to_owned();
    out.push('/');
    out.push_str(&kept.join("/"));
    if trailing_slash && !kept.is_empty() {
        out.push('/');
    }
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_dot_traversal_out_of_the_base_path_is_refused() {
        for attack in [
            "/../admin",
            "/%2e%2e/admin",
            "/%2E%2E/admin",
            "/.%2e/admin",
            "/a/../../admin",
            "/..",
        ] {
            assert_eq!(
                upstream_path("/app", attack),
                Err(PathError::LeavesBase),
                "{attack}"
            );
        }
    }

    #[test]
    fn encoded_slashes_backslashes_and_dot_parameters_are_refused() {
        for attack in [
            "/a%2f..%2f..%2fadmin",
            "/a%5c..%5cadmin",
            "/a\\..\\admin",
            "/..;/admin",
            "/a/%00",
            "/a/%zz",
            "/a/%2",
        ] {
            assert_eq!(
                upstream_path("/app", attack),
                Err(PathError::Ambiguous),
                "{attack}"
            );
        }
        assert_eq!(upstream_path("/app", "admin"), Err(PathError::NotAbsolute));
    }

    #[test]
    fn paths_inside_the_base_are_resolved_as_the_upstream_would() {
        assert_eq!(upstream_path("/app", "/").unwrap(), "/app/");
        assert_eq!(upstream_path("", "/").unwrap(), "/");
        assert_eq!(upstream_path("/app/", "/x/y").unwrap(), "/app/x/y");
        assert_eq!(upstream_path("/app", "/x/../y").unwrap(), "/app/y");
        assert_eq!(upstream_path("/app", "/x/./y/").unwrap(), "/app/x/y/");
        assert_eq!(upstream_path("/app", "/x/%2e/y").unwrap(), "/app/x/y");
        assert_eq!(
            upstream_path("/app", "/a%20b?q=../x").unwrap(),
            "/app/a%20b?q=../x"
        );
        assert_eq!(upstream_path("/app", "/x/..").unwrap(), "/app/");
    }
}
