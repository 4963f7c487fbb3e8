use std::collections::BTreeMap;

use crate::{ObjectKind, SourceKind, Target};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeRole {
    Manager,
    Worker,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Availability {
    Active,
    Pause,
    Drain,
}

impl Availability {
    pub fn label(self) -> &'static str {
        match self {
            Availability::Active => "active",
            Availability::Pause => "pause",
            Availability::Drain => "drain",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "pause" => Some(Self::Pause),
            "drain" => Some(Self::Drain),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum NodeStatus {
    Ready,
    Down,
    Disconnected,
    Unknown,
}

impl NodeStatus {
    pub fn label(self) -> &'static str {
        match self {
            NodeStatus::Ready => "ready",
            NodeStatus::Down => "down",
            NodeStatus::Disconnected => "disconnected",
            NodeStatus::Unknown => "unknown",
        }
    }
}

/// Manager reachability as Raft sees it; workers have none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reachability {
    Reachable,
    Unreachable,
    Unknown,
}

impl Reachability {
    pub fn label(self) -> &'static str {
        match self {
            Reachability::Reachable => "reachable",
            Reachability::Unreachable => "unreachable",
            Reachability::Unknown => "unknown",
        }
    }
}

/// Health is a verdict, carried by symbol as well as colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Health {
    Ok,
    Warn,
    Critical,
    Unknown,
}

impl Health {
    pub fn symbol(self) -> &'static str {
        match self {
            Health::Ok => "●",
            Health::Warn => "▲",
            Health::Critical => "✗",
            Health::Unknown => "?",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub id: String,
    /// The orchestrator it belongs to (Swarm or Kubernetes).
    pub source: SourceKind,
    pub hostname: String,
    pub role: NodeRole,
    pub availability: Availability,
    pub status: NodeStatus,
    /// Managers only.
    pub reachability: Option<Reachability>,
    pub leader: bool,
    pub addr: String,
    pub engine: String,
    pub labels: BTreeMap<String, String>,
    /// Kubernetes taints as `key=value:Effect`; Swarm has none.
    pub taints: Vec<String>,
    /// Filled by correlation with a cloud backend (or by a Kubernetes node's providerID).
    pub instance_id: Option<String>,
    pub az: Option<String>,
}

impl Node {
    /// The node as an operation's target.
    pub fn target(&self) -> Target {
        Target::object(self.source, ObjectKind::Node, &self.id, &self.hostname)
    }

    /// Ready, and (for a manager) reachable: what its tasks last reported can be believed.
    /// A manager whose engine died is unreachable to Raft at once, while its status stays
    /// "ready" until its heartbeat expires.
    pub fn is_up(&self) -> bool {
        self.status == NodeStatus::Ready && self.reachability != Some(Reachability::Unreachable)
    }

    pub fn is_manager(&self) -> bool {
        self.role == NodeRole::Manager
    }

    /// Health combines status, availability and reachability, never status alone: a manager
    /// that was shut down can still report `Ready` while Raft sees it `Unreachable`.
    /// A drained manager is common practice, not a fault.
    pub fn health(&self) -> Health {
        if matches!(self.reachability, Some(Reachability::Unreachable)) {
            return Health::Critical;
        }
        match self.status {
            NodeStatus::Down | NodeStatus::Disconnected => Health::Critical,
            NodeStatus::Unknown => Health::Unknown,
            NodeStatus::Ready => match self.availability {
                Availability::Active => Health::Ok,
                Availability::Drain if self.is_manager() => Health::Ok,
                Availability::Drain | Availability::Pause => Health::Warn,
            },
        }
    }

    /// Whether Raft counts this manager as up for quorum purposes.
    pub fn counts_for_quorum(&self) -> bool {
        self.is_manager()
            && !matches!(self.reachability, Some(Reachability::Unreachable))
            && self.status != NodeStatus::Down
    }
}

impl Node {
    /// A ready, active node (tests and the demo).
    pub fn sample(role: NodeRole) -> Node {
        Node {
            id: "n1".into(),
            source: SourceKind::Swarm,
            hostname: "h".into(),
            role,
            availability: Availability::Active,
            status: NodeStatus::Ready,
            reachability: (role == NodeRole::Manager).then_some(Reachability::Reachable),
            leader: false,
            addr: "10.0.0.1".into(),
            engine: "20.10".into(),
            labels: BTreeMap::new(),
            taints: Vec::new(),
            instance_id: None,
            az: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(role: NodeRole) -> Node {
        Node::sample(role)
    }

    #[test]
    fn ready_but_unreachable_manager_is_critical() {
        let mut n = node(NodeRole::Manager);
        n.reachability = Some(Reachability::Unreachable);
        assert_eq!(n.health(), Health::Critical);
        assert!(!n.counts_for_quorum());
    }

    #[test]
    fn drained_manager_is_normal_but_drained_worker_warns() {
        let mut m = node(NodeRole::Manager);
        m.availability = Availability::Drain;
        assert_eq!(m.health(), Health::Ok);
        let mut w = node(NodeRole::Worker);
        w.availability = Availability::Drain;
        assert_eq!(w.health(), Health::Warn);
    }
}
