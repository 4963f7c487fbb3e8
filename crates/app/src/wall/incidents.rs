//! What the wall's banner shows: quorum lost or at risk, nodes down, workloads below desired,
//! paused updates and sources that stopped answering, each with how long it has lasted.
//!
//! Where the model carries a start time (a source's `stale_since`, the oldest replica that should
//! run but does not) that is the start; otherwise it is the moment this display first saw the
//! incident. Only incidents present now are remembered, so the memory is bounded by the
//! cluster's size, not by how long the wall has run.

use std::collections::HashMap;

use crate::model::store::{ClusterState, Store};
use crate::model::{Health, QuorumVerdict, Time};

/// Ordered by how bad it is: the banner lists the worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IncidentKind {
    QuorumLost,
    SourceDown,
    NodeDown,
    QuorumAtRisk,
    BelowDesired,
    UpdatePaused,
}

impl IncidentKind {
    pub fn label(self) -> &'static str {
        match self {
            IncidentKind::QuorumLost => "QUORUM LOST",
            IncidentKind::SourceDown => "SOURCE DOWN",
            IncidentKind::NodeDown => "NODE DOWN",
            IncidentKind::QuorumAtRisk => "QUORUM AT RISK",
            IncidentKind::BelowDesired => "BELOW DESIRED",
            IncidentKind::UpdatePaused => "UPDATE PAUSED",
        }
    }

    /// Critical incidents take the red banner; the others the warning colour.
    pub fn is_critical(self) -> bool {
        matches!(
            self,
            IncidentKind::QuorumLost | IncidentKind::SourceDown | IncidentKind::NodeDown
        )
    }
}

/// One affected object of an incident.
#[derive(Clone, Debug, PartialEq)]
pub struct Affected {
    pub object: String,
    /// What is wrong with it ("2/5", "no leader: 1 of 3 managers reachable").
    pub detail: String,
    pub since: Time,
}

/// All objects affected by one kind of incident in one cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    pub cluster: String,
    pub kind: IncidentKind,
    /// Longest-lasting first.
    pub affected: Vec<Affected>,
}

impl Incident {
    /// When the oldest of its objects went wrong.
    pub fn since(&self) -> Option<Time> {
        self.affected.iter().map(|a| a.since).min()
    }
}

/// An incident as detected in one pass: the start time is known only when the model has it.
struct Detected {
    kind: IncidentKind,
    object: String,
    detail: String,
    since: Option<Time>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Incidents {
    /// (cluster, kind, object) → when first seen; only keys present now.
    first_seen: HashMap<(String, IncidentKind, String), Time>,
    /// Worst kind first, then cluster.
    pub current: Vec<Incident>,
}

impl Incidents {
    /// Recomputes the incidents from the store (after a change, or as time passes).
    pub fn update(&mut self, store: &Store, now: Time) {
        let mut seen = HashMap::new();
        let mut grouped: Vec<Incident> = Vec::new();
        for c in &store.clusters {
            for d in detect(c) {
                let key = (c.name.clone(), d.kind, d.object.clone());
                let first = self.first_seen.get(&key).copied().unwrap_or(now);
                seen.insert(key, first);
                let affected = Affected {
                    object: d.object,
                    detail: d.detail,
                    since: d.since.unwrap_or(first).min(first),
                };
                match grouped
                    .iter_mut()
                    .find(|i| i.cluster == c.name && i.kind == d.kind)
                {
                    Some(i) => i.affected.push(affected),
                    None => grouped.push(Incident {
                        cluster: c.name.clone(),
                        kind: d.kind,
                        affected: vec![affected],
                    }),
                }
            }
        }
        for i in &mut grouped {
            i.affected
                .sort_by(|a, b| a.since.cmp(&b.since).then(a.object.cmp(&b.object)));
        }
        grouped.sort_by(|a, b| a.kind.cmp(&b.kind).then(a.cluster.cmp(&b.cluster)));
        self.first_seen = seen;
        self.current = grouped;
    }

    /// Whether a cluster has a critical incident (for its header).
    pub fn worst_in(&self, cluster: &str) -> Option<IncidentKind> {
        self.current
            .iter()
            .filter(|i| i.cluster == cluster)
            .map(|i| i.kind)
            .min()
    }

