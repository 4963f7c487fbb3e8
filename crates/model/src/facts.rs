//! What a plan showed of its target, kept with the confirmed operation so that the backend can
//! compare it with the engine just before it writes: what runs is what was confirmed.
//!
//! Only fields the operator saw and that a write of someone else changes are kept (replicas,
//! image, availability, role, update state, Kubernetes generation and uid, instance state).
//! Version counters that status writes also bump (`Version.Index`, `resourceVersion`) are not:
//! a rollback in the middle of an incident must not be refused because a task changed state.

use crate::{Instance, Node, ObjectKind, Workload};

/// Named values, in the order they are shown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts(pub Vec<(String, String)>);

/// A field that moved between the plan and the execution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Moved {
    pub field: String,
    pub expected: String,
    pub found: String,
}

/// Why a confirmed operation was not sent: its target is not what the plan showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Drift {
    /// The target's name, as people know it.
    pub object: String,
    pub moved: Vec<Moved>,
}

impl Facts {
    pub fn with(mut self, field: &str, value: impl ToString) -> Facts {
        self.0.push((field.to_string(), value.to_string()));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, v)| v.as_str())
    }

    /// The fields of `self` (the expectation) that `found` shows otherwise; a field `found`
    /// does not know counts as moved, so a missing fact never passes silently.
    pub fn drift(&self, object: &str, found: &Facts) -> Option<Drift> {
        let moved: Vec<Moved> = self
            .0
            .iter()
            .filter_map(|(field, expected)| {
                let now = found.get(field).unwrap_or("(gone)");
                (now != expected).then(|| Moved {
                    field: field.clone(),
                    expected: expected.clone(),
                    found: now.to_string(),
                })
            })
            .collect();
        (!moved.is_empty()).then(|| Drift {
            object: object.to_string(),
            moved,
        })
    }

    /// What a workload's plan shows. Kubernetes rollouts' state is derived from status, so it
    /// is left out there; the generation stands for the spec instead.
    pub fn of_workload(w: &Workload) -> Facts {
        let mut f = match w.mode {
            crate::ServiceMode::Replicated => Facts::default().with("replicas", w.desired),
            crate::ServiceMode::Global => Facts::default().with("mode", "global"),
        };
        f = if w.containers.is_empty() {
            f.with("image", &w.image)
        } else {
            let images: Vec<String> = w
                .containers
                .iter()
                .map(|(n, i)| format!("{n}={i}"))
                .collect();
            f.with("image", images.join(","))
        };
        if w.kind == ObjectKind::Service {
            let update = w.update.as_ref().map_or("none", |u| u.state.label());
            f.with("update", update)
        } else {
            f.with("generation", w.generation)
                .with("uid", w.uid.as_deref().unwrap_or("?"))
        }
    }

    pub fn of_node(n: &Node) -> Facts {
        Facts::default()
            .with("availability", n.availability.label())
            .with("role", if n.is_manager() { "manager" } else { "worker" })
    }

    pub fn of_instance(i: &Instance) -> Facts {
        Facts::default().with("state", i.state.label())
    }
}

impl Drift {
    /// "web changed since you confirmed (replicas 3 → 10 by someone else); nothing done".
    pub fn message(&self) -> String {
        let moved: Vec<String> = self
            .moved
            .iter()
            .map(|m| format!("{} {} → {}", m.field, m.expected, m.found))
            .collect();
        format!(
            "{} changed since you confirmed ({} by someone else); nothing done",
            self.object,
            moved.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moved_field_is_named_with_both_values() {
        let planned = Facts::default().with("replicas", 3).with("image", "a:1");
        let now = Facts::default().with("replicas", 10).with("image", "a:1");
        let d = planned.drift("web", &now).expect("replicas moved");
        assert_eq!(
            d.message(),
            "web changed since you confirmed (replicas 3 → 10 by someone else); nothing done"
        );
        assert_eq!(planned.drift("web", &planned), None);
    }

    #[test]
    fn a_field_that_is_gone_counts_as_moved_and_extra_fields_do_not() {
        let planned = Facts::default().with("state", "running");
        assert!(planned.drift("i-1", &Facts::default()).is_some());
        let more = Facts::default().with("state", "running").with("x", "y");
        assert_eq!(planned.drift("i-1", &more), None);
    }
}
