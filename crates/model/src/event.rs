use super::{SourceKind, Time};

/// Whether a change was made by this console (and so is in the audit log) or by someone else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Console,
    External,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warn,
    Critical,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub at: Time,
    pub source: SourceKind,
    pub origin: Origin,
    pub severity: Severity,
    /// What kind of object: "service", "node", "task", "instance", "quorum"...
    pub object: String,
    pub target: String,
    pub message: String,
}
