//! The Stacks view (`b`, `:stacks`): each Swarm stack (the `com.docker.stack.namespace` label)
//! with its services, replicas running at desired, images and update state; enter drills into
//! its services.

use std::collections::BTreeMap;

use crate::input::{Action, Pane};
use crate::model::{ObjectKind, Workload};
use crate::state::{App, Modal};

/// One stack as the view lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct StackRow {
    pub name: String,
    pub services: usize,
    pub running: u32,
    pub desired: u32,
    /// Distinct images, as the services run them (digests cut).
    pub images: Vec<String>,
    /// Services whose update is not completed: "name: state".
    pub updates: Vec<String>,
}

/// The stacks of the current context, by name.
pub fn stack_rows<'a>(workloads: impl Iterator<Item = &'a Workload>) -> Vec<StackRow> {
    let mut by: BTreeMap<String, Vec<&Workload>> = BTreeMap::new();
    for w in workloads.filter(|w| w.kind == ObjectKind::Service) {
        if let Some(s) = &w.stack {
            by.entry(s.clone()).or_default().push(w);
        }
    }
    by.into_iter()
        .map(|(name, ws)| {
            let mut images: Vec<String> = ws
                .iter()
                .map(|w| clusterdeck_compose::image::without_digest(&w.image).to_string())
                .collect();
            images.sort();
            images.dedup();
            let updates = ws
                .iter()
                .filter_map(|w| {
                    let u = w.update.as_ref()?;
                    let state = u.state.label();
                    (state != "completed").then(|| format!("{}: {state}", w.name))
                })
                .collect();
            StackRow {
                services: ws.len(),
                running: ws.iter().map(|w| w.running).sum(),
                desired: ws.iter().map(|w| w.desired).sum(),
                images,
                updates,
                name,
            }
        })
        .collect()
}

impl App {
    pub fn stacks(&self) -> Vec<StackRow> {
        self.cluster()
            .map(|c| stack_rows(c.workloads.values()))
            .unwrap_or_default()
    }

    pub(crate) fn open_stacks(&mut self) {
        self.ui.modal = Some(Modal::Stacks { selected: 0 });
    }

    /// A key while the Stacks view is open.
    pub(crate) fn stacks_key(&mut self, a: Action) {
        let n = self.stacks().len();
        let Some(Modal::Stacks { selected }) = &mut self.ui.modal else {
            return;
        };
        match a {
            Action::Up => *selected = selected.saturating_sub(1),
            Action::Down => *selected = (*selected + 1).min(n.saturating_sub(1)),
            Action::Back => self.ui.modal = None,
            Action::Drill => {
                let i = *selected;
                if let Some(row) = self.stacks().get(i) {
                    // The services pane's filter matches the stack column too.
                    let filter = row.name.clone();
                    self.ui.modal = None;
                    self.go_pane(Pane::Services);
                    self.ui.filters.insert(Pane::Services, filter);
                    self.ui.selected.insert(Pane::Services, 0);
                }
            }
            _ => {}
        }
    }
}
