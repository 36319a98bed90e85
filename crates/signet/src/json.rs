//! Small pieces for reading untrusted JSON: strings that borrow when they can, and a record
//! of member names that refuses duplicates.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A string that borrows from the input when it has no escapes.
pub(crate) struct CowStr<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for CowStr<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = CowStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(CowStr(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// How many names are kept inline before spilling to the heap.
const INLINE: usize = 16;

/// The member names of one JSON object seen so far. Up to [`INLINE`] names without escapes are
/// kept on the stack as borrowed slices, so a typical token's claims cost no allocation here;
/// a name with escapes, or one name too many, moves the record into a set.
pub(crate) struct SeenNames<'de> {
    inline: [&'de str; INLINE],
    len: usize,
    spilled: Option<HashSet<Cow<'de, str>>>,
}

/// The message serde errors carry when a member name repeats.
pub(crate) const DUPLICATE: &str = "duplicate member name";

impl<'de> SeenNames<'de> {
    pub(crate) fn new() -> Self {
        Self {
            inline: [""; INLINE],
            len: 0,
            spilled: None,
        }
    }

    /// Records `name`, failing if it was seen before.
    #[allow(clippy::ptr_arg)] // the `Cow` itself is kept, borrowed or owned as it came
    pub(crate) fn insert<E: de::Error>(&mut self, name: &Cow<'de, str>) -> Result<(), E> {
        let fresh = match (&mut self.spilled, name) {
            (None, Cow::Borrowed(n)) if self.len < INLINE => {
                let fresh = !self.inline[..self.len].contains(n);
                self.inline[self.len] = n;
                self.len += 1;
                fresh
            }
            (None, _) => {
                let mut set: HashSet<Cow<'de, str>> = self.inline[..self.len]
                    .iter()
                    .map(|n| Cow::Borrowed(*n))
                    .collect();
                let fresh = set.insert(name.clone());
                self.spilled = Some(set);
                fresh
            }
            (Some(set), _) => set.insert(name.clone()),
        };
        if fresh {
            Ok(())
        } else {
            Err(E::custom(DUPLICATE))
        }
    }
}
