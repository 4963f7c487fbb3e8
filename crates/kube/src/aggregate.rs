//! Collects the watchers' news and sends it in batches: the first full snapshot once every
//! kind has listed (or was refused), then changes; a relist becomes removals of what is gone.

use std::collections::{HashMap, HashSet};

use chrono::Utc;

use clusterdeck_kit::{Change, Reporter, Snapshot};
use clusterdeck_model::SourceState;

use crate::convert;
use crate::history;
use crate::watch::{Msg, Obj, Stream};

/// Events listed at start that are shown (newest); the rest is history nobody scrolls to.
const INITIAL_EVENTS: usize = 100;

/// Collects the watchers' news and sends it in batches.
#[derive(Default)]
pub(crate) struct Aggregator {
    /// Ids last sent per stream, to turn a relist into removals.
    known: HashMap<Stream, HashSet<String>>,
    /// Streams that have listed at least once (or were refused).
    listed: HashSet<Stream>,
    /// The first full picture, gathered until every stream has listed.
    initial: Snapshot,
    sent_snapshot: bool,
    pending: Vec<Change>,
    /// Per stream: the error keeping it from listing, if any.
    failing: HashMap<Stream, (String, bool)>,
    history: history::History,
}

impl Aggregator {
    pub(crate) fn take(&mut self, m: Msg) {
        match m {
            Msg::Listed(stream, objs) => self.on_list(stream, objs),
            Msg::Applied(obj) => self.applied(*obj),
            Msg::Deleted(Stream::ReplicaSets, id) => {
                if let Some(w) = self.history.remove_set(&id)
                    && self.sent_snapshot
                {
                    self.pending.push(Change::UpsertWorkload(w));
                }
            }
            Msg::Deleted(stream, id) => self.deleted(stream, id),
            Msg::Failed(stream, text, forbidden) => self.failed(stream, text, forbidden),
        }
    }

    /// A complete (re)list of one stream: what is gone is removed.
    fn on_list(&mut self, stream: Stream, objs: Vec<Obj>) {
        self.listed.insert(stream);
        if self
            .failing
            .remove(&stream)
            .is_some_and(|(_, forbidden)| forbidden)
        {
            self.pending.push(Change::Denied {
                what: stream.resource().into(),
                reason: None,
            });
        }
        let mut objs = objs;
        if stream == Stream::ReplicaSets {
            let sets = objs
                .into_iter()
                .filter_map(|o| match o {
                    Obj::Revision(r) => Some(r),
                    _ => None,
                })
                .collect();
            let changed = self.history.relist(sets);
            // Listed after a refusal (RBAC changed): the refusal is over.
            self.pending.push(Change::Denied {
                what: Stream::ReplicaSets.resource().into(),
                reason: None,
            });
            if self.sent_snapshot {
                self.pending
                    .extend(changed.into_iter().map(Change::UpsertWorkload));
            }
            return;
        }
        if stream == Stream::Deployments {
            objs = objs.into_iter().map(|o| self.with_history(o)).collect();
        }
        if stream == Stream::Events {
            // Oldest first, so the store (newest on top) ends with the newest on top.
            objs.sort_by_key(|o| match o {
                Obj::Event(e) => e.at,
                _ => Utc::now(),
            });
            let skip = objs.len().saturating_sub(INITIAL_EVENTS);
            objs.drain(..skip);
        }
        let ids: HashSet<String> = objs
            .iter()
            .filter_map(|o| o.id().map(str::to_string))
            .collect();
        let before = self.known.insert(stream, ids.clone()).unwrap_or_default();
        if stream == Stream::Deployments {
            for gone in before.difference(&ids) {
                self.history.forget_deployment(gone);
            }
        }
        if self.sent_snapshot {
            for gone in before.difference(&ids) {
                self.pending.extend(stream.remove(gone.clone()));
            }
            self.pending
                .extend(objs.into_iter().filter_map(Obj::upsert));
        } else {
            self.add_initial(objs);
        }
    }

    fn applied(&mut self, obj: Obj) {
        let obj = match obj {
            Obj::Revision(r) => {
                if let Some(w) = self.history.set(r)
                    && self.sent_snapshot
                {
                    self.pending.push(Change::UpsertWorkload(w));
                }
                return;
            }
            o => self.with_history(o),
        };
        let stream = match &obj {
            Obj::Node(_) => Stream::Nodes,
            Obj::Workload(w) => match convert::parse_workload_id(&w.id) {
                Some((convert::Kind::StatefulSet, ..)) => Stream::StatefulSets,
                Some((convert::Kind::DaemonSet, ..)) => Stream::DaemonSets,
                _ => Stream::Deployments,
            },
            Obj::Replica(_) => Stream::Pods,
            Obj::Event(_) => Stream::Events,
            Obj::Revision(_) => Stream::ReplicaSets,
        };
        if let Some(id) = obj.id() {
            self.known.entry(stream).or_default().insert(id.to_string());
        }
        if self.sent_snapshot {
            self.pending.extend(obj.upsert());
        } else {
            self.add_initial(vec![obj]);
        }
    }

