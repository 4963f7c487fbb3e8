/// Which backend a fact came from, or an operation is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SourceKind {
    Swarm,
    Kubernetes,
    Ec2,
    Etcd,
}

impl SourceKind {
    pub const ALL: [SourceKind; 4] = [
        SourceKind::Swarm,
        SourceKind::Kubernetes,
        SourceKind::Ec2,
        SourceKind::Etcd,
    ];

    pub fn label(&self) -> &'static str {
        match self {
            SourceKind::Swarm => "swarm",
            SourceKind::Kubernetes => "kubernetes",
            SourceKind::Ec2 => "ec2",
            SourceKind::Etcd => "etcd",
        }
    }
}

/// What kind of object a row, an operation or an audit record is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    Node,
    /// A Swarm service.
    Service,
    /// A Swarm task.
    Task,
    Deployment,
    StatefulSet,
    DaemonSet,
    Pod,
    /// An EC2 instance.
    Instance,
    /// An etcd member.
    Member,
    /// What "add nodes" launches from (a launch template or an AMI).
    Launch,
}

impl ObjectKind {
    pub const ALL: [ObjectKind; 10] = [
        ObjectKind::Node,
        ObjectKind::Service,
        ObjectKind::Task,
        ObjectKind::Deployment,
        ObjectKind::StatefulSet,
        ObjectKind::DaemonSet,
        ObjectKind::Pod,
        ObjectKind::Instance,
        ObjectKind::Member,
        ObjectKind::Launch,
    ];

    /// The word an operator types and reads (`deployment/shop/web`).
    pub fn label(self) -> &'static str {
        match self {
            ObjectKind::Node => "node",
            ObjectKind::Service => "service",
            ObjectKind::Task => "task",
            ObjectKind::Deployment => "deployment",
            ObjectKind::StatefulSet => "statefulset",
            ObjectKind::DaemonSet => "daemonset",
            ObjectKind::Pod => "pod",
            ObjectKind::Instance => "instance",
            ObjectKind::Member => "member",
            ObjectKind::Launch => "launch",
        }
    }

    /// The short form kubectl also accepts (`deploy`, `sts`, `ds`, `svc`), shown in rows where
    /// kinds mix.
    pub fn short(self) -> &'static str {
        match self {
            ObjectKind::Service => "svc",
            ObjectKind::Deployment => "deploy",
            ObjectKind::StatefulSet => "sts",
            ObjectKind::DaemonSet => "ds",
            other => other.label(),
        }
    }

    /// The kind named by its word or its short form.
    pub fn parse(s: &str) -> Option<ObjectKind> {
        ObjectKind::ALL
            .into_iter()
            .find(|k| k.label() == s || k.short() == s)
    }

    /// Whether it is a workload (something with replicas).
    pub fn is_workload(self) -> bool {
        matches!(
            self,
            ObjectKind::Service
                | ObjectKind::Deployment
                | ObjectKind::StatefulSet
                | ObjectKind::DaemonSet
        )
    }
}

/// One object as its engine identifies it: the source that owns it, its kind and the engine's
/// id (a Swarm node or service ID, a Kubernetes `kind/namespace/name`, an instance id).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    pub source: SourceKind,
    pub kind: ObjectKind,
    pub id: String,
}

/// What an operation is aimed at: the object, once resolved against the cluster's state (a key
/// on a selected row gives it at once; a name typed on the command line is resolved at the
/// gate), and the name people use for it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    pub name: String,
    pub object: Option<ObjectRef>,
}

impl Target {
    /// A target known only by what the operator typed.
    pub fn named(name: impl Into<String>) -> Target {
        Target {
            name: name.into(),
            object: None,
        }
    }

    /// A target that names its object.
    pub fn object(
        source: SourceKind,
        kind: ObjectKind,
        id: impl Into<String>,
        name: impl Into<String>,
    ) -> Target {
        Target {
            name: name.into(),
            object: Some(ObjectRef {
                source,
                kind,
                id: id.into(),
            }),
        }
    }

    pub fn source(&self) -> Option<SourceKind> {
        self.object.as_ref().map(|o| o.source)
    }

    pub fn kind(&self) -> Option<ObjectKind> {
        self.object.as_ref().map(|o| o.kind)
    }

    /// The engine's id, or the typed name while unresolved.
    pub fn id(&self) -> &str {
        self.object.as_ref().map_or(&self.name, |o| &o.id)
    }

    /// Whether both name the same object: by the engine's id when both are resolved, by name
    /// otherwise.
    pub fn same(&self, other: &Target) -> bool {
        match (&self.object, &other.object) {
            (Some(a), Some(b)) => a == b,
            _ => self.name == other.name || self.id() == other.id(),
        }
    }

    /// `kind/name` (`deployment/shop/web`, `node/mgr1`): what a typed confirmation asks for,
    /// so the kind is part of what the operator confirms.
    pub fn qualified(&self) -> String {
        match self.kind() {
            Some(k) => format!("{}/{}", k.label(), self.name),
            None => self.name.clone(),
        }
    }
}
