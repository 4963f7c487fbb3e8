//! CPU and memory of the tasks and nodes on screen, from the Docker stats API of the engine
//! that runs each container: a task's container is on its node's engine, not on the manager.
//! Each round reads one-shot stats (`stream=false&one-shot=true`: no second sample inside the
//! engine, so no 1 s wait per container) for the containers shown; a node is the sum of the
//! task containers on it. CPU counters are cumulative, so a rate needs the previous round.
//! Each node's engine is found as `nodes` says.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::Value;
use tokio::sync::mpsc;

use clusterdeck_kit::{BackendMsg, Round, Sampler, Shown, UsageHandle};
use clusterdeck_model::usage::Sample;
use clusterdeck_model::{ObjectKind, SourceKind};

use crate::connect::{Connected, REQUEST_TIMEOUT, connect};
use crate::nodes::NodeEndpoints;

/// How often the shown objects are sampled.
pub const EVERY: Duration = Duration::from_secs(5);

pub fn spawn_usage(
    cluster: String,
    managers: Vec<String>,
    tls: Option<PathBuf>,
    nodes: NodeEndpoints,
    tx: mpsc::Sender<BackendMsg>,
) -> UsageHandle {
    let s = Stats {
        managers,
        tls,
        nodes,
        manager: None,
        tasks: HashMap::new(),
        node_info: HashMap::new(),
        engines: HashMap::new(),
        counters: HashMap::new(),
    };
    UsageHandle::spawn(cluster, SourceKind::Swarm, EVERY, s, tx)
}

struct Stats {
    managers: Vec<String>,
    tls: Option<PathBuf>,
    nodes: NodeEndpoints,
    manager: Option<Connected>,
    /// task id → (container id, node id), once it has a container.
    tasks: HashMap<String, (String, String)>,
    /// node id → (hostname, address).
    node_info: HashMap<String, (String, String)>,
    /// node id → its engine.
    engines: HashMap<String, Connected>,
    /// container id → (its CPU time, the host's CPU time) at the last reading, in ns.
    counters: HashMap<String, (u64, u64)>,
}

/// One container's reading.
struct Reading {
    container: String,
    cpu: Option<(u64, u64, u64)>,
    mem: Option<u64>,
    limit: Option<u64>,
}

impl Sampler for Stats {
    async fn sample(&mut self, shown: &Shown) -> Round {
        let mut problems = Vec::new();
        if let Err(e) = self.resolve(shown).await {
            return Round {
                samples: Vec::new(),
                problem: Some(e),
            };
        }
        // node id → containers to read there, and the node rows to sum.
        let mut wanted: BTreeMap<String, HashSet<String>> = BTreeMap::new();
        for (kind, id) in shown {
            if *kind == ObjectKind::Task
                && let Some((c, n)) = self.tasks.get(id)
            {
                wanted.entry(n.clone()).or_default().insert(c.clone());
            }
        }
        let node_rows: Vec<String> = shown
            .iter()
            .filter(|(k, _)| *k == ObjectKind::Node)
            .map(|(_, id)| id.clone())
            .collect();
        let mut on_node: HashMap<String, Vec<String>> = HashMap::new();
        for node in node_rows
            .iter()
            .chain(wanted.keys().cloned().collect::<Vec<_>>().iter())
        {
            if self.engine(node).await.is_none() {
                let host = self
                    .node_info
                    .get(node)
                    .map_or(node.as_str(), |i| i.0.as_str());
                problems.push(format!(
                    "no engine endpoint for node {host} (set docker.node_endpoint or docker.nodes)"
                ));
            }
        }
        for node in &node_rows {
            let Some(e) = self.engines.get(node) else {
                continue;
            };
            match containers_of_tasks(e).await {
                Ok(ids) => {
                    wanted
                        .entry(node.clone())
                        .or_default()
                        .extend(ids.iter().cloned());
                    on_node.insert(node.clone(), ids);
                }
                Err(err) => problems.push(format!("{}: {err}", e.endpoint)),
            }
        }
        let reads = wanted.iter().filter_map(|(node, cs)| {
            let e = self.engines.get(node)?;
            Some(cs.iter().map(move |c| async move {
                read(e, c.clone()).await.map_err(|m| (node.clone(), m))
            }))
        });
        let readings: Vec<Result<Reading, (String, String)>> = join_all(reads.flatten()).await;
        let now = chrono::Utc::now();
        let mut by_container: HashMap<String, Sample> = HashMap::new();
        let mut seen = HashSet::new();
        for r in readings {
            let r = match r {
                Ok(r) => r,
                Err((node, e)) => {
                    // Connected again next round (the engine may have restarted).
                    self.engines.remove(&node);
                    problems.push(e);
                    continue;
                }
            };
            seen.insert(r.container.clone());
            let cpu = r.cpu.and_then(|(total, system, cpus)| {
                let before = self.counters.insert(r.container.clone(), (total, system))?;
                rate(before, (total, system), cpus)
            });
            by_container.insert(
                r.container,
                Sample {
                    at: now,
                    cpu_millis: cpu,
                    mem_bytes: r.mem,
                    mem_limit: r.limit,
                },
            );
        }
        self.counters.retain(|c, _| seen.contains(c));
        let mut samples = Vec::new();
        for (kind, id) in shown {
            match kind {
                ObjectKind::Task => {
                    if let Some(s) = self.tasks.get(id).and_then(|(c, _)| by_container.get(c)) {
                        samples.push((*kind, id.clone(), s.clone()));
                    }
                }
                ObjectKind::Node => {
                    if let Some(cs) = on_node.get(id) {
                        samples.push((
                            *kind,
                            id.clone(),
                            sum(now, cs.iter().filter_map(|c| by_container.get(c))),
                        ));
                    }
                }
                _ => {}
            }
        }
        problems.dedup();
        Round {
            samples,
            problem: (!problems.is_empty()).then(|| problems.join("; ")),
        }
    }
}

