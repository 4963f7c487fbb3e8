//! Incident response in the console: the incidents recomputed after every change and as time
//! passes, what they open, grow and resolve sent to the timeline, the notifier and the bell;
//! jumping to the next problem; acknowledging and annotating.

use crate::incidents::{Annotation, Incident, Jump, Notice, Transition};
use crate::input::Pane;
use crate::model::{Change, Severity, Time};
use crate::prompt::{Input, InputKind, PromptKind};
use crate::state::App;
use crate::timeline::{Entry, What};
use crate::view::{self, Drill};

impl App {
    /// After a burst of changes, and once a second: the incidents again, and what changed
    /// about them sent on.
    pub fn settle(&mut self, now: Time) {
        let notices = self.incidents.update(&self.store, &self.audit, now);
        for n in notices {
            self.on_notice(n);
        }
    }

    fn on_notice(&mut self, n: Notice) {
        let i = &n.incident;
        // What the host's timeline already says (another console or the wall saw it open, or
        // end) is not recorded, notified or rung again: a restarted console or a second
        // operator does not page for an incident open for an hour.
        let key = i.key();
        let already = match n.transition {
            Transition::New => !self.known_open.insert(key),
            Transition::Resolved => !self.known_open.remove(&key),
            Transition::Escalated => false,
        };
        if already && self.timeline.is_some() {
            return;
        }
        if n.transition == Transition::New && i.kind.is_critical() && self.bell_on_critical {
            self.bell = true;
        }
        if let Some(tl) = self.timeline.as_mut() {
            tl.record(notice_entry(&n));
        }
        if let Some(notifier) = &self.notifier {
            notifier.send(&n);
        }
    }

    /// Cluster events go to the timeline as they arrive.
    pub(crate) fn record_events(&mut self, cluster: &str, changes: &[Change]) {
        let Some(tl) = self.timeline.as_mut() else {
            return;
        };
        for c in changes {
            if let Change::Event(e) = c {
                tl.record(Entry {
                    at: e.at,
                    context: cluster.to_string(),
                    what: What::Event,
                    who: None,
                    incident: None,
                    object: format!("{} {}", e.object, e.target),
                    text: e.message.clone(),
                });
            }
        }
    }

    /// Once a second: the buffered timeline written (nothing while idle), and what other
    /// consoles on this host wrote read back (their acks and notes, incidents they saw end).
    /// Returns whether anything shown changed.
    pub fn sync_timeline(&mut self) -> bool {
        let Some(tl) = self.timeline.as_mut() else {
            return false;
        };
        let _ = tl.flush();
        let entries = tl.poll();
        let mut changed = false;
        for e in entries {
            let Some(key) = e.incident.clone() else {
                continue;
            };
            match e.what {
                What::Ack | What::Note => {
                    changed |= self.incidents.annotate(
                        &key,
                        Annotation {
                            at: e.at,
                            who: e.who.clone().unwrap_or_default(),
                            text: e.text.clone(),
                            ack: e.what == What::Ack,
                        },
                    );
                }
                What::Resolved => {
                    self.known_open.remove(&key);
                    self.incidents.resolved_elsewhere(&key, e.at);
                }
                What::Opened => {
                    self.known_open.insert(key);
                }
                _ => {}
            }
        }
        changed
    }

    /// The problems to jump to, worst first: (context index, jump, what it is, how bad).
    fn problems(&self) -> Vec<(usize, Jump, String, Severity)> {
        let mut out = Vec::new();
        for i in &self.incidents.current {
            let Some(ctx) = self.store.clusters.iter().position(|c| c.name == i.cluster) else {
                continue;
            };
            for a in &i.affected {
                if let Some(j) = &a.jump {
                    let mut text = format!("{} {}", i.kind.label(), a.object);
                    if let Some(e) = a.evidence.first() {
                        text.push_str(&format!(": {e}"));
                    } else if !a.detail.is_empty() {
                        text.push_str(&format!(" ({})", a.detail));
                    }
                    let sev = if i.kind.is_critical() {
                        Severity::Critical
                    } else {
                        Severity::Warn
                    };
                    out.push((ctx, j.clone(), text, sev));
                }
            }
        }
        out
    }

    /// The next problem, worst first, wrapping: its context, pane and row selected.
    pub(crate) fn jump_next(&mut self) {
        let problems = self.problems();
        if problems.is_empty() {
            self.status("no open incidents", Severity::Info);
            return;
        }
        let n = self.ui.next_problem % problems.len();
        self.ui.next_problem = n + 1;
        let (ctx, jump, text, sev) = problems[n].clone();
        self.ui.context = ctx;
        self.go_to(&jump);
        self.status(format!("{}/{} {text}", n + 1, problems.len()), sev);
    }

