//! Input: keys are parsed into chords, chords map to `Action`s per mode. Every binding comes
//! from one table that the config can override and the help screen is generated from.

mod action;
mod key;
mod keymap;

pub use action::{ACTIONS, Action, ActionInfo, Mode};
pub use key::{KeyChord, parse_key};
pub use keymap::{Binding, Keymap, KeymapError};
mod pane;

pub use pane::Pane;
