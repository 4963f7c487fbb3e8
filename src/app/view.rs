//! View model: the filtered, sorted rows of each pane, computed from the store on demand.
//! Shared by the key handler (what is selected) and the renderer (what is shown).

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::app::store::ClusterState;
use crate::model::{Event, Instance, Node, Replica, Workload};
use crate::ops::audit::{AuditFilter, AuditRecord};
use crate::ui::Pane;

/// What a drill-down narrows the replicas pane to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Drill {
    Service(String),
    Node(String),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SortSpec {
    pub column: usize,
    pub reverse: bool,
}

/// Sortable columns per pane (the first is the default).
pub fn sort_columns(pane: Pane) -> &'static [&'static str] {
    match pane {
        Pane::Nodes => &["name", "role", "health", "availability", "az", "tasks"],
        Pane::Services => &["name", "stack", "availability", "image", "update"],
        Pane::Replicas => &["service", "node", "state", "since"],
        Pane::Instances => &["name", "state", "type", "az", "id"],
        Pane::Overview | Pane::Events | Pane::Audit => &["time"],
    }
}

fn matches(filter: &str, fields: &[&str]) -> bool {
    filter.is_empty()
        || fields
            .iter()
            .any(|f| f.to_ascii_lowercase().contains(filter))
}

fn ordered<T>(mut rows: Vec<T>, sort: SortSpec, cmp: impl Fn(&T, &T) -> Ordering) -> Vec<T> {
    rows.sort_unstable_by(|a, b| {
        let o = cmp(a, b);
        if sort.reverse { o.reverse() } else { o }
    });
    rows
}

pub fn node_rows<'a>(c: &'a ClusterState, filter: &str, sort: SortSpec) -> Vec<&'a Node> {
    let f = filter.to_ascii_lowercase();
    let rows: Vec<&Node> = c
        .nodes
        .values()
        .filter(|n| {
            matches(
                &f,
                &[
                    &n.hostname,
                    &n.addr,
                    n.az.as_deref().unwrap_or(""),
                    n.instance_id.as_deref().unwrap_or(""),
                ],
            )
        })
        .collect();
    ordered(rows, sort, |a, b| {
        let by = match sort.column {
            1 => a.role.cmp(&b.role),
            2 => b.health().cmp(&a.health()),
            3 => b.availability.cmp(&a.availability),
            4 => a.az.cmp(&b.az),
            5 => c.running_on_node(&b.id).cmp(&c.running_on_node(&a.id)),
            _ => Ordering::Equal,
        };
        by.then_with(|| a.role.cmp(&b.role))
            .then_with(|| a.hostname.cmp(&b.hostname))
    })
}

pub fn service_rows<'a>(c: &'a ClusterState, filter: &str, sort: SortSpec) -> Vec<&'a Workload> {
    let f = filter.to_ascii_lowercase();
    let rows: Vec<&Workload> = c
        .workloads
        .values()
        .filter(|w| matches(&f, &[&w.name, &w.image, w.stack.as_deref().unwrap_or("")]))
        .collect();
    ordered(rows, sort, |a, b| {
        let by = match sort.column {
            1 => a.stack.cmp(&b.stack),
            // Worst first: lowest running/desired ratio.
            2 => (u64::from(a.running) * u64::from(b.desired.max(1)))
                .cmp(&(u64::from(b.running) * u64::from(a.desired.max(1)))),
            3 => a.image.cmp(&b.image),
            4 => b.update.is_some().cmp(&a.update.is_some()),
            _ => Ordering::Equal,
        };
        by.then_with(|| a.name.cmp(&b.name))
    })
}