    fn deleted(&mut self, stream: Stream, id: String) {
        if let Some(k) = self.known.get_mut(&stream) {
            k.remove(&id);
        }
        if stream == Stream::Deployments {
            self.history.forget_deployment(&id);
        }
        if self.sent_snapshot {
            self.pending.extend(stream.remove(id));
        } else {
            self.remove_initial(stream, &id);
        }
    }

    fn failed(&mut self, stream: Stream, text: String, forbidden: bool) {
        // ReplicaSets only name the image a rollback restores: without them the console
        // works as before, so they never make the source stale or hold up the snapshot.
        if stream == Stream::ReplicaSets {
            self.listed.insert(Stream::ReplicaSets);
            if forbidden {
                self.pending.push(Change::Denied {
                    what: Stream::ReplicaSets.resource().into(),
                    reason: Some(text),
                });
            }
            return;
        }
        if forbidden {
            // Refused is an answer: the snapshot does not wait for it.
            self.listed.insert(stream);
            self.pending.push(Change::Denied {
                what: stream.resource().into(),
                reason: Some(text.clone()),
            });
        }
        self.failing.insert(stream, (text, forbidden));
    }

    /// A Deployment gets the image its previous revision ran.
    fn with_history(&mut self, o: Obj) -> Obj {
        match o {
            Obj::Workload(w) if w.id.starts_with("deployment/") => {
                Obj::Workload(self.history.deployment(w))
            }
            o => o,
        }
    }

    fn add_initial(&mut self, objs: Vec<Obj>) {
        let s = &mut self.initial;
        for o in objs {
            match o {
                Obj::Node(n) => s.nodes.get_or_insert_with(Vec::new).push(n),
                Obj::Workload(w) => s.workloads.get_or_insert_with(Vec::new).push(w),
                Obj::Replica(r) => s.replicas.get_or_insert_with(Vec::new).push(r),
                Obj::Event(e) => self.pending.push(Change::Event(e)),
                Obj::Revision(_) => {}
            }
        }
    }

    fn remove_initial(&mut self, stream: Stream, id: &str) {
        let s = &mut self.initial;
        match stream {
            Stream::Nodes => s.nodes.iter_mut().for_each(|v| v.retain(|n| n.id != id)),
            Stream::Pods => s.replicas.iter_mut().for_each(|v| v.retain(|r| r.id != id)),
            Stream::Events | Stream::ReplicaSets => {}
            _ => s
                .workloads
                .iter_mut()
                .for_each(|v| v.retain(|w| w.id != id)),
        }
    }

    /// A change of the backend's own (the control plane's checks) for the next batch.
    pub(crate) fn push(&mut self, c: Change) {
        self.pending.push(c);
    }

    /// Sends what gathered since the last flush, and the health it adds up to. False once the
    /// console has gone.
    pub(crate) async fn flush(&mut self, rep: &mut Reporter) -> bool {
        if !self.sent_snapshot && Stream::ALL.iter().all(|s| self.listed.contains(s)) {
            self.sent_snapshot = true;
            let mut snap = std::mem::take(&mut self.initial);
            if let Some(ws) = snap.workloads.as_mut() {
                self.history.fill(ws);
            }
            // Every kind is owned by this source, even when empty: an empty list is the truth.
            snap.nodes.get_or_insert_with(Vec::new);
            snap.workloads.get_or_insert_with(Vec::new);
            snap.replicas.get_or_insert_with(Vec::new);
            if !rep.snapshot(snap).await {
                return false;
            }
        }
        // Before the snapshot, only events and denials go out (the store shows them).
        if !self.pending.is_empty() && !rep.changes(std::mem::take(&mut self.pending)).await {
            return false;
        }
        let failing: Vec<String> = self
            .failing
            .iter()
            .filter(|(_, (_, forbidden))| !forbidden)
            .map(|(s, (t, _))| format!("{}: {t}", s.resource()))
            .collect();
        // A kind RBAC refuses is not trouble with the data shown: it stays fresh and actions
        // stay possible (a namespace admin must be able to scale without seeing the nodes).
        // The refusals are `Change::Denied`, shown in their panes and the header.
        let state = if !failing.is_empty() {
            let reason = failing.join("; ");
            if self.sent_snapshot {
                SourceState::Degraded { reason }
            } else {
                SourceState::Unreachable { reason }
            }
        } else if self.sent_snapshot {
            SourceState::Connected
        } else {
            SourceState::Connecting
        };
        rep.health(state).await
    }
}
