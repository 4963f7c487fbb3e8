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
