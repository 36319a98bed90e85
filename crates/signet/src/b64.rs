//! Strict base64url without padding (RFC 7515 §2): non-alphabet bytes, padding and
//! non-canonical trailing bits are all refused. SIMD-accelerated (base64-simd).

use std::mem::MaybeUninit;

use base64_simd::{AsOut, URL_SAFE_NO_PAD};

/// Decodes canonical, unpadded base64url.
pub(crate) fn decode(input: &[u8]) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode_to_vec(input).ok()
}

/// Decodes canonical, unpadded base64url into `out`, returning the decoded prefix, or `None`
/// when the input is invalid or does not fit.
pub(crate) fn decode_into<'o>(input: &[u8], out: &'o mut [MaybeUninit<u8>]) -> Option<&'o [u8]> {
    let n = URL_SAFE_NO_PAD.decoded_length(input).ok()?;
    let out = out.get_mut(..n)?;
    URL_SAFE_NO_PAD
        .decode(input, out.as_out())
        .ok()
        .map(|d| &*d)
}

/// Decodes canonical, unpadded base64url onto the end of `out`; false if the input is invalid.
pub(crate) fn decode_append(input: &[u8], out: &mut Vec<u8>) -> bool {
    URL_SAFE_NO_PAD.decode_append(input, out).is_ok()
}

/// Encodes as unpadded base64url.
pub(crate) fn encode(input: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode_to_string(input)
}

/// Appends the unpadded base64url of `input` to `out`.
pub(crate) fn encode_into(input: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_append(input, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_canonical_and_padded_base64url_is_refused() {
        assert_eq!(decode(b"Zm9v").as_deref(), Some(&b"foo"[..]));
        assert_eq!(decode(b"Zm8").as_deref(), Some(&b"fo"[..]));
        assert_eq!(decode(b"").as_deref(), Some(&b""[..]));
        assert!(decode(b"Zm9=").is_none(), "padding");
        assert!(decode(b"Zm9vZ").is_none(), "impossible length");
        assert!(decode(b"Zm+v").is_none(), "standard alphabet");
        assert!(decode(b"Zm9 v").is_none(), "whitespace");
        assert!(
            decode(b"Zm9").is_none(),
            "non-canonical trailing bits of 'fo'"
        );
        assert!(
            decode(b"Zn").is_none(),
            "non-canonical trailing bits of 'f'"
        );
        let mut buf = [MaybeUninit::uninit(); 2];
        assert_eq!(decode_into(b"Zm8", &mut buf), Some(&b"fo"[..]));
        assert_eq!(decode_into(b"Zm9v", &mut buf), None, "does not fit");
        let mut s = String::from("x.");
        encode_into(b"foo", &mut s);
        assert_eq!(s, "x.Zm9v");
    }
}