    /// Focuses the jump's pane with its object selected.
    pub(crate) fn go_to(&mut self, j: &Jump) {
        self.ui.modal = None;
        self.ui.input = None;
        let pane = j.pane;
        self.ui.filters.remove(&pane);
        if pane != self.ui.pane {
            self.ui.back.push((self.ui.pane, self.ui.drill.clone()));
        }
        self.ui.pane = pane;
        let Some(c) = self.cluster() else { return };
        let sort = self.ui.sort(pane);
        let index = match pane {
            Pane::Nodes => view::node_rows(c, "", sort)
                .iter()
                .position(|n| n.id == j.id),
            Pane::Services => view::service_rows(c, "", sort)
                .iter()
                .position(|w| w.id == j.id),
            Pane::Instances => view::instance_rows(c, "", sort)
                .iter()
                .position(|i| i.id == j.id),
            Pane::Quorum => c.etcd.iter().position(|m| m.id == j.id),
            Pane::Replicas => {
                let drill = j.workload.clone().map(Drill::Service);
                let find = |history: bool| {
                    view::replica_rows(c, drill.as_ref(), history, "", sort)
                        .iter()
                        .position(|r| r.id == j.id)
                };
                let (history, index) = match find(self.ui.history) {
                    Some(i) => (self.ui.history, Some(i)),
                    None => (true, find(true)),
                };
                self.ui.history = history;
                self.ui.drill = drill;
                index
            }
            _ => None,
        };
        self.ui.selected.insert(pane, index.unwrap_or(0));
    }

    /// The incident an ack or note is for: the incidents pane's selection, else the worst.
    pub fn incident_for_note(&self) -> Option<&Incident> {
        if self.ui.pane == Pane::Incidents {
            let sel = self.ui.selected(Pane::Incidents);
            return self.incidents.current.get(sel);
        }
        let ctx = self.cluster_name();
        self.incidents
            .current
            .iter()
            .find(|i| i.cluster == ctx)
            .or(self.incidents.current.first())
    }

    /// `A` / `n`: the note prompt for the incident.
    pub(crate) fn begin_note(&mut self, ack: bool) {
        let Some(i) = self.incident_for_note() else {
            self.status("no open incident to note", Severity::Info);
            return;
        };
        let kind = PromptKind::Annotate {
            key: i.key(),
            ack,
            summary: i.summary(),
        };
        self.ui.input = Some(Input::new(InputKind::Prompt(kind), ""));
    }

    /// An ack or note: in the audit log first (who, when, text), then on the incident and in
    /// the timeline (where the wall and other consoles read it).
    pub(crate) fn annotate(&mut self, key: &str, ack: bool, text: &str) -> Result<(), String> {
        let verb = if ack { "ack" } else { "note" };
        let context = key.split('/').next().unwrap_or_default().to_string();
        let rec = self.gate.annotate(&context, verb, key, text)?;
        let at = chrono::DateTime::parse_from_rfc3339(&rec.time)
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_else(|_| chrono::Utc::now());
        let who = rec.user.clone();
        self.push_audit(rec);
        let note = Annotation {
            at,
            who: who.clone(),
            text: text.trim().to_string(),
            ack,
        };
        self.incidents.annotate(key, note.clone());
        if let Some(tl) = self.timeline.as_mut() {
            tl.record(Entry {
                at,
                context,
                what: if ack { What::Ack } else { What::Note },
                who: Some(who),
                incident: Some(key.to_string()),
                object: String::new(),
                text: note.text,
            });
            let _ = tl.flush();
        }
        self.status(format!("{verb} recorded for {key}"), Severity::Info);
        Ok(())
    }

    /// The bell, once, for the run loop to ring.
    pub fn take_bell(&mut self) -> bool {
        std::mem::take(&mut self.bell)
    }
}

/// An incident's transition as a timeline entry.
pub fn notice_entry(n: &Notice) -> Entry {
    let i = &n.incident;
    let (what, text) = match n.transition {
        Transition::New => (What::Opened, i.summary()),
        Transition::Escalated => (What::Escalated, i.summary()),
        Transition::Resolved => {
            let lasted = (n.at - i.since().unwrap_or(i.opened)).num_seconds().max(0);
            (
                What::Resolved,
                format!("{} resolved after {}", i.kind.label(), lasted_words(lasted)),
            )
        }
    };
    Entry {
        at: n.at,
        context: i.cluster.clone(),
        what,
        who: None,
        incident: Some(i.key()),
        object: i
            .affected
            .iter()
            .map(|a| a.object.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        text,
    }
}

/// "1m10s", "2h5m", "45s".
pub fn lasted_words(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s:02}s"),
        _ => format!("{h}h{m:02}m"),
    }
}
