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

/// The member names of one JSON object seen so far.
pub(crate) struct SeenNames<'de> {
    small: Vec<Cow<'de, str>>,
    large: Option<HashSet<Cow<'de, str>>>,
}

/// The message serde errors carry when a member name repeats.
pub(crate) const DUPLICATE: &str = "duplicate member name";

impl<'de> SeenNames<'de> {
    pub(crate) fn new() -> Self {
        Self {
            small: Vec::with_capacity(16),
            large: None,
        }
    }

    /// Records `name`, failing if it was seen before.
    #[allow(clippy::ptr_arg)] // the `Cow` itself is kept, borrowed or owned as it came
    pub(crate) fn insert<E: de::Error>(&mut self, name: &Cow<'de, str>) -> Result<(), E> {
        const LINEAR: usize = 32;
        let fresh = match &mut self.large {
            Some(set) => set.insert(name.clone()),
            None if self.small.len() < LINEAR => {
                let fresh = !self.small.iter().any(|n| n == name);
                self.small.push(name.clone());
                fresh
            }
            None => {
                let mut set: HashSet<_> = self.small.drain(..).collect();
                let fresh = set.insert(name.clone());
                self.large = Some(set);
                fresh
            }
        };
        if fresh {
            Ok(())
        } else {
            Err(E::custom(DUPLICATE))
        }
    }
}
