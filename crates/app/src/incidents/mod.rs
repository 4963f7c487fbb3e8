//! The one incident engine, shared by the console and the wall: what is wrong now in every
//! context and source, since when, how it changed, what shows why, and what to do next; what
//! was wrong recently; who acknowledged it and what they noted.
//!
//! Where the model carries a start time (a source's `stale_since`, the oldest replica that should
//! run but does not, an update's start, an instance's state change) that is the start; otherwise
//! it is the moment this process first saw the incident. Memory is bounded: open incidents by the
//! cluster's size, resolved ones by `Thresholds::resolved_keep` and a count.

mod detect;

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

use crate::input::Action;
use crate::model::Time;
use crate::model::store::Store;
use crate::ops::audit::AuditRecord;

pub use detect::{Detected, Jump, newest_failure};

/// Resolved incidents kept for the Incidents pane, at most.
const RESOLVED_KEPT: usize = 50;
/// Changes remembered per incident.
const CHANGES_KEPT: usize = 10;
/// Notes remembered per incident.
const NOTES_KEPT: usize = 20;

/// The limits of what is an incident (`[incidents]` in the config).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Thresholds {
    /// A workload below desired for less than this is settling, not an incident.
    pub below_desired_grace_secs: u64,
    /// Failed tasks (or a pod's restarts) within the window that make a crash loop.
    pub crash_loop_failures: u32,
    pub crash_loop_window_secs: u64,
    /// An instance stopped within this long after a recorded stop or terminate was intended.
    pub intent_window_secs: u64,
    /// Resolved incidents stay listed this long.
    pub resolved_keep_secs: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            below_desired_grace_secs: 30,
            crash_loop_failures: 3,
            crash_loop_window_secs: 600,
            intent_window_secs: 600,
            resolved_keep_secs: 3600,
        }
    }
}

/// Ordered by how bad it is: lists show the worst first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum IncidentKind {
    QuorumLost,
    ApiNotReady,
    EtcdAlarm,
    SourceDown,
    NodeDown,
    QuorumAtRisk,
    CrashLoop,
    UpdatePaused,
    BelowDesired,
    InstanceDown,
}

impl IncidentKind {
    pub const ALL: [IncidentKind; 10] = [
        IncidentKind::QuorumLost,
        IncidentKind::ApiNotReady,
        IncidentKind::EtcdAlarm,
        IncidentKind::SourceDown,
        IncidentKind::NodeDown,
        IncidentKind::QuorumAtRisk,
        IncidentKind::CrashLoop,
        IncidentKind::UpdatePaused,
        IncidentKind::BelowDesired,
        IncidentKind::InstanceDown,
    ];

    pub fn label(self) -> &'static str {
        match self {
            IncidentKind::QuorumLost => "QUORUM LOST",
            IncidentKind::ApiNotReady => "API NOT READY",
            IncidentKind::EtcdAlarm => "ETCD ALARM",
            IncidentKind::SourceDown => "SOURCE DOWN",
            IncidentKind::NodeDown => "NODE DOWN",
            IncidentKind::QuorumAtRisk => "QUORUM AT RISK",
            IncidentKind::CrashLoop => "CRASH LOOP",
            IncidentKind::UpdatePaused => "UPDATE PAUSED",
            IncidentKind::BelowDesired => "BELOW DESIRED",
            IncidentKind::InstanceDown => "INSTANCE DOWN",
        }
    }

    /// The name in keys, the timeline and notifications (`node-down`).
    pub fn slug(self) -> &'static str {
        match self {
            IncidentKind::QuorumLost => "quorum-lost",
            IncidentKind::ApiNotReady => "api-not-ready",
            IncidentKind::EtcdAlarm => "etcd-alarm",
            IncidentKind::SourceDown => "source-down",
            IncidentKind::NodeDown => "node-down",
            IncidentKind::QuorumAtRisk => "quorum-at-risk",
            IncidentKind::CrashLoop => "crash-loop",
            IncidentKind::UpdatePaused => "update-paused",
            IncidentKind::BelowDesired => "below-desired",
            IncidentKind::InstanceDown => "instance-down",
        }
    }

    pub fn from_slug(s: &str) -> Option<IncidentKind> {
        IncidentKind::ALL.into_iter().find(|k| k.slug() == s)
    }

    /// Critical incidents take the red banner and ring the bell; the others the warning colour.
    pub fn is_critical(self) -> bool {
        self <= IncidentKind::NodeDown
    }

    /// The next safe actions, in the order offered (the keys come from the keymap).
    pub fn next_actions(self) -> &'static [Action] {
        match self {
            IncidentKind::UpdatePaused | IncidentKind::CrashLoop => {
                &[Action::Rollback, Action::Logs]
            }
            IncidentKind::BelowDesired => &[Action::Logs, Action::Scale],
            IncidentKind::NodeDown => &[Action::Drain],
            IncidentKind::InstanceDown => &[Action::StartInstance],
            _ => &[],
        }
    }
}

