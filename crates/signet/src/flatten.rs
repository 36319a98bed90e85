//! Writing the caller's own claims into the payload beside the registered ones.
//!
//! The caller's type must serialize as a struct or a map (or as nothing: `()`, `None`). Each of
//! its members becomes a payload member; a member named like a registered claim is refused
//! here, when the token is signed, because a payload holding a name twice is refused by every
//! strict verifier, Signet's included.

use serde::ser::{
    self, Error as _, Impossible, Serialize, SerializeMap, SerializeStruct, Serializer,
};

/// The registered claims (RFC 7519 §4.1) that [`Claims`](crate::Claims) holds itself.
pub const REGISTERED: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

/// Refuses a custom member that would repeat a registered claim.
fn check_name<E: ser::Error>(name: &str) -> Result<(), E> {
    if REGISTERED.contains(&name) {
        return Err(E::custom(format_args!(
            "custom claim `{name}` is a registered claim: set it on Claims instead"
        )));
    }
    Ok(())
}

/// Serializes the caller's claims as entries of the payload's map `M`.
pub(crate) struct Flatten<'m, M>(pub(crate) &'m mut M);

/// The caller's map keys, which must be strings.
struct KeyName;

macro_rules! refuse {
    ($what:expr; $($method:ident($($arg:ty),*)),* $(,)?) => {
        $(
            fn $method(self, $(_: $arg),*) -> Result<Self::Ok, Self::Error> {
                Err(Self::Error::custom($what))
            }
        )*
    };
}

/// Refuses the compound forms neither a claims object nor a claim name can take.
macro_rules! refuse_compound {
    ($what:expr) => {
        fn serialize_newtype_variant<T: Serialize + ?Sized>(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: &T,
        ) -> Result<Self::Ok, Self::Error> {
            Err(Self::Error::custom($what))
        }

        fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, Self::Error> {
            Err(Self::Error::custom($what))
        }

        fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Self::Error> {
            Err(Self::Error::custom($what))
        }

        fn serialize_tuple_struct(
            self,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleStruct, Self::Error> {
            Err(Self::Error::custom($what))
        }

        fn serialize_tuple_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeTupleVariant, Self::Error> {
            Err(Self::Error::custom($what))
        }

        fn serialize_struct_variant(
            self,
            _: &'static str,
            _: u32,
            _: &'static str,
            _: usize,
        ) -> Result<Self::SerializeStructVariant, Self::Error> {
            Err(Self::Error::custom($what))
        }
    };
}

const NOT_A_MAP: &str = "custom claims must serialize as a struct or a map";
const NOT_A_NAME: &str = "custom claim names must be strings";

impl<'m, M: SerializeMap> Serializer for Flatten<'m, M> {
    type Ok = ();
    type Error = M::Error;
    type SerializeSeq = Impossible<(), M::Error>;
    type SerializeTuple = Impossible<(), M::Error>;
    type SerializeTupleStruct = Impossible<(), M::Error>;
    type SerializeTupleVariant = Impossible<(), M::Error>;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), M::Error>;

    refuse!(NOT_A_MAP;
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_u8(u8), serialize_u16(u16), serialize_u32(u32),
        serialize_u64(u64), serialize_f32(f32), serialize_f64(f64), serialize_char(char),
        serialize_str(&str), serialize_bytes(&[u8]),
        serialize_unit_variant(&'static str, u32, &'static str),
    );
    refuse_compound!(NOT_A_MAP);

    fn serialize_none(self) -> Result<(), M::Error> {
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), M::Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), M::Error> {
        Ok(())
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), M::Error> {
        Ok(())
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), M::Error> {
        value.serialize(self)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self, M::Error> {
        Ok(self)
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, M::Error> {
        Ok(self)
    }
}

impl<M: SerializeMap> SerializeStruct for Flatten<'_, M> {
    type Ok = ();
    type Error = M::Error;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), M::Error> {
        check_name(key)?;
        self.0.serialize_entry(key, value)
    }

    fn end(self) -> Result<(), M::Error> {
        Ok(())
    }
}

impl<M: SerializeMap> SerializeMap for Flatten<'_, M> {
    type Ok = ();
    type Error = M::Error;

    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), M::Error> {
        key.serialize(KeyName).map_err(|e| M::Error::custom(e.0))?;
        self.0.serialize_key(key)
    }

    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), M::Error> {
        self.0.serialize_value(value)
    }

    fn end(self) -> Result<(), M::Error> {
        Ok(())
    }
}

/// Why a map key was refused.
#[derive(Debug)]
struct NameError(String);

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NameError {}

impl ser::Error for NameError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

/// Checks a map key: it must be a string, and not a registered claim's name.
impl Serializer for KeyName {
    type Ok = ();
    type Error = NameError;
    type SerializeSeq = Impossible<(), NameError>;
    type SerializeTuple = Impossible<(), NameError>;
    type SerializeTupleStruct = Impossible<(), NameError>;
    type SerializeTupleVariant = Impossible<(), NameError>;
    type SerializeMap = Impossible<(), NameError>;
    type SerializeStruct = Impossible<(), NameError>;
    type SerializeStructVariant = Impossible<(), NameError>;

    fn serialize_str(self, name: &str) -> Result<(), NameError> {
        check_name(name)
    }

    fn serialize_char(self, c: char) -> Result<(), NameError> {
        check_name(c.encode_utf8(&mut [0; 4]))
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), NameError> {
        check_name(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), NameError> {
        value.serialize(self)
    }

    refuse!(NOT_A_NAME;
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_u8(u8), serialize_u16(u16), serialize_u32(u32),
        serialize_u64(u64), serialize_f32(f32), serialize_f64(f64),
        serialize_bytes(&[u8]), serialize_none(), serialize_unit(),
        serialize_unit_struct(&'static str),
    );
    refuse_compound!(NOT_A_NAME);

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), NameError> {
        Err(NameError::custom(NOT_A_NAME))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NameError> {
        Err(NameError::custom(NOT_A_NAME))
    }

    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NameError> {
        Err(NameError::custom(NOT_A_NAME))
    }
}
