//! Reading a node, Deployment, StatefulSet, DaemonSet or pod as the API server reports it, for
//! the describe view (`kubectl get -o yaml`'s object), on a client connected once and kept.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::{Api, Client};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Mutex, mpsc};

use crate::{KubeSettings, connect};
use clusterdeck_kit::{BackendMsg, ReadHandle};
use clusterdeck_model::{ObjectKind, SourceKind};

pub fn spawn_reader(settings: KubeSettings, tx: mpsc::Sender<BackendMsg>) -> ReadHandle {
    let client: Arc<Mutex<Option<Client>>> = Arc::default();
    let cluster = settings.cluster.clone();
    let settings = Arc::new(settings);
    ReadHandle::spawn(cluster, SourceKind::Kubernetes, tx, move |kind, id| {
        read(Arc::clone(&settings), Arc::clone(&client), kind, id)
    })
}

async fn read(
    settings: Arc<KubeSettings>,
    cached: Arc<Mutex<Option<Client>>>,
    kind: ObjectKind,
    id: String,
) -> Result<String, String> {
    let client = connect::cached(&settings, &cached).await?;
    // Ids are `kind/NAMESPACE/NAME` (`node/NAME` for nodes).
    let mut parts = id.splitn(3, '/');
    let (_, a, b) = (parts.next(), parts.next(), parts.next());
    match (kind, a, b) {
        (ObjectKind::Node, Some(name), None) => get(Api::<Node>::all(client), name).await,
        (ObjectKind::Pod, Some(ns), Some(name)) => {
            get(Api::<Pod>::namespaced(client, ns), name).await
        }
        (ObjectKind::Deployment, Some(ns), Some(name)) => {
            get(Api::<Deployment>::namespaced(client, ns), name).await
        }
        (ObjectKind::StatefulSet, Some(ns), Some(name)) => {
            get(Api::<StatefulSet>::namespaced(client, ns), name).await
        }
        (ObjectKind::DaemonSet, Some(ns), Some(name)) => {
            get(Api::<DaemonSet>::namespaced(client, ns), name).await
        }
        _ => Err(format!(
            "{id} is not a Kubernetes object this console reads"
        )),
    }
}

async fn get<K>(api: Api<K>, name: &str) -> Result<String, String>
where
    K: Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let obj = api.get(name).await.map_err(|e| e.to_string())?;
    serde_json::to_string(&obj).map_err(|e| e.to_string())
}
