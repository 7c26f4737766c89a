//! Doorstep's domain: the words of ARCHITECTURE.md ("Words") as types. No I/O here (invariant 8):
//! the device and the server both build on it, and every rule about what a valid record is lives
//! in this crate.
//!
//! - [`account`]: roles, usernames, the password policy.
//! - [`area`]: the area tree and its importers.
//! - [`campaign`]: the campaign as data (outcomes and their rules), Bluezone by default.
//! - [`claim`]: who covers which doors: leaders' claims, visits' claims, when they run out.
//! - [`visit`]: households and visits, wire and validated forms.
//! - [`venue`]: venues (agencies, schools, businesses, transport hubs) and visits to them.
//! - [`values`]: small validated newtypes, each made by `parse`.
//! - [`error`]: validation errors with Vietnamese and English messages.
//! - [`protocol`]: push, pull, coverage and error bodies shared by device and server.
//! - [`photo`]: photo metadata, its validation and the upload protocol's limits.
//! - [`quality`]: data-quality flags on visits and stale phones: thresholds and pure rules.

pub mod account;
pub mod area;
pub mod campaign;
pub mod claim;
pub mod error;
pub mod photo;
pub mod protocol;
pub mod quality;
pub mod roster;
pub mod targets;
pub mod values;
pub mod venue;
pub mod visit;

pub use campaign::Campaign;
pub use error::{FieldError, Lang, Messages};
pub use visit::{ValidationContext, Visit, VisitInput};
