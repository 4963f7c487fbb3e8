//! The app layer: the one owner of state (the store, the UI state, operations in flight), keys
//! turned into actions, the configuration and its sources, themes, and the wall mode. No
//! terminal I/O and no drawing here: the shell feeds it and the ui layer draws it.

pub mod command;
pub mod config;
mod core;
pub mod input;
pub mod theme;
pub mod view;
pub mod wall;

pub use core::*;

use clusterdeck_model as model;
use clusterdeck_ops as ops;

/// The backends this layer starts and talks to.
mod backends {
    pub use clusterdeck_kit::*;
    pub use clusterdeck_swarm::registry;
}
