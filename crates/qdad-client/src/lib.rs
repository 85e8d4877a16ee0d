//! The client side of qdad, the daemon that shares one emulated qda platform
//! between processes. Each connection to its Unix socket is one open device
//! file; closing the connection closes the file. [`wire`] is the protocol
//! (documented byte for byte in `docs/DAEMON.md`), [`client`] a connection
//! per open file with the marshalling of every ioctl, read from the one
//! description of each in `qda-ioctl`. The server lives in the `qdad` crate;
//! a program that only talks to a daemon links this crate alone.

mod answer;
pub mod client;
mod conn;
mod plan;
pub mod shm;
pub mod wire;

pub use client::{Client, Connection, DaemonFile, Info, default_socket, socket_path};
