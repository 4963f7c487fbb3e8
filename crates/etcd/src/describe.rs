//! Reading one member as etcd reports it, for the describe view: its entry in the member list
//! (from the first endpoint that answers) and the status it gives of itself at its own client
//! URLs, both as the JSON gateway answers.

use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::EtcdSettings;
use crate::convert;
use crate::http::Http;
use clusterdeck_kit::{BackendMsg, ReadHandle};
use clusterdeck_model::{ObjectKind, SourceKind};

pub fn spawn_reader(s: EtcdSettings, tx: mpsc::Sender<BackendMsg>) -> ReadHandle {
    ReadHandle::spawn(s.cluster.clone(), SourceKind::Etcd, tx, move |kind, id| {
        let s = s.clone();
        async move {
            if kind != ObjectKind::Member {
                return Err(format!("a {} is not an etcd object", kind.label()));
            }
            let http = Http::new(&s.tls, s.timeout)?;
            read(&s.endpoints, &http, &id).await.map(|v| v.to_string())
        }
    })
}

async fn read(endpoints: &[String], http: &Http, id: &str) -> Result<Value, String> {
    let mut reasons = Vec::new();
    for ep in endpoints {
        let list = match http.post(ep, "/v3/cluster/member/list", "{}").await {
            Ok((v, _)) => v,
            Err(e) => {
                reasons.push(format!("{ep}: {e}"));
                continue;
            }
        };
        let member = list["members"]
            .as_array()
            .and_then(|ms| {
                ms.iter()
                    .find(|m| convert::id(m, &["ID", "id"]).as_deref() == Some(id))
            })
            .cloned()
            .ok_or_else(|| format!("member {id} is not in the member list (removed?)"))?;
        let mut status = Vec::new();
        for url in member["clientURLs"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            let Some(url) = url.as_str() else { continue };
            status.push(match http.post(url, "/v3/maintenance/status", "{}").await {
                Ok((v, took)) => {
                    json!({"endpoint": url, "status": v, "took_ms": took.as_millis() as u64})
                }
                Err(e) => json!({"endpoint": url, "error": e}),
            });
        }
        return Ok(json!({"member": member, "status": status, "listed_by": ep}));
    }
    Err(format!("no endpoint answered: {}", reasons.join("; ")))
}
