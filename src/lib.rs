//! clusterdeck: a terminal console for container clusters. The layers, bottom up, each its own
//! crate (so the compiler keeps them pointing one way): `model` ← `ops` ← backends (`kit` and
//! one crate per engine) ← `app` ← `ui` (here) ← the shell (the CLI, the run loop, the terminal).
//! Everything is public so tests and benches can build the whole app headless.

pub use clusterdeck_app as app;
pub use clusterdeck_app::{config, input, wall};
pub use clusterdeck_compose as compose;
pub use clusterdeck_model as model;
pub use clusterdeck_ops as ops;

/// The backends and what they share.
pub mod backends {
    pub use clusterdeck_demo as demo;
    #[cfg(feature = "ec2")]
    pub use clusterdeck_ec2 as ec2;
    pub use clusterdeck_etcd as etcd;
    pub use clusterdeck_kit::*;
    #[cfg(feature = "kube")]
    pub use clusterdeck_kube as kube;
    pub use clusterdeck_swarm as swarm;
    pub use clusterdeck_swarm::registry;
}

pub mod audit_cli;
pub mod cli;
pub mod run;
pub mod terminal;
pub mod ui;