impl Stats {
    /// Learns where the shown tasks run and the shown nodes' addresses, from a manager.
    async fn resolve(&mut self, shown: &Shown) -> Result<(), String> {
        let unknown_tasks: Vec<&String> = shown
            .iter()
            .filter(|(k, id)| *k == ObjectKind::Task && !self.tasks.contains_key(id))
            .map(|(_, id)| id)
            .collect();
        let mut unknown_nodes: HashSet<String> = shown
            .iter()
            .filter(|(k, id)| *k == ObjectKind::Node && !self.node_info.contains_key(id))
            .map(|(_, id)| id.clone())
            .collect();
        if unknown_tasks.is_empty() && unknown_nodes.is_empty() {
            return Ok(());
        }
        let m = self.manager().await?.clone();
        for id in unknown_tasks {
            if !valid_id(id) {
                continue;
            }
            let t = match m
                .link
                .get_json(&m.docker, &format!("/tasks/{id}"), REQUEST_TIMEOUT)
                .await
            {
                Ok(t) => t,
                // No answer: the manager is gone; another is tried next round.
                Err((e, false)) => {
                    self.manager = None;
                    return Err(e);
                }
                Err(_) => continue,
            };
            let container = t["Status"]["ContainerStatus"]["ContainerID"].as_str();
            let node = t["NodeID"].as_str();
            if let (Some(c), Some(n)) = (container, node) {
                if !self.node_info.contains_key(n) {
                    unknown_nodes.insert(n.to_string());
                }
                self.tasks
                    .insert(id.clone(), (c.to_string(), n.to_string()));
            }
        }
        for id in unknown_nodes.iter().filter(|n| valid_id(n)) {
            if let Ok(n) = m
                .link
                .get_json(&m.docker, &format!("/nodes/{id}"), REQUEST_TIMEOUT)
                .await
            {
                let host = n["Description"]["Hostname"].as_str().unwrap_or_default();
                let addr = n["Status"]["Addr"].as_str().unwrap_or_default();
                self.node_info
                    .insert(id.clone(), (host.to_string(), addr.to_string()));
            }
        }
        Ok(())
    }

    async fn manager(&mut self) -> Result<&Connected, String> {
        if self.manager.is_none() {
            let c = crate::connect_any(&self.managers, self.tls.as_deref())
                .await
                .map_err(|why| format!("no manager answered: {why}"))?;
            self.manager = Some(c);
        }
        self.manager.as_ref().ok_or_else(|| "no manager".into())
    }

