//! Through qdad: a session with no listener fails reverse calls at once,
//! and a hostile listener's replies are refused (as `tests/reverse.rs` on
//! the embedded backend).
#![allow(unsafe_code)]

mod common;

use std::sync::OnceLock;

use common::*;
use qdad::server::{Config, Server};

fn daemon() {
    static D: OnceLock<(Server, qda_test::TempDir)> = OnceLock::new();
    D.get_or_init(|| {
        let dir = qda_test::TempDir::new("capi-reverse-hostile");
        let socket = dir.path().join("qdad.sock");
        let server = Server::start(Config {
            socket: socket.clone(),
            ..Default::default()
        })
        .expect("start qdad");
        backend("daemon", Some(&socket));
        (server, dir)
    });
}

#[test]
fn no_listener_through_qdad() {
    daemon();
    no_listener_fails_at_once();
}

#[test]
fn hostile_replies_through_qdad() {
    daemon();
    hostile_replies_refused();
}
