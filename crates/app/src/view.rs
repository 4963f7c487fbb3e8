//! View model: the filtered, sorted rows of each pane, computed from the store on demand.
//! Shared by the key handler (what is selected) and the renderer (what is shown).

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::input::Pane;
use crate::model::store::ClusterState;
use crate::model::{EtcdMember, Event, Instance, Node, Replica, Workload};
use crate::ops::audit::{AuditFilter, AuditRecord};

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
        Pane::Replicas => &["service", "node", "state", "since", "restarts"],
        Pane::Instances => &["name", "state", "type", "az", "id"],
        Pane::Overview | Pane::Events | Pane::Audit => &["time"],
        Pane::Quorum => &["name"],
        Pane::Incidents => &["severity"],
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

type ReplicaKey<'a> = (u32, u32, u32, i64, &'a str);

/// Services ranked by name (ids break ties).
fn service_ranks(c: &ClusterState) -> HashMap<&str, u32> {
    let mut names: Vec<(&str, &str)> = c
        .workloads
        .values()
        .map(|w| (w.name.as_str(), w.id.as_str()))
        .collect();
    names.sort_unstable();
    names
        .iter()
        .enumerate()
        .map(|(i, (_, id))| (*id, i as u32))
        .collect()
}

/// The replicas pane's rows `from..from+len` and the total, in `replica_rows` order. In the
/// default view (all current replicas by service, no filter) it resolves only the window from
/// the store's per-service counts, so a frame over 10,000 replicas costs a screenful.
pub fn replica_window<'a>(
    c: &'a ClusterState,
    drill: Option<&Drill>,
    history: bool,
    filter: &str,
    sort: SortSpec,
    pick: impl FnOnce(usize) -> (usize, usize),
) -> (usize, usize, Vec<&'a Replica>) {
    if drill.is_some() || history || !filter.is_empty() || sort != SortSpec::default() {
        let rows = replica_rows(c, drill, history, filter, sort);
        let total = rows.len();
        let (from, len) = pick(total);
        let to = from.saturating_add(len).min(total);
        let window = rows
            .get(from.min(to)..to)
            .map(<[_]>::to_vec)
            .unwrap_or_default();
        return (total, from, window);
    }
    let mut services: Vec<(&str, &str, u32)> = c
        .workloads
        .values()
        .map(|w| (w.name.as_str(), w.id.as_str(), c.current_replicas(&w.id)))
        .collect();
    services.sort_unstable();
    let total: usize = services.iter().map(|s| s.2 as usize).sum();
    let (from, len) = pick(total);
    let to = from.saturating_add(len).min(total);
    let mut out = Vec::with_capacity(to.saturating_sub(from));
    let mut start = 0usize;
    for (_, id, n) in services {
        let end = start + n as usize;
        if end > from && start < to {
            let mut rs: Vec<&Replica> = c
                .replicas_of_workload(id)
                .filter(|r| r.is_current())
                .collect();
            rs.sort_unstable_by_key(|r| {
                (
                    r.slot.unwrap_or(u32::MAX),
                    -r.since.timestamp_millis(),
                    r.id.as_str(),
                )
            });
            let lo = from.saturating_sub(start);
            let hi = (to - start).min(rs.len());
            out.extend(rs.get(lo..hi).unwrap_or_default().iter().copied());
        }
        if end >= to {
            break;
        }
        start = end;
    }
    (total, from, out)
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
    let failures = silent_failures(c);
    let keep = |r: &&Replica| {
        (history || r.is_current() || failures.contains(r.id.as_str())) && replica_matches(c, r, &f)
    };
    let rows: Vec<&Replica> = match drill {
        Some(Drill::Service(id)) => c.replicas_of_workload(id).filter(keep).collect(),
        Some(Drill::Node(id)) => c.replicas_on_node(id).filter(keep).collect(),
        None => c.replicas.values().filter(keep).collect(),
    };
    let rank = service_ranks(c);
    let node_rank = if sort.column == 1 {
        node_ranks(c)
    } else {
        HashMap::new()
    };
    // Each row's key is computed once, then sorted as integers (ids break ties).
    let mut keyed: Vec<(ReplicaKey<'a>, &Replica)> = rows
        .into_iter()
        .map(|r| {
            let svc = rank
                .get(r.workload_id.as_str())
                .copied()
                .unwrap_or(u32::MAX);
            let node = r
                .node_id
                .as_deref()
                .and_then(|n| node_rank.get(n))
                .copied()
                .unwrap_or(u32::MAX);
            (replica_key(r, sort.column, svc, node), r)
        })
        .collect();
    keyed.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut rows: Vec<&Replica> = keyed.into_iter().map(|(_, r)| r).collect();
    if sort.reverse {
        rows.reverse();
    }
    rows
}

/// For each service that wants tasks and runs none, its newest task that failed: shown without
/// the history toggle, since it is the only row that says why.
fn silent_failures(c: &ClusterState) -> std::collections::HashSet<&str> {
    c.workloads
        .values()
        .filter(|w| w.desired > 0 && w.running == 0)
        .filter_map(|w| {
            c.replicas_of_workload(&w.id)
                .filter(|r| !r.is_current() && r.error.is_some())
                .max_by_key(|r| r.since)
                .map(|r| r.id.as_str())
        })
        .collect()
}

/// Whether a replica matches the (lowercased) filter: its service, name, node, state or error.
fn replica_matches(c: &ClusterState, r: &Replica, f: &str) -> bool {
    if f.is_empty() {
        return true;
    }
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
        f,
        &[
            svc,
            r.name.as_deref().unwrap_or(""),
            node,
            r.state.label(),
            r.error.as_deref().unwrap_or(""),
        ],
    )
}

/// Node id → its position by hostname.
fn node_ranks(c: &ClusterState) -> HashMap<&str, u32> {
    let mut ns: Vec<(&str, &str)> = c
        .nodes
        .values()
        .map(|n| (n.hostname.as_str(), n.id.as_str()))
        .collect();
    ns.sort_unstable();
    ns.iter()
        .enumerate()
        .map(|(i, (_, id))| (*id, i as u32))
        .collect()
}

/// The sort key of a replica for the sort column, given its service's and node's ranks.
fn replica_key(r: &Replica, column: usize, svc: u32, node: u32) -> ReplicaKey<'_> {
    let slot = r.slot.unwrap_or(u32::MAX);
    let age = -r.since.timestamp_millis();
    let id = r.id.as_str();
    match column {
        1 => (node, svc, slot, 0, id),
        2 => (r.state as u32, svc, slot, 0, id),
        3 => (0, 0, 0, age, id),
        // Most restarts first: the crash-looping pods an operator is looking for.
        4 => (u32::MAX - r.restarts.unwrap_or(0), svc, slot, 0, id),
        // Within a slot, the live task first, then history newest first.
        _ => (svc, slot, u32::from(!r.is_current()), age, id),
    }
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
/// Why the audit pane's filter is not understood (it then matches as plain words).
pub fn audit_filter_error(filter: &str, now: crate::model::Time) -> Option<String> {
    AuditFilter::from_query(filter, now).err()
}

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

/// The members in the order shown (and selected): by name.
pub fn etcd_rows(members: &[EtcdMember]) -> Vec<&EtcdMember> {
    let mut rows: Vec<&EtcdMember> = members.iter().collect();
    rows.sort_by(|a, b| a.name.cmp(&b.name));
    rows
}
