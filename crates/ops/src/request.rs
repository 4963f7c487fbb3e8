use serde_json::{Value, json};

use crate::LaunchConfig;
use crate::model::{Availability, ClusterState, NodeRole, ObjectKind, SourceKind, Target};

/// What can be done to one EC2 instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InstanceAction {
    Start,
    Stop,
    Reboot,
    Terminate,
}

impl InstanceAction {
    pub fn verb(self) -> &'static str {
        match self {
            InstanceAction::Start => "start",
            InstanceAction::Stop => "stop",
            InstanceAction::Reboot => "reboot",
            InstanceAction::Terminate => "terminate",
        }
    }
}

/// What a request does to its target.
#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Scale {
        replicas: u32,
    },
    SetAvailability {
        availability: Availability,
    },
    Rollback {
        /// Kubernetes: the revision the plan was made from (set at the gate); the undo refuses
        /// if the Deployment has moved on since, rather than restore a template not confirmed.
        from_revision: Option<u64>,
        /// Kubernetes: the revision chosen to go back to; None is the one before the current
        /// (`rollout undo`'s default).
        to_revision: Option<u64>,
    },
    Deploy {
        image: String,
    },
    Restart,
    /// Promote to manager / demote to worker.
    SetRole {
        role: NodeRole,
    },
    /// Start, stop, reboot or terminate one EC2 instance.
    Instance {
        action: InstanceAction,
    },
    /// Launch `count` instances as described by the context's `aws.launch`, tags included.
    AddNodes {
        count: u32,
        launch: LaunchConfig,
    },
}

impl Op {
    /// The kinds of object it applies to, in the order a typed name is looked up.
    fn kinds(&self) -> &'static [ObjectKind] {
        const WORKLOADS: &[ObjectKind] = &[
            ObjectKind::Service,
            ObjectKind::Deployment,
            ObjectKind::StatefulSet,
            ObjectKind::DaemonSet,
        ];
        match self {
            Op::Scale { .. } | Op::Rollback { .. } | Op::Deploy { .. } | Op::Restart => WORKLOADS,
            Op::SetAvailability { .. } | Op::SetRole { .. } => &[ObjectKind::Node],
            Op::Instance { .. } => &[ObjectKind::Instance],
            Op::AddNodes { .. } => &[ObjectKind::Launch],
        }
    }
}

/// A mutating request, as asked for by the operator (a key on a selected row, a prompt or a
/// `:` command): which context, which object, what to do.
#[derive(Clone, Debug, PartialEq)]
pub struct OpRequest {
    pub cluster: String,
    pub target: Target,
    pub op: Op,
}

impl OpRequest {
    pub fn new(cluster: impl Into<String>, target: Target, op: Op) -> OpRequest {
        OpRequest {
            cluster: cluster.into(),
            target,
            op,
        }
    }

    /// A request naming its target the way the operator typed it; the gate resolves the name.
    pub fn named(cluster: impl Into<String>, name: impl Into<String>, op: Op) -> OpRequest {
        OpRequest::new(cluster, Target::named(name), op)
    }

    /// "Add nodes" to a context: its target is what the nodes are launched from.
    pub fn add_nodes(cluster: impl Into<String>, count: u32, launch: LaunchConfig) -> OpRequest {
        let from = launch
            .template
            .clone()
            .or(launch.ami.clone())
            .unwrap_or_else(|| "ec2".into());
        let target = Target::object(SourceKind::Ec2, ObjectKind::Launch, &from, &from);
        OpRequest::new(cluster, target, Op::AddNodes { count, launch })
    }

    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    /// The target as plans, messages and the audit log name it: a Kubernetes object with its
    /// kind (`deployment/shop/web`, `node/kwok-1`, as kubectl names it), others by name.
    pub fn target(&self) -> String {
        if self.source() == Some(SourceKind::Kubernetes) {
            self.target.qualified()
        } else {
            self.target.name.clone()
        }
    }

    /// The backend that executes it, once the target is resolved.
    pub fn source(&self) -> Option<SourceKind> {
        self.target.source()
    }

    fn kind(&self) -> Option<ObjectKind> {
        self.target.kind()
    }

    /// What the operator types to confirm a high-risk request: the target with its kind
    /// (`deployment/shop/web`, `node/mgr1`, `service/web`), so the kind is confirmed too; an
    /// instance id says its kind already (`i-…`).
    pub fn typed_name(&self) -> String {
        match self.kind() {
            Some(ObjectKind::Instance | ObjectKind::Launch) | None => self.target.name.clone(),
            Some(_) => self.target.qualified(),
        }
    }