/// Replicas of the drilled service or node (all when not drilled), current ones unless history
/// rows are on.
pub fn replica_rows<'a>(
    c: &'a ClusterState,
    drill: Option<&Drill>,
    history: bool,
    filter: &str,
    sort: SortSpec,
) -> Vec<&'a Replica> {
    let f = filter.to_ascii_lowercase();
    let keep = |r: &&Replica| {
        (history || r.is_current())
            && (f.is_empty() || {
                let svc = c
                    .workloads
                    .get(&r.workload_id)
                    .map_or("", |w| w.name.as_str());
                let node = r
                    .node_id
                    .as_ref()
                    .and_then(|n| c.nodes.get(n))
                    .map_or("", |n| n.hostname.as_str());
                matches(
                    &f,
                    &[svc, node, r.state.label(), r.error.as_deref().unwrap_or("")],
                )
            })
    };
    let rows: Vec<&Replica> = match drill {
        Some(Drill::Service(id)) => c.replicas_of_workload(id).filter(keep).collect(),
        Some(Drill::Node(id)) => c.replicas_on_node(id).filter(keep).collect(),
        None => c.replicas.values().filter(keep).collect(),
    };
    // Rank services once so the per-row key is two integers, not a string compare.
    let mut names: Vec<(&str, &str)> = c
        .workloads
        .values()
        .map(|w| (w.name.as_str(), w.id.as_str()))
        .collect();
    names.sort_unstable();
    let rank: HashMap<&str, u32> = names
        .iter()
        .enumerate()
        .map(|(i, (_, id))| (*id, i as u32))
        .collect();
    let svc_rank = |r: &Replica| {
        rank.get(r.workload_id.as_str())
            .copied()
            .unwrap_or(u32::MAX)
    };
    let mut rows = rows;
    match sort.column {
        1 => rows.sort_unstable_by(|a, b| {
            a.node_id
                .cmp(&b.node_id)
                .then(svc_rank(a).cmp(&svc_rank(b)))
        }),
        2 => rows.sort_unstable_by_key(|r| (r.state, svc_rank(r), r.slot)),
        3 => rows.sort_unstable_by_key(|r| std::cmp::Reverse(r.since)),
        // Within a slot, the live task first, then history newest first.
        _ => rows.sort_unstable_by(|a, b| {
            svc_rank(a)
                .cmp(&svc_rank(b))
                .then(a.slot.cmp(&b.slot))
                .then(b.is_current().cmp(&a.is_current()))
                .then(b.since.cmp(&a.since))
                .then(a.id.cmp(&b.id))
        }),
    }
    if sort.reverse {
        rows.reverse();
    }
    rows
}

pub fn instance_rows<'a>(c: &'a ClusterState, filter: &str, sort: SortSpec) -> Vec<&'a Instance> {
    let f = filter.to_ascii_lowercase();
    let rows: Vec<&Instance> = c
        .instances
        .values()
        .filter(|i| {
            matches(
                &f,
                &[
                    &i.id,
                    &i.name,
                    &i.az,
                    i.state.label(),
                    i.private_ip.as_deref().unwrap_or(""),
                ],
            )
        })
        .collect();
    ordered(rows, sort, |a, b| {
        let by = match sort.column {
            1 => a.state.cmp(&b.state),
            2 => a.instance_type.cmp(&b.instance_type),
            3 => a.az.cmp(&b.az),
            4 => a.id.cmp(&b.id),
            _ => Ordering::Equal,
        };
        by.then_with(|| a.name.cmp(&b.name))
    })
}

pub fn event_rows<'a>(c: &'a ClusterState, filter: &str) -> Vec<&'a Event> {
    let f = filter.to_ascii_lowercase();
    c.events
        .iter()
        .filter(|e| matches(&f, &[&e.target, &e.message, &e.object]))
        .collect()
}

/// Newest first. The filter takes the same terms as `clusterdeck audit show`
/// (`user:alice verb:scale since:2h web`); a term that does not parse is matched as text.
pub fn audit_rows<'a>(
    records: &'a [AuditRecord],
    filter: &str,
    now: crate::model::Time,
) -> Vec<&'a AuditRecord> {
    let f = AuditFilter::from_query(filter, now).unwrap_or_else(|_| AuditFilter {
        words: vec![filter.to_ascii_lowercase()],
        ..AuditFilter::default()
    });
    records.iter().rev().filter(|r| f.matches(r)).collect()
}
