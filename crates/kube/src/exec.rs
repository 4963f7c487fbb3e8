//! Kubernetes operations, each in its own task so the watchers and the UI never wait: scale
//! (scale subresource), cordon / uncordon, drain (cordon, then the Eviction API pod by pod,
//! which respects PodDisruptionBudgets), rollout undo (the previous ReplicaSet's template put
//! back, as kubectl does), deploy (one container's image) and rollout restart. Every write
//! carries the field manager `clusterdeck`, so the API server's audit log and the objects'
//! managedFields name us.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{EvictParams, ListParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

use clusterdeck_kit::{Failed, OpCommand, Reporter, Step, Writer, as_planned, follow_until};
use clusterdeck_model::{Availability, Facts, UpdateState, Workload};
use clusterdeck_ops::{Op, OpRequest, split_container};

use crate::convert::{self, Kind, REVISION};

pub const FIELD_MANAGER: &str = "clusterdeck";
/// How long a drain keeps retrying evictions a PodDisruptionBudget refuses.
const DRAIN_LIMIT: Duration = Duration::from_secs(60);
/// How long a scale or rollout is followed before it is reported as not settled.
const FOLLOW_LIMIT: Duration = Duration::from_secs(300);
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

pub struct Executor {
    client: Client,
    rep: Reporter,
}

impl Executor {
    pub fn new(client: Client, rep: Reporter) -> Executor {
        Executor { client, rep }
    }

    /// Starts one released operation in a task of its own; `_w` is the proof this backend may
    /// write.
    pub fn start(&self, _w: &Writer, cmd: OpCommand) {
        let op = Running {
            client: self.client.clone(),
            rep: self.rep.clone(),
            id: cmd.op_id.clone(),
        };
        tokio::spawn(async move {
            let r = match op.as_planned(&cmd.request, &cmd.expect).await {
                Ok(()) => op.run(&cmd.request).await.map_err(Failed::from),
                Err(f) => Err(f),
            };
            op.rep.finish(op.id.clone(), r).await;
        });
    }
}

struct Running {
    client: Client,
    rep: Reporter,
    id: String,
}

fn pp() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    }
}

fn err(what: &str, e: kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{what}: {} ({})", s.message, s.reason),
        other => format!("{what}: {other}"),
    }
}

fn node_name(id: &str) -> &str {
    id.strip_prefix("node/").unwrap_or(id)
}

impl Running {
    async fn progress(&self, done: u32, total: u32, message: String) {
        self.rep
            .progress(&self.id, Some((done, total)), message)
            .await;
    }

    /// Reads the target right before the write and compares it with what the confirmed plan
    /// showed (replicas, images, generation and uid; a node's schedulability).
    async fn as_planned(&self, req: &OpRequest, expect: &Facts) -> Result<(), Failed> {
        let id = req.target.id();
        let now = match &req.op {
            Op::SetAvailability { .. } => {
                let name = node_name(id);
                let n = Api::<Node>::all(self.client.clone())
                    .get(name)
                    .await
                    .map_err(|e| err(&format!("reading node {name}"), e))?;
                convert::node(&n).map(|n| Facts::of_node(&n))
            }
            _ => {
                let (kind, ns, name) = Running::target(id)?;
                self.workload(kind, ns, name)
                    .await
                    .map(|w| Facts::of_workload(&w))
            }
        };
        as_planned(expect, &req.target.name, &now.unwrap_or_default())
    }

    async fn run(&self, req: &OpRequest) -> Result<String, String> {
        let id = req.target.id();
        match &req.op {
            Op::Scale { replicas } => self.scale(id, *replicas).await,
            Op::SetAvailability { availability } => match availability {
                Availability::Active => self.cordon(node_name(id), false).await,
                Availability::Pause => self.cordon(node_name(id), true).await,
                Availability::Drain => self.drain(node_name(id)).await,
            },
            Op::Rollback {
                from_revision,
                to_revision,
            } => self.undo(id, *from_revision, *to_revision).await,
            Op::Deploy { image } => self.deploy(id, image).await,
            Op::Restart => self.restart(id).await,
            _ => Err(format!("{} is not a Kubernetes operation", req.verb())),
        }
    }

    fn target(id: &str) -> Result<(Kind, &str, &str), String> {
        convert::parse_workload_id(id).ok_or_else(|| format!("{id} is not a Kubernetes workload"))
    }

