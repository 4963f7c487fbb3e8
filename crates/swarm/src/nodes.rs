//! Where each node's own engine answers (container stats now; a shell in a task later), since a
//! task's container lives on its node's engine, not on the manager's. In order: `docker.nodes`
//! (hostname → endpoint), `docker.node_endpoint` (`{addr}` and `{hostname}` replaced), else from
//! the manager endpoint in use (a `tcp://` endpoint: the same scheme and port at the node's
//! address; a socket: only the node it is).

use std::collections::BTreeMap;

use crate::connect::{Connected, REQUEST_TIMEOUT};

/// Where each node's engine answers, from the context's config.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeEndpoints {
    pub by_host: BTreeMap<String, String>,
    /// e.g. `tcp://{addr}:2376`.
    pub template: Option<String>,
}

/// The endpoint the config gives node `host` (at `addr`), or one beside a `tcp://` manager
/// endpoint (its scheme and port at the node's address). No I/O.
pub fn configured(
    nodes: &NodeEndpoints,
    managers: &[String],
    host: &str,
    addr: &str,
) -> Option<String> {
    if let Some(ep) = nodes.by_host.get(host) {
        return Some(ep.clone());
    }
    if let Some(t) = &nodes.template {
        return Some(t.replace("{addr}", addr).replace("{hostname}", host));
    }
    let m = managers.iter().find(|e| e.starts_with("tcp://"))?;
    let port = m.rsplit_once(':')?.1.trim_end_matches('/');
    (!addr.is_empty()).then(|| format!("tcp://{addr}:{port}"))
}

/// The endpoint of node `node` (its hostname and address as the swarm reports them), or None
/// when nothing says how to reach it: as `configured` says for the manager in use, else (a
/// socket) the manager itself when it is that node.
pub async fn endpoint(
    nodes: &NodeEndpoints,
    manager: &Connected,
    node: &str,
    host: &str,
    addr: &str,
) -> Option<String> {
    let in_use = [manager.endpoint.clone()];
    if let Some(ep) = configured(nodes, &in_use, host, addr) {
        return Some(ep);
    }
    if manager.endpoint.starts_with("tcp://") {
        return None;
    }
    // A socket: the node it is, and no other.
    let info = manager
        .link
        .get_json(&manager.docker, "/info", REQUEST_TIMEOUT)
        .await
        .ok()?;
    (info["Swarm"]["NodeID"].as_str() == Some(node)).then(|| manager.endpoint.clone())
}
