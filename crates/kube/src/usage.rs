//! CPU and memory of the pods and nodes on screen from the resource metrics API
//! (`metrics.k8s.io/v1beta1`, served by metrics-server through an APIService), the figures
//! `kubectl top` prints. One list per namespace shown and one of nodes per round; where the API
//! is not served, the reason says so ("metrics API not available").

use std::collections::{BTreeSet, HashMap};

use kube::Client;
use serde_json::Value;
use tokio::sync::{Mutex, mpsc};

use crate::{KubeSettings, connect};
use clusterdeck_kit::{BackendMsg, Round, Sampler, Shown, UsageHandle};
use clusterdeck_model::usage::Sample;
use clusterdeck_model::{ObjectKind, SourceKind};

const BASE: &str = "/apis/metrics.k8s.io/v1beta1";

pub fn spawn_usage(settings: KubeSettings, tx: mpsc::Sender<BackendMsg>) -> UsageHandle {
    let cluster = settings.cluster.clone();
    let m = Metrics {
        settings,
        client: Mutex::new(None),
    };
    UsageHandle::spawn(
        cluster,
        SourceKind::Kubernetes,
        std::time::Duration::from_secs(5),
        m,
        tx,
    )
}

struct Metrics {
    settings: KubeSettings,
    client: Mutex<Option<Client>>,
}

impl Sampler for Metrics {
    async fn sample(&mut self, shown: &Shown) -> Round {
        let mut round = Round {
            samples: Vec::new(),
            problem: None,
        };
        let client = match connect::cached(&self.settings, &self.client).await {
            Ok(c) => c,
            Err(e) => {
                round.problem = Some(e);
                return round;
            }
        };
        let now = chrono::Utc::now();
        // pod/NS/NAME → NS; node/NAME.
        let namespaces: BTreeSet<&str> = shown
            .iter()
            .filter(|(k, _)| *k == ObjectKind::Pod)
            .filter_map(|(_, id)| id.split('/').nth(1))
            .collect();
        let mut found: HashMap<(ObjectKind, String), Sample> = HashMap::new();
        let mut lists: Vec<(ObjectKind, String)> = namespaces
            .iter()
            .map(|ns| (ObjectKind::Pod, format!("{BASE}/namespaces/{ns}/pods")))
            .collect();
        if shown.iter().any(|(k, _)| *k == ObjectKind::Node) {
            lists.push((ObjectKind::Node, format!("{BASE}/nodes")));
        }
        for (kind, path) in lists {
            match get(&client, &path).await {
                Ok(v) => {
                    for item in v["items"].as_array().map(Vec::as_slice).unwrap_or_default() {
                        if let Some((id, s)) = sample(kind, item, now) {
                            found.insert((kind, id), s);
                        }
                    }
                }
                Err(e) => {
                    round.problem = Some(e);
                    break;
                }
            }
        }
        round.samples = shown
            .iter()
            .filter_map(|(k, id)| {
                let s = found.remove(&(*k, id.clone()))?;
                Some((*k, id.clone(), s))
            })
            .collect();
        round
    }
}

async fn get(client: &Client, path: &str) -> Result<Value, String> {
    let req = http::Request::get(path)
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    match client.request::<Value>(req).await {
        Ok(v) => Ok(v),
        Err(kube::Error::Api(e)) if e.code == 404 => Err(
            "metrics API not available (metrics.k8s.io is not served: no metrics-server)".into(),
        ),
        Err(kube::Error::Api(e)) => Err(format!(
            "metrics API not available ({} {}: {})",
            e.code, e.reason, e.message
        )),
        Err(e) => Err(format!("metrics API not available ({e})")),
    }
}

/// One PodMetrics (its containers summed) or NodeMetrics as (the console's id, sample).
fn sample(
    kind: ObjectKind,
    item: &Value,
    now: clusterdeck_model::Time,
) -> Option<(String, Sample)> {
    let name = item["metadata"]["name"].as_str()?;
    let usages: Vec<&Value> = match kind {
        ObjectKind::Pod => item["containers"]
            .as_array()?
            .iter()
            .map(|c| &c["usage"])
            .collect(),
        _ => vec![&item["usage"]],
    };
    let mut cpu = 0.0;
    let mut mem = 0u64;
    for u in usages {
        cpu += u["cpu"].as_str().and_then(cpu_millis)?;
        mem += u["memory"].as_str().and_then(bytes)?;
    }
    let id = match kind {
        ObjectKind::Pod => format!("pod/{}/{name}", item["metadata"]["namespace"].as_str()?),
        _ => format!("node/{name}"),
    };
    Some((
        id,
        Sample {
            at: now,
            cpu_millis: Some(cpu),
            mem_bytes: Some(mem),
            mem_limit: None,
        },
    ))
}

/// A CPU quantity ("250m", "1234567n", "12u", "2", "0.5") in millicores.
fn cpu_millis(q: &str) -> Option<f64> {
    let (num, scale) = match q.char_indices().last()? {
        (i, 'n') => (&q[..i], 1e-6),
        (i, 'u') => (&q[..i], 1e-3),
        (i, 'm') => (&q[..i], 1.0),
        _ => (q, 1000.0),
    };
    num.parse::<f64>().ok().map(|n| n * scale)
}

/// A memory quantity ("102400Ki", "100Mi", "1Gi", "1M", "123456") in bytes.
fn bytes(q: &str) -> Option<u64> {
    const SUFFIXES: [(&str, f64); 10] = [
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("k", 1e3),
        ("K", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("m", 1e-3),
    ];
    let (num, scale) = SUFFIXES
        .iter()
        .find_map(|(s, f)| q.strip_suffix(s).map(|n| (n, *f)))
        .unwrap_or((q, 1.0));
    num.parse::<f64>().ok().map(|n| (n * scale).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_as_the_metrics_api_writes_them() {
        assert_eq!(cpu_millis("250m"), Some(250.0));
        assert_eq!(cpu_millis("2"), Some(2000.0));
        assert_eq!(cpu_millis("0.5"), Some(500.0));
        assert!(cpu_millis("1234567n").is_some_and(|m| (m - 1.234567).abs() < 1e-9));
        assert_eq!(cpu_millis("x"), None);
        assert_eq!(bytes("100Mi"), Some(100 << 20));
        assert_eq!(bytes("102400Ki"), Some(100 << 20));
        assert_eq!(bytes("1G"), Some(1_000_000_000));
        assert_eq!(bytes("123456"), Some(123456));
    }

    #[test]
    fn a_pod_is_the_sum_of_its_containers() {
        let item = serde_json::json!({
            "metadata": {"name": "web-1", "namespace": "shop"},
            "containers": [
                {"name": "a", "usage": {"cpu": "200m", "memory": "64Mi"}},
                {"name": "b", "usage": {"cpu": "50m", "memory": "36Mi"}}
            ]
        });
        let (id, s) = sample(ObjectKind::Pod, &item, chrono::Utc::now()).expect("a sample");
        assert_eq!(id, "pod/shop/web-1");
        assert_eq!(s.cpu_millis, Some(250.0));
        assert_eq!(s.mem_bytes, Some(100 << 20));
    }
}