    pub fn verb(&self) -> &'static str {
        let kube = self.source() == Some(SourceKind::Kubernetes);
        match &self.op {
            Op::Scale { .. } => "scale",
            Op::SetAvailability { availability } => match (availability, kube) {
                (Availability::Active, false) => "activate",
                (Availability::Pause, false) => "pause",
                (Availability::Active, true) => "uncordon",
                (Availability::Pause, true) => "cordon",
                (Availability::Drain, _) => "drain",
            },
            Op::Rollback { .. } => "rollback",
            Op::Deploy { .. } => "deploy",
            Op::Restart => "restart",
            Op::SetRole {
                role: NodeRole::Manager,
            } => "promote",
            Op::SetRole {
                role: NodeRole::Worker,
            } => "demote",
            Op::Instance { action } => action.verb(),
            Op::AddNodes { .. } => "add-nodes",
        }
    }

    pub fn params(&self) -> Value {
        match &self.op {
            Op::Scale { replicas } => json!({ "replicas": replicas }),
            Op::SetAvailability { availability } => {
                json!({ "availability": availability.label() })
            }
            Op::Deploy { image } => json!({ "image": image }),
            Op::SetRole { role } => {
                json!({ "role": if *role == NodeRole::Manager { "manager" } else { "worker" } })
            }
            Op::Rollback {
                from_revision,
                to_revision,
            } if from_revision.is_some() || to_revision.is_some() => {
                json!({ "from_revision": from_revision, "to_revision": to_revision })
            }
            Op::Rollback { .. } | Op::Restart => json!({}),
            Op::Instance { action } => json!({ "action": action.verb() }),
            Op::AddNodes { count, launch } => json!({
                "count": count,
                "ami": launch.ami,
                "template": launch.template,
                "instance_type": launch.instance_type,
                "subnet": launch.subnet,
                "tags": launch.tags,
            }),
        }
    }

    /// The equivalent CLI command, shown in the plan and recorded in the audit log.
    pub fn cli(&self) -> String {
        if self.source() == Some(SourceKind::Kubernetes) {
            return self.kubectl();
        }
        let name = &self.target.name;
        match &self.op {
            Op::Scale { replicas } => format!("docker service scale {name}={replicas}"),
            Op::SetAvailability { availability } => format!(
                "docker node update --availability {} {name}",
                availability.label()
            ),
            Op::Rollback { .. } => format!("docker service rollback {name}"),
            Op::Deploy { image } => format!("docker service update --image {image} {name}"),
            Op::Restart => format!("docker service update --force {name}"),
            Op::SetRole {
                role: NodeRole::Manager,
            } => format!("docker node promote {name}"),
            Op::SetRole {
                role: NodeRole::Worker,
            } => format!("docker node demote {name}"),
            Op::Instance { action } => format!(
                "aws ec2 {}-instances --instance-ids {}",
                action.verb(),
                self.target.id()
            ),
            Op::AddNodes { count, launch } => launch_cli(*count, launch),
        }
    }

    /// Whether it changes a workload's rollout (one in flight per service).
    pub fn is_rollout(&self) -> bool {
        matches!(
            self.op,
            Op::Deploy { .. } | Op::Rollback { .. } | Op::Restart
        )
    }

    /// The same request with its target resolved against the cluster's state: a target typed
    /// by name becomes the one object of the kinds the operation applies to that has that name
    /// (or `kind/name`, to choose between several). An unknown or ambiguous name is refused
    /// with the candidates.
    pub fn resolve(mut self, cluster: &ClusterState) -> Result<OpRequest, String> {
        if self.target.object.is_none() {
            self.target = resolve_name(cluster, &self.target.name, self.op.kinds())?;
        }
        if self.source() == Some(SourceKind::Kubernetes)
            && let Some(w) = cluster.workloads.get(self.target.id())
        {
            match &mut self.op {
                Op::Rollback { from_revision, .. } => *from_revision = Some(w.spec_version),
                // One container: name it, so the plan, the audit and the patch all say which
                // image changes (as `kubectl set image web main=…` would).
                Op::Deploy { image } => {
                    if let ([(name, _)], (None, _)) =
                        (w.containers.as_slice(), split_container(image))
                    {
                        *image = format!("{name}={image}");
                    }
                }
                _ => {}
            }
        }
        Ok(self)
    }

    fn kubectl(&self) -> String {
        let (kind, name) = (self.kind(), &self.target.name);
        let (ns, short) = match name.split_once('/') {
            Some((ns, n)) => (format!(" -n {ns}"), n),
            None => (String::new(), name.as_str()),
        };
        let object = format!("{}/{short}", kind.map_or("", ObjectKind::label));
        match &self.op {
            Op::Scale { replicas } => {
                format!("kubectl scale{ns} {object} --replicas={replicas}")
            }
            Op::SetAvailability { availability } => match availability {
                Availability::Active => format!("kubectl uncordon {name}"),
                Availability::Pause => format!("kubectl cordon {name}"),
                Availability::Drain => {
                    format!("kubectl drain {name} --ignore-daemonsets --delete-emptydir-data")
                }
            },
            Op::Rollback {
                to_revision: Some(r),
                ..
            } => format!("kubectl rollout undo{ns} {object} --to-revision={r}"),
            Op::Rollback { .. } => format!("kubectl rollout undo{ns} {object}"),
            Op::Deploy { image } => match split_container(image) {
                (Some(_), _) => format!("kubectl set image{ns} {object} {image}"),
                (None, _) => format!("kubectl set image{ns} {object} '*={image}'"),
            },
            Op::Restart => format!("kubectl rollout restart{ns} {object}"),
            _ => format!("kubectl ({}) {object}", self.verb()),
        }
    }
}

