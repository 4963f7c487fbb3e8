//! Which objects' CPU and memory to sample: the rows around the selection in the replicas and
//! nodes panes (a screenful either side, a superset of what the pane draws), and the object in
//! the describe view. Samplers read nothing while no such pane is shown.

use crate::backends::Shown;
use crate::input::Pane;
use crate::model::usage::{Usage, bytes_short};
use crate::model::{ObjectKind, SourceKind};
use crate::state::{App, Modal};
use crate::view;

/// Rows either side of the selection: more than a terminal shows.
const AROUND: usize = 80;

impl App {
    /// Tells each sampler what is on screen now (nothing for other contexts).
    pub fn show_usage(&self) {
        let cluster = self.cluster_name();
        for h in &self.usage_handles {
            let shown = if h.cluster == cluster {
                self.shown_of(h.source)
            } else {
                Shown::new()
            };
            h.show(shown);
        }
    }

    fn shown_of(&self, source: SourceKind) -> Shown {
        let Some(c) = self.cluster() else {
            return Shown::new();
        };
        let mut out = Shown::new();
        if matches!(self.ui.modal, Some(Modal::Describe)) {
            let id = &self.describe.id;
            let of_source = match self.describe.kind {
                Some(ObjectKind::Node) => c.nodes.get(id).is_some_and(|n| n.source == source),
                Some(k) => source_of(k) == Some(source),
                None => false,
            };
            if let Some(kind) = self.describe.kind.filter(|_| of_source) {
                out.push((kind, id.clone()));
            }
        } else if self.ui.modal.is_some() {
            return out;
        }
        let sel = self.ui.selected(self.ui.pane);
        let range = sel.saturating_sub(AROUND)..sel.saturating_add(AROUND);
        match self.ui.pane {
            Pane::Replicas => {
                let (_, _, rows) = view::replica_window(
                    c,
                    self.ui.drill.as_ref(),
                    self.ui.history,
                    self.ui.filter(Pane::Replicas),
                    self.ui.sort(Pane::Replicas),
                    |total| (range.start.min(total), range.len()),
                );
                out.extend(
                    rows.into_iter()
                        .filter(|r| r.is_running() && source_of(r.kind) == Some(source))
                        .map(|r| (r.kind, r.id.clone())),
                );
            }
            Pane::Nodes => {
                let rows =
                    view::node_rows(c, self.ui.filter(Pane::Nodes), self.ui.sort(Pane::Nodes));
                out.extend(
                    rows.into_iter()
                        .skip(range.start)
                        .take(range.len())
                        .filter(|n| n.source == source)
                        .map(|n| (ObjectKind::Node, n.id.clone())),
                );
            }
            _ => {}
        }
        out
    }
}

fn source_of(kind: ObjectKind) -> Option<SourceKind> {
    match kind {
        ObjectKind::Task => Some(SourceKind::Swarm),
        ObjectKind::Pod => Some(SourceKind::Kubernetes),
        _ => None,
    }
}

/// The sampled object's cell text (`usage_cell`), the source told by its kind (a node by its
/// own); None while it is not sampled.
pub fn cell_of(
    c: &crate::model::store::ClusterState,
    kind: ObjectKind,
    id: &str,
) -> Option<String> {
    let source = match kind {
        ObjectKind::Node => c.nodes.get(id).map_or(SourceKind::Swarm, |n| n.source),
        k => source_of(k).unwrap_or(SourceKind::Swarm),
    };
    c.usage
        .get(&(kind, id.to_string()))
        .map(|u| usage_cell(kind, source, u))
}

/// "12% ▂▃▅ 34Mi" (Swarm: CPU as docker stats prints it) or "250m ▂▃▅ 34Mi" (Kubernetes, as
/// kubectl top); "…" until a rate is known.
pub fn usage_cell(kind: ObjectKind, source: SourceKind, u: &Usage) -> String {
    let Some(last) = u.latest() else {
        return String::new();
    };
    let cpu = match last.cpu_millis {
        None => "…".to_string(),
        Some(m) if source == SourceKind::Swarm || kind == ObjectKind::Task => {
            format!("{:.0}%", m / 10.0)
        }
        Some(m) => format!("{m:.0}m"),
    };
    let mem = last.mem_bytes.map(bytes_short).unwrap_or_default();
    [cpu, u.cpu_sparkline(), mem]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::usage::Sample;

    #[test]
    fn cells_read_as_docker_stats_or_kubectl_top() {
        let mut u = Usage::default();
        u.push(Sample {
            mem_bytes: Some(34 << 20),
            ..Sample::default()
        });
        assert_eq!(
            usage_cell(ObjectKind::Task, SourceKind::Swarm, &u),
            "… 34Mi"
        );
        u.push(Sample {
            cpu_millis: Some(126.0),
            mem_bytes: Some(34 << 20),
            ..Sample::default()
        });
        assert_eq!(
            usage_cell(ObjectKind::Task, SourceKind::Swarm, &u),
            "13% █ 34Mi"
        );
        assert_eq!(
            usage_cell(ObjectKind::Pod, SourceKind::Kubernetes, &u),
            "126m █ 34Mi"
        );
    }
}