/// One affected object of an incident.
#[derive(Clone, Debug, PartialEq)]
pub struct Affected {
    pub object: String,
    /// What is wrong with it ("2/5", "no leader: 1 of 3 managers reachable").
    pub detail: String,
    pub since: Time,
    pub jump: Option<Jump>,
    pub evidence: Vec<String>,
}

/// An acknowledgement or a note on an incident, from this console, another, or the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Annotation {
    pub at: Time,
    pub who: String,
    pub text: String,
    pub ack: bool,
}

/// All objects affected by one kind of incident in one cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Incident {
    pub cluster: String,
    pub kind: IncidentKind,
    /// Longest-lasting first.
    pub affected: Vec<Affected>,
    /// When this process first saw it.
    pub opened: Time,
    /// How it changed: (when, what), oldest first.
    pub changes: Vec<(Time, String)>,
    /// Acks and notes, oldest first.
    pub notes: Vec<Annotation>,
}

impl Incident {
    /// When the oldest of its objects went wrong.
    pub fn since(&self) -> Option<Time> {
        self.affected.iter().map(|a| a.since).min()
    }

    /// `context/kind`: what acks and notes name.
    pub fn key(&self) -> String {
        key(&self.cluster, self.kind)
    }

    /// The latest acknowledgement.
    pub fn ack(&self) -> Option<&Annotation> {
        self.notes.iter().rev().find(|n| n.ack)
    }

    /// One line: kind, objects and what is wrong with the first.
    pub fn summary(&self) -> String {
        let first = self.affected.first();
        let mut s = format!(
            "{} {}",
            self.kind.label(),
            first.map_or("", |a| a.object.as_str())
        );
        if let Some(a) = first.filter(|a| !a.detail.is_empty()) {
            s.push_str(&format!(" ({})", a.detail));
        }
        if self.affected.len() > 1 {
            s.push_str(&format!(" +{}", self.affected.len() - 1));
        }
        s
    }
}

pub fn key(cluster: &str, kind: IncidentKind) -> String {
    format!("{cluster}/{}", kind.slug())
}

/// An incident that ended, and when.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    pub incident: Incident,
    pub at: Time,
}

impl Resolved {
    /// How long it lasted, from its first object's start.
    pub fn lasted(&self) -> chrono::Duration {
        self.at - self.incident.since().unwrap_or(self.incident.opened)
    }
}

