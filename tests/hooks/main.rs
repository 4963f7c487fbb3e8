//! The pipeline hooks (clusterdeck-hooks) run for real:
//!
//! - command hooks as real processes (output, exit, signals, cancel of a process group);
//! - Jenkins hooks against a local server implementing Jenkins' documented remote API
//!   (jenkins_server.rs): no Jenkins can be installed from the registries here;
//! - a real ansible-playbook (scripts/engines/ansible.sh) creating a service on the test swarm
//!   (scripts/engines/swarm.sh); it fails, never skips, when either is missing.

mod ansible;
mod command;
mod jenkins;
mod jenkins_server;
mod params;
mod support;
mod wire;
