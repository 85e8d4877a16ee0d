//! qdad: one emulated qda platform shared by many processes, as a kernel
//! driver is shared. Each connection to its Unix socket is one open device
//! file; closing the connection closes the file and frees everything it
//! held. This crate is the daemon ([`server`]); the protocol and the side
//! applications link live in `qdad-client` (re-exported here as [`wire`]
//! and [`client`]). The format is documented in `docs/DAEMON.md`.

pub mod log;
pub mod policy;
pub mod server;
mod sys;

pub use qdad_client::{client, wire};
