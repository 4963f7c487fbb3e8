//! The tests that need no engine, in one binary (each test target is a binary to link after
//! every change; one links faster than twelve): the gate, rendering, the store, the demo, the
//! wall, the audit log, the layer rule, the generated docs, and the console driven in a
//! pseudo-terminal on the demo.

mod audit_chain;
mod audit_concurrency;
mod audit_crash;
mod audit_fail_closed;
mod demo_sim;
mod docs;
mod e2e_demo;
mod gate;
mod incidents;
mod layers;
mod pipelines;
#[path = "../support/pty.rs"]
mod pty;
mod render;
mod sessions;
mod store_props;
#[path = "../support/mod.rs"]
mod support;
mod wall;