/// What happened to an incident in one recompute (notifications and the timeline).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transition {
    New,
    /// More objects affected than before.
    Escalated,
    Resolved,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Notice {
    pub transition: Transition,
    pub incident: Incident,
    pub at: Time,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Incidents {
    pub thresholds: Thresholds,
    /// (cluster, kind, object) → when first seen; only keys present now.
    first_seen: HashMap<(String, IncidentKind, String), Time>,
    /// Worst kind first, then cluster.
    pub current: Vec<Incident>,
    /// Newest first, within `resolved_keep_secs` and `RESOLVED_KEPT`.
    pub resolved: VecDeque<Resolved>,
    /// Acks and notes by incident key, for the open occurrence.
    notes: HashMap<String, Vec<Annotation>>,
    /// When an incident key last resolved: older notes belong to an earlier occurrence.
    resolved_at: HashMap<String, Time>,
}

impl Incidents {
    pub fn new(thresholds: Thresholds) -> Incidents {
        Incidents {
            thresholds,
            ..Incidents::default()
        }
    }

    /// Recomputes the incidents from the store (after a change, or as time passes) and says
    /// what opened, grew or ended.
    pub fn update(&mut self, store: &Store, audit: &[AuditRecord], now: Time) -> Vec<Notice> {
        let mut seen = HashMap::new();
        let mut grouped: Vec<Incident> = Vec::new();
        for c in &store.clusters {
            for d in detect::detect(c, &self.thresholds, audit, now) {
                let key = (c.name.clone(), d.kind, d.object.clone());
                let first = self.first_seen.get(&key).copied().unwrap_or(now);
                seen.insert(key, first);
                let since = d.since.unwrap_or(first).min(first);
                if d.grace.is_some_and(|g| now - since < g) {
                    continue;
                }
                let affected = Affected {
                    object: d.object,
                    detail: d.detail,
                    since,
                    jump: d.jump,
                    evidence: d.evidence,
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
                        opened: now,
                        changes: Vec::new(),
                        notes: Vec::new(),
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
        let notices = self.carry_over(&mut grouped, now);
        self.current = grouped;
        self.forget_resolved(now);
        notices
    }

    /// Carries history over from the previous pass and says what changed.
    fn carry_over(&mut self, next: &mut [Incident], now: Time) -> Vec<Notice> {
        let mut notices = Vec::new();
        for i in next.iter_mut() {
            let before = self
                .current
                .iter()
                .find(|p| p.cluster == i.cluster && p.kind == i.kind);
            match before {
                None => {
                    i.changes.push((now, format!("opened: {}", i.summary())));
                    notices.push(Notice {
                        transition: Transition::New,
                        incident: i.clone(),
                        at: now,
                    });
                }
                Some(p) => {
                    i.opened = p.opened;
                    let mut changes = p.changes.clone();
                    let grew = object_changes(p, i, &mut changes, now);
                    if changes.len() > CHANGES_KEPT {
                        let cut = changes.len() - CHANGES_KEPT;
                        changes.drain(..cut);
                    }
                    i.changes = changes;
                    if grew {
                        notices.push(Notice {
                            transition: Transition::Escalated,
                            incident: i.clone(),
                            at: now,
                        });
                    }
                }
            }
            i.notes = self.notes.get(&i.key()).cloned().unwrap_or_default();
        }
        for p in &self.current {
            if !next
                .iter()
                .any(|i| i.cluster == p.cluster && i.kind == p.kind)
            {
                let mut gone = p.clone();
                gone.changes.push((now, "resolved".into()));
                let key = gone.key();
                self.notes.remove(&key);
                self.resolved_at.insert(key, now);
                notices.push(Notice {
                    transition: Transition::Resolved,
                    incident: gone.clone(),
                    at: now,
                });
                self.resolved.push_front(Resolved {
                    incident: gone,
                    at: now,
                });
            }
        }
        notices
    }

    fn forget_resolved(&mut self, now: Time) {
        let keep = chrono::Duration::seconds(self.thresholds.resolved_keep_secs as i64);
        self.resolved
            .retain(|r| now - r.at <= keep && r.incident.opened <= now);
        self.resolved.truncate(RESOLVED_KEPT);
    }

    /// An ack or a note on the incident `key` (from this console or read from the timeline).
    /// Notes older than the key's last resolution belong to an earlier occurrence and are
    /// dropped. Returns whether an open incident shows it.
    pub fn annotate(&mut self, key: &str, note: Annotation) -> bool {
        if self.resolved_at.get(key).is_some_and(|r| note.at < *r) {
            return false;
        }
        let notes = self.notes.entry(key.to_string()).or_default();
        if notes.contains(&note) {
            return false;
        }
        notes.push(note);
        notes.sort_by_key(|n| n.at);
        if notes.len() > NOTES_KEPT {
            let cut = notes.len() - NOTES_KEPT;
            notes.drain(..cut);
        }
        let notes = notes.clone();
        match self.current.iter_mut().find(|i| i.key() == key) {
            Some(i) => {
                i.notes = notes;
                true
            }
            None => false,
        }
    }

    /// An incident key resolved at `at` (read from the timeline: another process saw it end).
    pub fn resolved_elsewhere(&mut self, key: &str, at: Time) {
        let t = self.resolved_at.entry(key.to_string()).or_insert(at);
        *t = (*t).max(at);
        let at = *t;
        if let Some(notes) = self.notes.get_mut(key) {
            notes.retain(|n| n.at >= at);
        }
    }

    /// The worst incident kind in a cluster (for its header).
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

/// Objects added to or gone from an incident since the last pass, as change lines; whether
/// any were added (an escalation).
fn object_changes(
    before: &Incident,
    after: &Incident,
    changes: &mut Vec<(Time, String)>,
    at: Time,
) -> bool {
    let mut grew = false;
    for a in &after.affected {
        if !before.affected.iter().any(|b| b.object == a.object) {
            changes.push((at, format!("+ {} ({})", a.object, a.detail)));
            grew = true;
        }
    }
    for b in &before.affected {
        if !after.affected.iter().any(|a| a.object == b.object) {
            changes.push((at, format!("- {} recovered", b.object)));
        }
    }
    grew
}

/// "10m", "2h", "45s": a window said briefly.
pub fn short_duration(secs: u64) -> String {
    match secs {
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests;
