//! Reading a node, service or task as the engine reports it, raw (bollard's typed model drops
//! fields it does not know), through the first manager that answers.

use std::path::PathBuf;

use tokio::sync::mpsc;

use clusterdeck_kit::{BackendMsg, ReadHandle};
use clusterdeck_model::{ObjectKind, SourceKind};

use crate::connect::{REQUEST_TIMEOUT, connect};

pub fn spawn_reader(
    cluster: String,
    endpoints: Vec<String>,
    tls: Option<PathBuf>,
    tx: mpsc::Sender<BackendMsg>,
) -> ReadHandle {
    ReadHandle::spawn(cluster, SourceKind::Swarm, tx, move |kind, id| {
        read(endpoints.clone(), tls.clone(), kind, id)
    })
}

async fn read(
    endpoints: Vec<String>,
    tls: Option<PathBuf>,
    kind: ObjectKind,
    id: String,
) -> Result<String, String> {
    let collection = match kind {
        ObjectKind::Node => "nodes",
        ObjectKind::Service => "services",
        ObjectKind::Task => "tasks",
        other => return Err(format!("a {} is not a Swarm object", other.label())),
    };
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!("{id:?} is not a Swarm id"));
    }
    let mut reasons = Vec::new();
    for ep in &endpoints {
        let c = match connect(ep, tls.as_deref()).await {
            Ok(c) => c,
            Err(e) => {
                reasons.push(e);
                continue;
            }
        };
        // As `docker service inspect` asks: with the engine's defaults filled in, so the
        // rollback config, restart policy and grace period in effect are shown.
        let path = if kind == ObjectKind::Service {
            format!("/services/{id}?insertDefaults=true")
        } else {
            format!("/{collection}/{id}")
        };
        return match c.link.get_json(&c.docker, &path, REQUEST_TIMEOUT).await {
            Ok(v) => serde_json::to_string(&v).map_err(|e| e.to_string()),
            Err((e, _)) => Err(format!("{} {id}: {e}", kind.label())),
        };
    }
    Err(format!("no manager answered: {}", reasons.join("; ")))
}
