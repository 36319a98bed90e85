//! The Signet issuer (`signet serve`): users and clients log in; it issues short-lived RFC 9068
//! access JWTs and opaque refresh tokens that rotate and can be revoked, and publishes its keys
//! (JWKS, OpenID Connect and RFC 8414 discovery). Embedded SQLite in a data directory; private
//! keys sealed under a master key that never enters the database.

mod admin;
mod admin_api;
mod app;
mod cache;
mod config;
mod datadir;
mod domain;
mod error;
mod fanout;
mod feed;
mod form;
mod limits;
mod listener;
mod login;
mod logout;
mod metrics;
mod oauth;
mod openapi;
mod pages;
mod passwords;
mod sealing;
mod session;
mod settings;
mod ssf;
mod store;
mod wire;

pub use admin::{Admin, AdminError, ClientSpec, GRANTS, NewClient};
pub use app::{AppState, serve_on, serve_with};
pub use config::{Config, MAX_ACCESS_LIFETIME};
pub use domain::keys::{KeyInfo, KeyState};
pub use error::ApiError;
#[cfg(feature = "fuzzing")]
pub use form::fuzzing;
pub use listener::{ConnectionLimits, serve_router};
pub use settings::{Settings, parse_duration};
pub use store::{Client, OidcRegistration, Profile, StoreError, User};

/// The version of the core library this issuer is built on.
pub const CORE_VERSION: &str = signet::VERSION;

/// The `http` types of this crate's public functions, for the fuzz targets.
#[doc(hidden)]
pub use axum::http as __http;