    async fn scale(&self, id: &str, replicas: u32) -> Result<String, String> {
        let (kind, ns, name) = Running::target(id)?;
        let patch = Patch::Merge(json!({ "spec": { "replicas": replicas } }));
        match kind {
            Kind::Deployment => {
                Api::<Deployment>::namespaced(self.client.clone(), ns)
                    .patch_scale(name, &pp(), &patch)
                    .await
                    .map_err(|e| err("scale", e))?;
            }
            Kind::StatefulSet => {
                Api::<StatefulSet>::namespaced(self.client.clone(), ns)
                    .patch_scale(name, &pp(), &patch)
                    .await
                    .map_err(|e| err("scale", e))?;
            }
            Kind::DaemonSet => {
                return Err(
                    "a DaemonSet runs one pod per eligible node; it has no replica count".into(),
                );
            }
        }
        self.follow(id, Some(replicas)).await
    }

    async fn cordon(&self, name: &str, cordon: bool) -> Result<String, String> {
        Api::<Node>::all(self.client.clone())
            .patch(
                name,
                &pp(),
                &Patch::Merge(json!({ "spec": { "unschedulable": cordon } })),
            )
            .await
            .map_err(|e| err(if cordon { "cordon" } else { "uncordon" }, e))?;
        Ok(if cordon {
            format!("{name} cordoned: no new pods are scheduled there")
        } else {
            format!("{name} uncordoned: schedulable again")
        })
    }

    /// Cordon, then evict every pod but DaemonSet and mirror pods; a budget's refusal is
    /// retried until DRAIN_LIMIT and then reported with the pods it blocks.
    async fn drain(&self, node: &str) -> Result<String, String> {
        self.cordon(node, true).await?;
        let pods_api = Api::<Pod>::all(self.client.clone());
        let on_node = ListParams::default().fields(&format!("spec.nodeName={node}"));
        let list = pods_api
            .list(&on_node)
            .await
            .map_err(|e| err("listing the node's pods", e))?;
        let mut skipped = 0;
        let mut todo: Vec<(String, String)> = Vec::new();
        for p in &list.items {
            if convert::drain_skips(p).is_some() {
                skipped += 1;
                continue;
            }
            if let (Some(ns), Some(n)) = (&p.metadata.namespace, &p.metadata.name) {
                todo.push((ns.clone(), n.clone()));
            }
        }
        let started = Instant::now();
        let evicted = self.evict_all(node, todo, started).await?;
        // Evicted pods terminate; the drain is done when they are gone.
        loop {
            let left = pods_api
                .list(&on_node)
                .await
                .map_err(|e| err("listing the node's pods", e))?
                .items
                .iter()
                .filter(|p| convert::drain_skips(p).is_none())
                .count();
            if left == 0 {
                break;
            }
            if started.elapsed() > FOLLOW_LIMIT {
                return Err(format!("{node}: {left} evicted pods still terminating"));
            }
            tokio::time::sleep(FOLLOW_EVERY).await;
        }
        Ok(format!(
            "{node} drained: {evicted} pods evicted, {skipped} DaemonSet/mirror pods left"
        ))
    }

    /// Evicts every pod of `todo` through the Eviction API, retrying those a
    /// PodDisruptionBudget protects until DRAIN_LIMIT; returns how many went.
    async fn evict_all(
        &self,
        node: &str,
        mut todo: Vec<(String, String)>,
        started: Instant,
    ) -> Result<u32, String> {
        let total = todo.len() as u32;
        let mut blocked: BTreeMap<String, String> = BTreeMap::new();
        let ep = EvictParams {
            post_options: PostParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..PostParams::default()
            },
            ..EvictParams::default()
        };
        let mut evicted = 0u32;
        while !todo.is_empty() {
            let mut still = Vec::new();
            for (ns, name) in todo {
                let api = Api::<Pod>::namespaced(self.client.clone(), &ns);
                match api.evict(&name, &ep).await {
                    Ok(_) => {
                        evicted += 1;
                        blocked.remove(&format!("{ns}/{name}"));
                        self.progress(evicted, total, format!("evicted {ns}/{name}"))
                            .await;
                    }
                    Err(kube::Error::Api(s)) if s.code == 404 => evicted += 1,
                    // The namespace is being deleted: so is the pod, and the wait after sees it
                    // go (kubectl's drain does the same).
                    Err(kube::Error::Api(s))
                        if s.code == 403 && s.message.contains("being terminated") =>
                    {
                        evicted += 1
                    }
                    // 429: a PodDisruptionBudget allows no more disruptions right now.
                    Err(kube::Error::Api(s)) if s.code == 429 => {
                        blocked.insert(format!("{ns}/{name}"), s.message.clone());
                        still.push((ns, name));
                    }
                    Err(e) => return Err(err(&format!("evicting {ns}/{name}"), e)),
                }
            }
            todo = still;
            if todo.is_empty() {
                break;
            }
            if started.elapsed() > DRAIN_LIMIT {
                let pods: Vec<String> = blocked.keys().cloned().collect();
                let why = blocked.values().next().cloned().unwrap_or_default();
                return Err(format!(
                    "{node} cordoned, {evicted} of {total} pods evicted; blocked by a PodDisruptionBudget: {} ({why})",
                    pods.join(", ")
                ));
            }
            let msg = format!(
                "{} pods blocked by a PodDisruptionBudget, retrying",
                todo.len()
            );
            self.progress(evicted, total, msg).await;
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        Ok(evicted)
    }

