//! Selection and navigation: which row is under the cursor in each pane, the objects behind
//! it, moving between panes, drilling down and back.

use crate::input::Pane;
use crate::model::{Instance, Node, Replica, Workload};
use crate::state::{App, Modal};
use crate::view::{self, Drill};

/// Rows moved by page up / page down.
const PAGE: isize = 10;

impl App {
    /// Number of rows the pane lists (for moving the selection).
    pub fn row_count(&self, pane: Pane) -> usize {
        let Some(c) = self.cluster() else { return 0 };
        let f = self.ui.filter(pane);
        let s = self.ui.sort(pane);
        match pane {
            Pane::Nodes => view::node_rows(c, f, s).len(),
            Pane::Services => view::service_rows(c, f, s).len(),
            Pane::Replicas => {
                view::replica_window(c, self.ui.drill.as_ref(), self.ui.history, f, s, |_| (0, 0)).0
            }
            Pane::Instances => view::instance_rows(c, f, s).len(),
            Pane::Events => view::event_rows(c, f).len(),
            Pane::Audit => view::audit_rows(&self.audit, f, chrono::Utc::now()).len(),
            Pane::Quorum => c.etcd.len(),
            Pane::Incidents => self.incidents.current.len() + self.incidents.resolved.len(),
            Pane::Overview => 0,
        }
    }

    /// The replica under the cursor in the replicas pane.
    pub fn selected_replica(&self) -> Option<&Replica> {
        let c = self.cluster()?;
        let sel = self.ui.selected(Pane::Replicas);
        let (_, _, rows) = view::replica_window(
            c,
            self.ui.drill.as_ref(),
            self.ui.history,
            self.ui.filter(Pane::Replicas),
            self.ui.sort(Pane::Replicas),
            |_| (sel, 1),
        );
        rows.first().copied()
    }

    /// The workload under the cursor: the services pane's row, or the selected replica's.
    pub fn selected_workload(&self) -> Option<&Workload> {
        let c = self.cluster()?;
        match self.ui.pane {
            Pane::Services => view::service_rows(
                c,
                self.ui.filter(Pane::Services),
                self.ui.sort(Pane::Services),
            )
            .get(self.ui.selected(Pane::Services))
            .copied(),
            Pane::Replicas => self
                .selected_replica()
                .and_then(|r| c.workloads.get(&r.workload_id)),
            _ => None,
        }
    }

    /// The selected workload's name.
    pub fn selected_service(&self) -> Option<String> {
        self.selected_workload().map(|w| w.name.clone())
    }

    /// The node under the cursor: the nodes pane's row, or the node of the selected replica.
    pub fn selected_node(&self) -> Option<&Node> {
        let c = self.cluster()?;
        match self.ui.pane {
            Pane::Nodes => {
                view::node_rows(c, self.ui.filter(Pane::Nodes), self.ui.sort(Pane::Nodes))
                    .get(self.ui.selected(Pane::Nodes))
                    .copied()
            }
            Pane::Replicas => self
                .selected_replica()
                .and_then(|r| r.node_id.as_ref())
                .and_then(|n| c.nodes.get(n)),
            _ => None,
        }
    }

    /// The instance under the cursor: in the instances pane, or the selected node's.
    pub fn selected_instance(&self) -> Option<&Instance> {
        let c = self.cluster()?;
        match self.ui.pane {
            Pane::Instances => view::instance_rows(
                c,
                self.ui.filter(Pane::Instances),
                self.ui.sort(Pane::Instances),
            )
            .get(self.ui.selected(Pane::Instances))
            .copied(),
            Pane::Nodes => self
                .selected_node()
                .and_then(|n| n.instance_id.as_ref())
                .and_then(|id| c.instances.get(id)),
            _ => None,
        }
    }

    pub fn go_pane(&mut self, p: Pane) {
        if p != Pane::Replicas {
            self.ui.drill = None;
        }
        self.ui.pane = p;
    }

    /// Tab / backtab: the next or previous pane.
    pub(crate) fn cycle_pane(&mut self, forward: bool) {
        let all = Pane::ALL;
        let n = all.len();
        let i = all.iter().position(|p| *p == self.ui.pane).unwrap_or(0);
        let next = if forward {
            (i + 1) % n
        } else {
            (i + n - 1) % n
        };
        self.go_pane(all[next]);
    }

    pub(crate) fn move_selection(&mut self, delta: isize) {
        let pane = self.ui.pane;
        let n = self.row_count(pane);
        if n == 0 {
            return;
        }
        let cur = self.ui.selected(pane) as isize;
        let next = (cur + delta).clamp(0, n as isize - 1) as usize;
        self.ui.selected.insert(pane, next);
    }

    pub(crate) fn page(&mut self, down: bool) {
        self.move_selection(if down { PAGE } else { -PAGE });
    }

    pub(crate) fn select_edge(&mut self, last: bool) {
        let row = if last {
            self.row_count(self.ui.pane).saturating_sub(1)
        } else {
            0
        };
        self.ui.selected.insert(self.ui.pane, row);
    }

    /// Enter: a node or service narrows the replicas pane to its replicas; an instance opens
    /// its details.
    pub(crate) fn drill(&mut self) {
        let target = match self.ui.pane {
            Pane::Services => self
                .selected_workload()
                .map(|w| Drill::Service(w.id.clone())),
            Pane::Nodes => self.selected_node().map(|n| Drill::Node(n.id.clone())),
            Pane::Instances => {
                if let Some(i) = self.selected_instance() {
                    self.ui.modal = Some(Modal::Instance { id: i.id.clone() });
                }
                None
            }
            Pane::Incidents => {
                let sel = self.ui.selected(Pane::Incidents);
                let jump = self.incidents.current.get(sel).and_then(|i| {
                    let ctx = self.store.clusters.iter().position(|c| c.name == i.cluster);
                    i.affected.iter().find_map(|a| a.jump.clone()).zip(ctx)
                });
                if let Some((j, ctx)) = jump {
                    self.ui.context = ctx;
                    self.go_to(&j);
                }
                None
            }
            _ => None,
        };
        if let Some(d) = target {
            self.ui.back.push((self.ui.pane, self.ui.drill.take()));
            self.ui.pane = Pane::Replicas;
            self.ui.drill = Some(d);
            self.ui.selected.insert(Pane::Replicas, 0);
        }
    }

    /// Esc: back out of a drill-down, else clear the filter, else the drill.
    pub(crate) fn back(&mut self) {
        if let Some((pane, drill)) = self.ui.back.pop() {
            self.ui.pane = pane;
            self.ui.drill = drill;
        } else if self.ui.filters.remove(&self.ui.pane).is_none() {
            self.ui.drill = None;
        }
    }
}
