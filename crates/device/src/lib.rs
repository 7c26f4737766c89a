//! Doorstep on the phone: the SQLite store with its transactional outbox ([`store`]), and the
//! client that empties the outbox to the server and pulls the area's households ([`sync`]).
//!
//! The same code runs in the Tauri app and in the headless simulator (`doorstep simulate`).
//! It keeps ARCHITECTURE.md's device-side invariants (1 to 5, 21):
//! - a visit is committed to SQLite (WAL, `synchronous=FULL`) before [`DeviceStore::record_visit`]
//!   returns, and the visit row and its outbox entry are written in one transaction;
//! - every record has a UUIDv7 and a per-device sequence number made here;
//! - an outbox entry is cleared only by the server's receipt for it; a refused record stays on the
//!   device with the server's reason in both languages and does not block the rest of the queue;
//! - a photo is one row that is also its outbox entry, made small here and sent after the visits
//!   in chunks that resume from the server's offset, cleared only once the server holds all its
//!   bytes (verified against its SHA-256) and its record;
//! - nothing is sent before the phone is enrolled ([`SyncClient::enrol`]), and the device token
//!   never appears in a log line, an error or a `Debug` output.

pub mod store;
pub mod sync;

pub use store::*;
pub use sync::*;
