//! The token endpoint's request parsing: the form body and client authentication (HTTP Basic
//! or form fields), with the content type and Authorization header taken from the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_server::fuzzing::token_request;
use signet_server::__http::{HeaderMap, HeaderValue, header};

fuzz_target!(|data: &[u8]| {
    // Input: a line for Authorization, then the body.
    let (auth, body) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&[][..], data),
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    if let Ok(v) = HeaderValue::from_bytes(auth) {
        headers.insert(header::AUTHORIZATION, v);
    }
    let _ = token_request(&headers, body);
});