/// The one object of `kinds` called `name` (or `kind/name`).
fn resolve_name(
    cluster: &ClusterState,
    name: &str,
    kinds: &[ObjectKind],
) -> Result<Target, String> {
    let (want, bare) = match name.split_once('/') {
        Some((k, rest)) => match ObjectKind::parse(k) {
            Some(k) => (Some(k), rest),
            None => (None, name),
        },
        None => (None, name),
    };
    let of = |bare: &str, want: Option<ObjectKind>| -> Vec<Target> {
        cluster
            .targets_named(bare)
            .into_iter()
            .filter(|t| t.kind().is_some_and(|k| kinds.contains(&k)))
            .filter(|t| want.is_none_or(|w| t.kind() == Some(w)))
            .collect()
    };
    let mut found = of(bare, want);
    // `sts/web` may be a namespace called sts rather than a kind: then the whole name.
    if found.is_empty() && want.is_some() {
        found = of(name, None);
    }
    found.sort_by_key(|t| t.kind());
    found.dedup();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => {
            let what = kinds.first().map_or("object", |k| {
                if k.is_workload() {
                    "service"
                } else {
                    k.label()
                }
            });
            Err(format!("no {what} named {bare}"))
        }
        _ => {
            let mut names: Vec<String> = found.iter().map(Target::qualified).collect();
            let mut distinct = names.clone();
            distinct.sort();
            distinct.dedup();
            // Two nodes of one hostname (one left and rejoined): only their ids tell them apart.
            if distinct.len() < names.len() {
                names = found
                    .iter()
                    .map(|t| match cluster.nodes.get(t.id()) {
                        Some(n) => format!("{} ({}, {})", t.id(), n.hostname, n.status.label()),
                        None => t.id().to_string(),
                    })
                    .collect();
            }
            Err(format!(
                "{bare} names {} objects: type one of {}",
                found.len(),
                names.join(", ")
            ))
        }
    }
}

fn launch_cli(count: u32, l: &LaunchConfig) -> String {
    let mut cli = format!("aws ec2 run-instances --count {count}");
    if let Some(t) = &l.template {
        let key = if t.starts_with("lt-") {
            "LaunchTemplateId"
        } else {
            "LaunchTemplateName"
        };
        cli.push_str(&format!(" --launch-template {key}={t}"));
    }
    let args = [
        ("--image-id", &l.ami),
        ("--instance-type", &l.instance_type),
        ("--subnet-id", &l.subnet),
        ("--key-name", &l.key_name),
    ];
    for (flag, v) in args {
        if let Some(v) = v {
            cli.push_str(&format!(" {flag} {v}"));
        }
    }
    if !l.security_groups.is_empty() {
        cli.push_str(&format!(
            " --security-group-ids {}",
            l.security_groups.join(" ")
        ));
    }
    if !l.tags.is_empty() {
        let tags: Vec<String> = l
            .tags
            .iter()
            .map(|(k, v)| format!("{{Key={k},Value={v}}}"))
            .collect();
        cli.push_str(&format!(
            " --tag-specifications 'ResourceType=instance,Tags=[{}]'",
            tags.join(",")
        ));
    }
    cli
}

/// Splits `repo[:tag][@digest]` (registry ports are not tags).
pub fn parse_image_ref(image: &str) -> (String, Option<String>, Option<String>) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d.to_string())),
        None => (image, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[last_slash..].rfind(':') {
        Some(i) => {
            let at = last_slash + i;
            (
                rest[..at].to_string(),
                Some(rest[at + 1..].to_string()),
                digest,
            )
        }
        None => (rest.to_string(), None, digest),
    }
}

/// `CONTAINER=IMAGE` (as `kubectl set image` takes it) or just `IMAGE`; an image reference
/// never contains `=`.
pub fn split_container(image: &str) -> (Option<&str>, &str) {
    match image.split_once('=') {
        Some((c, i)) => (Some(c.trim()), i.trim()),
        None => (None, image.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_names() {
        assert_eq!(split_container("web:2"), (None, "web:2"));
        assert_eq!(split_container("main=web:2"), (Some("main"), "web:2"));
        assert_eq!(split_container("=web:2"), (Some(""), "web:2"));
    }

    #[test]
    fn image_refs() {
        assert_eq!(
            parse_image_ref("127.0.0.1:5000/demo/app:2"),
            ("127.0.0.1:5000/demo/app".into(), Some("2".into()), None)
        );
        assert_eq!(
            parse_image_ref("127.0.0.1:5000/demo/app"),
            ("127.0.0.1:5000/demo/app".into(), None, None)
        );
        assert_eq!(
            parse_image_ref("app@sha256:ab"),
            ("app".into(), None, Some("sha256:ab".into()))
        );
    }
}
