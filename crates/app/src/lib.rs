//! The app layer: the one owner of state (the store, the UI state, operations in flight), keys
//! turned into actions, the configuration and its sources, themes, and the wall mode. No
//! terminal I/O and no drawing here: the shell feeds it and the ui layer draws it.
//!
//! The `App` is split by concern: `state` (the struct, backend messages in), `dispatch` (keys
//! in, actions routed), `requests` (action + selection → request), `operations` (plan,
//! confirm, in flight, outcome), `prompt` (text inputs and the `:` line), `logs` (the log
//! view), `select` (selection and navigation), `respond` (incidents: jump, ack, notes, the
//! timeline and notifications).

pub mod command;
pub mod config;
pub mod describe;
mod dispatch;
mod hooks;
pub mod incidents;
pub mod input;
mod jobs;
mod logs;
pub mod notify;
mod operations;
mod prompt;
mod requests;
mod respond;
mod save;
mod select;
pub mod session;
pub mod stacks;
pub mod stacks_view;
mod state;
pub mod theme;
pub mod timeline;
pub mod unsettled;
pub mod usage;
pub mod view;
pub mod wall;

pub use logs::{LOG_LINES, LogView};
pub use operations::{FinishedOp, InflightOp};
pub use prompt::{Input, InputKind, PromptKind};
pub use respond::{lasted_words, notice_entry};
pub use state::{App, Modal, ReasonPolicy, Settings, UiState};

use clusterdeck_model as model;
use clusterdeck_ops as ops;

/// The backends this layer starts and talks to.
mod backends {
    pub use clusterdeck_kit::webhook;
    pub use clusterdeck_kit::*;
    pub use clusterdeck_swarm::registry;
}
