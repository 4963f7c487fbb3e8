//! The Kubernetes tests against the real control plane (scripts/engines/kube.sh), in one
//! binary. The files share the control plane: each works in namespaces and on kwok nodes of its
//! own (kube_e2e cordons kwok-node-1, kube_backend drains kwok-node-2).

mod kube_auth;
mod kube_backend;
mod kube_confirmed;
mod kube_e2e;
mod kube_partition;
#[path = "../kube_support/mod.rs"]
mod kube_support;
mod kube_usage;
#[path = "../support/netfault.rs"]
mod netfault;
#[path = "../support/pty.rs"]
mod pty;
#[path = "../swarm_support/mod.rs"]
mod swarm_support;