    /// Keys remembered (for the bounded-memory test).
    pub fn remembered(&self) -> usize {
        self.first_seen.len()
    }
}

fn detect(c: &ClusterState) -> Vec<Detected> {
    let mut out = Vec::new();
    for (kind, h) in &c.sources {
        if h.is_stale() {
            out.push(Detected {
                kind: IncidentKind::SourceDown,
                object: kind.label().to_string(),
                detail: format!("{}: {}", h.label(), h.reason().unwrap_or("no reason given")),
                since: h.stale_since,
            });
        }
    }
    let q = c.quorum();
    let quorum_kind = match q.verdict {
        QuorumVerdict::Lost => Some(IncidentKind::QuorumLost),
        QuorumVerdict::AtRisk => Some(IncidentKind::QuorumAtRisk),
        _ => None,
    };
    if let Some(kind) = quorum_kind {
        let detail = match q.verdict {
            QuorumVerdict::Lost => q.summary(),
            _ => format!(
                "{}/{} managers reachable, tolerates {} more",
                q.reachable, q.managers, q.tolerates_now
            ),
        };
        out.push(Detected {
            kind,
            object: "managers".into(),
            detail,
            since: None,
        });
    }
    for n in c.nodes.values() {
        if n.health() == Health::Critical {
            let role = if n.is_manager() { "manager" } else { "worker" };
            out.push(Detected {
                kind: IncidentKind::NodeDown,
                object: n.hostname.clone(),
                detail: format!("{role} {}", n.status.label()),
                since: None,
            });
        }
    }
    for w in c.workloads.values() {
        if w.is_degraded() {
            out.push(Detected {
                kind: IncidentKind::BelowDesired,
                object: w.name.clone(),
                detail: format!("{}/{}", w.running, w.desired),
                since: c.short_since(&w.id),
            });
        }
        if let Some(u) = w.update.as_ref().filter(|u| u.state.is_paused()) {
            out.push(Detected {
                kind: IncidentKind::UpdatePaused,
                object: w.name.clone(),
                detail: u.message.clone(),
                since: None,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backends::{BackendMsg, Snapshot};
    use crate::model::{Node, NodeRole, NodeStatus, SourceKind};
    use chrono::{TimeZone, Utc};

    fn t(s: i64) -> Time {
        Utc.timestamp_opt(1_700_000_000 + s, 0)
            .single()
            .expect("valid time")
    }

    fn store(nodes: Vec<Node>) -> Store {
        let mut s = Store::default();
        s.apply(BackendMsg::Snapshot {
            cluster: "prod".into(),
            source: SourceKind::Swarm,
            at: t(0),
            snapshot: Snapshot {
                nodes: Some(nodes),
                ..Default::default()
            },
        });
        s
    }

    fn managers(down: usize) -> Vec<Node> {
        (0..3)
            .map(|i| {
                let mut n = Node::sample(NodeRole::Manager);
                n.id = format!("m{i}");
                n.hostname = format!("mgr{i}");
                n.leader = i == 2;
                if i < down {
                    n.status = NodeStatus::Down;
                    n.reachability = Some(crate::model::Reachability::Unreachable);
                }
                n
            })
            .collect()
    }

    #[test]
    fn a_stopped_manager_is_a_node_down_and_quorum_at_risk_with_a_duration() {
        let s = store(managers(1));
        let mut inc = Incidents::default();
        inc.update(&s, t(10));
        let kinds: Vec<_> = inc.current.iter().map(|i| i.kind).collect();
        assert_eq!(
            kinds,
            vec![IncidentKind::NodeDown, IncidentKind::QuorumAtRisk]
        );
        assert_eq!(inc.current[0].affected[0].object, "mgr0");
        // First seen at t(10); still the start 50 s later.
        inc.update(&s, t(60));
        assert_eq!(inc.current[0].since(), Some(t(10)));
        assert_eq!(inc.worst_in("prod"), Some(IncidentKind::NodeDown));
    }

    #[test]
    fn resolved_incidents_are_forgotten_and_memory_stays_bounded() {
        let mut inc = Incidents::default();
        for round in 0..100 {
            let s = store(managers(round % 3));
            inc.update(&s, t(round as i64));
            assert!(inc.remembered() <= 4, "remembered {}", inc.remembered());
        }
        let s = store(managers(0));
        inc.update(&s, t(1000));
        assert!(inc.current.is_empty());
        assert_eq!(inc.remembered(), 0);
        // A new occurrence starts a new duration.
        let s = store(managers(1));
        inc.update(&s, t(2000));
        assert_eq!(inc.current[0].since(), Some(t(2000)));
    }

    #[test]
    fn two_managers_down_is_quorum_lost() {
        let s = store(managers(2));
        let mut inc = Incidents::default();
        inc.update(&s, t(5));
        assert_eq!(inc.current[0].kind, IncidentKind::QuorumLost);
        assert!(inc.current[0].kind.is_critical());
        let down = inc
            .current
            .iter()
            .find(|i| i.kind == IncidentKind::NodeDown)
            .expect("nodes down");
        assert_eq!(down.affected.len(), 2);
    }
}