    /// rollout undo: the ReplicaSet of the revision before the current one, its pod
    /// template put back into the Deployment (the `pod-template-hash` label removed).
    async fn undo(
        &self,
        id: &str,
        planned: Option<u64>,
        to: Option<u64>,
    ) -> Result<String, String> {
        let (kind, ns, name) = Running::target(id)?;
        if kind != Kind::Deployment {
            return Err("rollout undo is for Deployments here; StatefulSets and DaemonSets keep their history in ControllerRevisions".into());
        }
        let api = Api::<Deployment>::namespaced(self.client.clone(), ns);
        let mut d = api
            .get(name)
            .await
            .map_err(|e| err("reading the deployment", e))?;
        let current: u64 = revision(&d.metadata.annotations).unwrap_or(0);
        if let Some(p) = planned
            && p != current
        {
            return Err(format!(
                "{ns}/{name} is at revision {current}, not {p} as planned (it was rolled out since): nothing was changed; look again and plan anew"
            ));
        }
        let uid = d.metadata.uid.clone().unwrap_or_default();
        let selector = d
            .spec
            .as_ref()
            .and_then(|s| s.selector.match_labels.as_ref())
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        let sets = Api::<ReplicaSet>::namespaced(self.client.clone(), ns)
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| err("listing ReplicaSets", e))?;
        let previous = sets
            .items
            .into_iter()
            .filter(|rs| {
                rs.metadata
                    .owner_references
                    .as_ref()
                    .is_some_and(|os| os.iter().any(|o| o.uid == uid))
            })
            .filter_map(|rs| Some((revision(&rs.metadata.annotations)?, rs)))
            .filter(|(r, _)| match to {
                Some(t) => *r == t,
                None => *r < current,
            })
            .max_by_key(|(r, _)| *r)
            .ok_or_else(|| match to {
                Some(t) => format!(
                    "{ns}/{name} has no revision {t} (its ReplicaSet is gone, or it never was): nothing was changed"
                ),
                None => {
                    format!("{ns}/{name} has no previous revision to go back to (current {current})")
                }
            })?;
        let (rev, rs) = previous;
        let mut template = rs
            .spec
            .and_then(|s| s.template)
            .ok_or_else(|| format!("revision {rev} has no pod template"))?;
        if let Some(labels) = template.metadata.as_mut().and_then(|m| m.labels.as_mut()) {
            labels.remove("pod-template-hash");
        }
        let image = template
            .spec
            .as_ref()
            .and_then(|s| s.containers.first())
            .and_then(|c| c.image.clone())
            .unwrap_or_default();
        if let Some(spec) = d.spec.as_mut() {
            spec.template = template;
        }
        d.metadata.managed_fields = None;
        // A replace with the read resourceVersion: a concurrent change makes this fail, not
        // silently overwrite it.
        api.replace(
            name,
            &PostParams {
                field_manager: Some(FIELD_MANAGER.into()),
                ..PostParams::default()
            },
            &d,
        )
        .await
        .map_err(|e| err("rollout undo", e))?;
        self.follow(id, None)
            .await
            .map(|m| format!("rolled back to revision {rev} (image {image}): {m}"))
    }

    /// `CONTAINER=IMAGE`, or a bare image for a workload with one container.
    async fn deploy(&self, id: &str, image: &str) -> Result<String, String> {
        let (kind, ns, name) = Running::target(id)?;
        let (named, image) = split_container(image);
        let names = self.containers(kind, ns, name).await?;
        let container = match (named, names.as_slice()) {
            (Some(c), _) if names.iter().any(|n| n == c) => c.to_string(),
            (Some(c), _) => {
                return Err(format!(
                    "{ns}/{name} has no container `{c}` (it has: {})",
                    names.join(", ")
                ));
            }
            (None, [one]) => one.clone(),
            (None, []) => return Err(format!("{ns}/{name} has no container")),
            (None, _) => {
                return Err(format!(
                    "{ns}/{name} has several containers ({}): name one",
                    names.join(", ")
                ));
            }
        };
        let patch = Patch::Strategic(json!({
            "spec": { "template": { "spec": { "containers": [ { "name": container, "image": image } ] } } }
        }));
        self.patch_workload(kind, ns, name, &patch).await?;
        self.follow(id, None)
            .await
            .map(|m| format!("{container} → {image}: {m}"))
    }

    async fn restart(&self, id: &str) -> Result<String, String> {
        let (kind, ns, name) = Running::target(id)?;
        let patch = Patch::Strategic(json!({
            "spec": { "template": { "metadata": { "annotations": {
                "kubectl.kubernetes.io/restartedAt": Utc::now().to_rfc3339()
            } } } }
        }));
        self.patch_workload(kind, ns, name, &patch).await?;
        self.follow(id, None)
            .await
            .map(|m| format!("restarted: {m}"))
    }

    async fn containers(&self, kind: Kind, ns: &str, name: &str) -> Result<Vec<String>, String> {
        let c = self.client.clone();
        let spec = match kind {
            Kind::Deployment => Api::<Deployment>::namespaced(c, ns)
                .get(name)
                .await
                .map(|d| d.spec.map(|s| s.template)),
            Kind::StatefulSet => Api::<StatefulSet>::namespaced(c, ns)
                .get(name)
                .await
                .map(|d| d.spec.map(|s| s.template)),
            Kind::DaemonSet => Api::<DaemonSet>::namespaced(c, ns)
                .get(name)
                .await
                .map(|d| d.spec.map(|s| s.template)),
        }
        .map_err(|e| err("reading the workload", e))?;
        Ok(spec
            .and_then(|t| t.spec)
            .map(|s| s.containers.into_iter().map(|c| c.name).collect())
            .unwrap_or_default())
    }

    async fn patch_workload(
        &self,
        kind: Kind,
        ns: &str,
        name: &str,
        patch: &Patch<serde_json::Value>,
    ) -> Result<(), String> {
        let c = self.client.clone();
        let r = match kind {
            Kind::Deployment => Api::<Deployment>::namespaced(c, ns)
                .patch(name, &pp(), patch)
                .await
                .map(|_| ()),
            Kind::StatefulSet => Api::<StatefulSet>::namespaced(c, ns)
                .patch(name, &pp(), patch)
                .await
                .map(|_| ()),
            Kind::DaemonSet => Api::<DaemonSet>::namespaced(c, ns)
                .patch(name, &pp(), patch)
                .await
                .map(|_| ()),
        };
        r.map_err(|e| err("patch", e))
    }

    /// Follows the workload until its rollout settles (or stalls), reporting progress.
    async fn follow(&self, id: &str, want: Option<u32>) -> Result<String, String> {
        let (kind, ns, name) = Running::target(id)?;
        follow_until(
            &self.rep,
            &self.id,
            FOLLOW_LIMIT,
            FOLLOW_EVERY,
            || async move {
                match self.workload(kind, ns, name).await {
                    Some(w) => rollout_step(&w, want),
                    None => Step::pending(None, "waiting for the API server"),
                }
            },
        )
        .await
    }

    async fn workload(&self, kind: Kind, ns: &str, name: &str) -> Option<Workload> {
        let c = self.client.clone();
        match kind {
            Kind::Deployment => Api::<Deployment>::namespaced(c, ns)
                .get(name)
                .await
                .ok()
                .and_then(|d| convert::deployment(&d)),
            Kind::StatefulSet => Api::<StatefulSet>::namespaced(c, ns)
                .get(name)
                .await
                .ok()
                .and_then(|d| convert::statefulset(&d)),
            Kind::DaemonSet => Api::<DaemonSet>::namespaced(c, ns)
                .get(name)
                .await
                .ok()
                .and_then(|d| convert::daemonset(&d)),
        }
    }
}

/// A rollout (or a scale to `want`) is done when the status says completed at the desired
/// count, and failed when it stalled.
fn rollout_step(w: &Workload, want: Option<u32>) -> Step {
    let desired = want.unwrap_or(w.desired);
    match &w.update {
        Some(u) if u.state == UpdateState::Paused => {
            Step::Done(Err(format!("{}: {}", w.name, u.message)))
        }
        Some(u) if u.state == UpdateState::Completed && w.desired == desired => {
            Step::Done(Ok(format!("{}: {}", w.name, u.message)))
        }
        Some(u) => Step::pending(Some((w.running, desired)), u.message.clone()),
        None => Step::pending(None, "waiting for the rollout to start"),
    }
}

fn revision(a: &Option<BTreeMap<String, String>>) -> Option<u64> {
    a.as_ref()?.get(REVISION)?.parse().ok()
}