    /// The node's engine, connected once and kept.
    async fn engine(&mut self, node: &str) -> Option<&Connected> {
        if !self.engines.contains_key(node) {
            let (host, addr) = self.node_info.get(node)?.clone();
            let m = self.manager().await.ok()?.clone();
            let ep = crate::nodes::endpoint(&self.nodes, &m, node, &host, &addr).await?;
            let c = connect(&ep, self.tls.as_deref()).await.ok()?;
            self.engines.insert(node.to_string(), c);
        }
        self.engines.get(node)
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The containers of Swarm tasks on one engine.
async fn containers_of_tasks(e: &Connected) -> Result<Vec<String>, String> {
    let path = "/containers/json?filters=%7B%22label%22%3A%5B%22com.docker.swarm.task.id%22%5D%7D";
    let v = e
        .link
        .get_json(&e.docker, path, REQUEST_TIMEOUT)
        .await
        .map_err(|(m, _)| m)?;
    Ok(v.as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c["Id"].as_str().map(str::to_string))
        .collect())
}

async fn read(e: &Connected, container: String) -> Result<Reading, String> {
    if !valid_id(&container) {
        return Err(format!("{container:?} is not a container id"));
    }
    let path = format!("/containers/{container}/stats?stream=false&one-shot=true");
    let v = e
        .link
        .get_json(&e.docker, &path, REQUEST_TIMEOUT)
        .await
        .map_err(|(m, _)| format!("stats of {}: {m}", &container[..12.min(container.len())]))?;
    Ok(reading(container, &v))
}

/// What one stats answer says: CPU counters and memory as `docker stats` counts it (usage
/// less inactive page cache: `inactive_file` on cgroup v2, `total_inactive_file` on v1).
fn reading(container: String, v: &Value) -> Reading {
    let cpu = &v["cpu_stats"];
    let total = cpu["cpu_usage"]["total_usage"].as_u64();
    let system = cpu["system_cpu_usage"].as_u64();
    let cpus = cpu["online_cpus"]
        .as_u64()
        .filter(|n| *n > 0)
        .or_else(|| {
            cpu["cpu_usage"]["percpu_usage"]
                .as_array()
                .map(|a| a.len() as u64)
        })
        .unwrap_or(1);
    let m = &v["memory_stats"];
    let inactive = m["stats"]["inactive_file"]
        .as_u64()
        .or_else(|| m["stats"]["total_inactive_file"].as_u64())
        .unwrap_or(0);
    Reading {
        container,
        cpu: total.zip(system).map(|(t, s)| (t, s, cpus)),
        mem: m["usage"].as_u64().map(|u| u.saturating_sub(inactive)),
        limit: m["limit"].as_u64(),
    }
}

/// Millicores between two readings: the container's share of the host's CPU time, times the
/// host's CPUs (the docker CLI's CPU %, ×10).
fn rate(before: (u64, u64), now: (u64, u64), cpus: u64) -> Option<f64> {
    let used = now.0.checked_sub(before.0)? as f64;
    let host = now.1.checked_sub(before.1)? as f64;
    (host > 0.0).then(|| used / host * cpus as f64 * 1000.0)
}

fn sum<'a>(at: clusterdeck_model::Time, samples: impl Iterator<Item = &'a Sample>) -> Sample {
    let mut s = Sample {
        at,
        cpu_millis: Some(0.0),
        mem_bytes: Some(0),
        mem_limit: None,
    };
    for x in samples {
        s.cpu_millis = s.cpu_millis.zip(x.cpu_millis).map(|(a, b)| a + b);
        s.mem_bytes = Some(s.mem_bytes.unwrap_or(0) + x.mem_bytes.unwrap_or(0));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cpu_is_a_rate_between_readings_and_memory_leaves_out_the_page_cache() {
        let v = json!({
            "cpu_stats": {"cpu_usage": {"total_usage": 2_000_000_000u64}, "system_cpu_usage": 100_000_000_000u64, "online_cpus": 2},
            "memory_stats": {"usage": 50 << 20, "limit": 1u64 << 30, "stats": {"inactive_file": 10 << 20}}
        });
        let r = reading("c1".into(), &v);
        assert_eq!(r.mem, Some(40 << 20));
        assert_eq!(r.limit, Some(1 << 30));
        let (t, s, cpus) = r.cpu.expect("counters");
        // Half a second of CPU in one second of two CPUs' time (2 s): 500m, "50 %".
        let m = rate((t, s), (t + 500_000_000, s + 2_000_000_000), cpus).expect("a rate");
        assert!((m - 500.0).abs() < 1e-6, "{m}");
        assert_eq!(rate((t, s), (t, s), cpus), None, "no host time passed");
        assert_eq!(
            rate((t, s), (t - 1, s + 1), cpus),
            None,
            "a restarted counter"
        );
    }
}
