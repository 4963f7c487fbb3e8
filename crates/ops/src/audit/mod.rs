//! The audit log: append-only JSON Lines, one record per phase (intent, outcome). Each record
//! carries a sequence number, the SHA-256 of the previous line and a hash of itself, so that an
//! edit, a deletion, a reordering or a truncation is found and told apart by `verify`.

pub mod anchor;
mod filter;
mod log;
mod operator;
pub mod record;
pub mod redact;
pub mod ship;
mod verify;

pub use filter::{AuditFilter, parse_time};
pub use log::{AuditLog, DEFAULT_ROTATE_BYTES, rotated_files};
pub use operator::Operator;
pub use record::{AuditObject, AuditRecord, GENESIS, sha256_hex};
pub use verify::{Problem, VerifyError, VerifyReport, verify};
