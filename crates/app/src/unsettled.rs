//! Operations an earlier console left without a known result (it quit, died or lost its
//! session mid-action): found in the audit log at start and shown on the overview with what
//! the engine shows of their target now, so the operator learns how they really ended.

use chrono::{DateTime, Utc};

use crate::model::ClusterState;
use crate::ops::audit::AuditRecord;

/// How far back an unsettled operation is still worth showing.
const SHOWN_FOR_HOURS: i64 = 24;
/// At most this many are listed (newest first).
pub const LISTED: usize = 5;

/// Outcomes `unknown` (the console ended on a signal) and `abandoned` (it quit or died) of the
/// last day, newest first; the audit tail is oldest first.
pub fn unsettled(tail: &[AuditRecord], now: DateTime<Utc>) -> Vec<AuditRecord> {
    let since = now - chrono::Duration::hours(SHOWN_FOR_HOURS);
    tail.iter()
        .rev()
        .filter(|r| r.phase == "outcome")
        .filter(|r| matches!(r.result.as_deref(), Some("unknown" | "abandoned")))
        .filter(|r| {
            DateTime::parse_from_rfc3339(&r.time).is_ok_and(|t| t.with_timezone(&Utc) >= since)
        })
        .take(LISTED)
        .cloned()
        .collect()
}

/// What the engine shows now of the record's target, in the terms of its verb; `None` while
/// the target is not in the state shown (not loaded yet, or gone).
pub fn now_of(cluster: &ClusterState, rec: &AuditRecord) -> Option<String> {
    let target = rec.target.as_str();
    match rec.verb.as_str() {
        "drain" | "pause" | "activate" | "cordon" | "uncordon" | "promote" | "demote" => {
            let bare = target.strip_prefix("node/").unwrap_or(target);
            let n = cluster
                .nodes
                .get(target)
                .or_else(|| cluster.node_by_name(bare))?;
            let live = cluster
                .replicas_on_node(&n.id)
                .filter(|r| r.is_current())
                .count();
            let role = if n.is_manager() { "manager" } else { "worker" };
            Some(format!(
                "{} {role}, {} · {live} task(s) on it",
                n.hostname,
                n.availability.label()
            ))
        }
        "start" | "stop" | "reboot" | "terminate" => cluster
            .instances
            .get(target)
            .map(|i| format!("{} is {}", i.id, i.state.label())),
        "add-nodes" => None,
        _ => {
            let w = cluster
                .workloads
                .get(target)
                .or_else(|| cluster.workload_by_name(target))?;
            let update = w
                .update
                .as_ref()
                .map(|u| format!(" · update {}", u.state.label()))
                .unwrap_or_default();
            Some(format!(
                "{} {}/{} running · {}{update}",
                w.name, w.running, w.desired, w.image
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Availability, Node, NodeRole};

    fn outcome(result: &str, time: &str, verb: &str, target: &str) -> AuditRecord {
        AuditRecord {
            phase: "outcome".into(),
            result: Some(result.into()),
            time: time.into(),
            verb: verb.into(),
            target: target.into(),
            ..AuditRecord::default()
        }
    }

    #[test]
    fn only_unknown_and_abandoned_outcomes_of_the_last_day_newest_first() {
        let now = DateTime::parse_from_rfc3339("2026-12-06T12:00:00Z")
            .expect("time")
            .with_timezone(&Utc);
        let tail = vec![
            outcome("unknown", "2026-12-04T12:00:00Z", "drain", "old"),
            outcome("unknown", "2026-12-06T10:00:00Z", "drain", "wrk1"),
            outcome("ok", "2026-12-06T10:30:00Z", "drain", "wrk2"),
            outcome("abandoned", "2026-12-06T11:00:00Z", "scale", "web"),
        ];
        let got: Vec<String> = unsettled(&tail, now)
            .into_iter()
            .map(|r| r.target)
            .collect();
        assert_eq!(got, ["web", "wrk1"]);
    }

    #[test]
    fn a_node_is_described_by_its_availability_and_tasks() {
        let mut c = ClusterState::default();
        let mut n = Node::sample(NodeRole::Worker);
        n.hostname = "wrk1".into();
        n.availability = Availability::Drain;
        c.nodes.insert(n.id.clone(), n);
        let rec = outcome("unknown", "2026-12-06T10:00:00Z", "drain", "wrk1");
        assert_eq!(
            now_of(&c, &rec).as_deref(),
            Some("wrk1 worker, drain · 0 task(s) on it")
        );
        let gone = outcome("unknown", "2026-12-06T10:00:00Z", "scale", "web");
        assert_eq!(now_of(&c, &gone), None);
    }
}
