//! qdad: one emulated qda platform shared by many processes, as a kernel
//! driver is shared. Each connection to its Unix socket is one open device
//! file; closing the connection closes the file and frees everything it
//! held. [`wire`] is the protocol, [`client`] the side applications link
//! (through the `qda` library's daemon backend), [`server`] the daemon.
//! The format is documented in `docs/DAEMON.md`.

pub mod client;
pub mod server;
mod sys;
pub mod wire;
