//! Rendering: a pure function of (app state, theme, now) → frame. No I/O and no clock reads
//! here, so snapshot tests are deterministic.

mod bigtext;
mod layout;
mod panes;
mod popups;
mod strip;
pub use clusterdeck_app::theme;
pub use clusterdeck_model::sanitize;
pub mod wall;
pub mod widgets;

pub use layout::{MIN_HEIGHT, MIN_WIDTH, WIDE_HEIGHT, WIDE_WIDTH, draw, is_wide};

pub use clusterdeck_app::input::Pane;
