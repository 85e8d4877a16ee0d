//! Through qdad: a session with no listener fails reverse calls at once,
//! and a hostile listener's replies are refused (as `tests/reverse.rs` on
//! the embedded backend).
#![allow(unsafe_code)]

mod common;

use common::*;

fn daemon() {
    common::daemon("capi-reverse-hostile");
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
