//! clusterdeck: a terminal console for container clusters. The modules are public so tests and
//! benchmarks can build the whole app headless.

pub mod app;
pub mod audit_cli;
pub mod backends;
pub mod cli;
pub mod config;
pub mod input;
pub mod model;
pub mod ops;
pub mod terminal;
pub mod ui;
pub mod wall;
