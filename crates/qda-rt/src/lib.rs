//! Runtime pieces every qda crate shares, written once.
//!
//! * [`lock`] and [`wait`]: the poison policy. A panic while a lock is held
//!   poisons it; qda keeps going with the data as the panicking thread left
//!   it. Every critical section in qda keeps its structure consistent at
//!   every step (no multi-step updates that a panic could tear), and a
//!   panic inside one is a bug that the test suites catch as such, so
//!   propagating the poison would only turn one failed call into a dead
//!   driver or daemon for every client.
//! * [`Workers`]: the elastic thread pool (an idle thread takes a job, a
//!   new one is spawned when none is idle) that the DSP, the PD host and
//!   the daemon run their calls on.
//! * [`ReplyMux`]: many threads waiting for replies on one connection, the
//!   one that waits reading for all, a dead connection failing them all.
//! * [`Handoff`]: poll mode's hand-off without a wake-up: a producer gives
//!   its message to a thread spinning on a ring, if one spins.
//! * [`ring`]: a bounded queue of fixed-size messages in atomic words (in
//!   one process or in memory shared by two) and a doorbell that wakes a
//!   peer only when it sleeps.
#![forbid(unsafe_code)]

// Built on the ring with std's atomics; the loom build of the ring's own
// model checks swaps them, so it leaves this module out.
#[cfg(not(all(loom, test)))]
pub mod handoff;
pub mod mux;
pub mod ring;
pub mod sync;
pub mod workers;

#[cfg(not(all(loom, test)))]
pub use handoff::Handoff;
pub use mux::ReplyMux;
pub use sync::{lock, wait, wait_timeout};
pub use workers::Workers;
