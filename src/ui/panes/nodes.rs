//! The nodes pane: health, role, status, availability, manager reachability, tasks, AZ,
//! address and the cloud instance each node runs on.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Row};

use crate::app::App;
use crate::app::view;
use crate::model::store::ClusterState;
use crate::model::{Availability, Node, NodeStatus, ObjectKind, Reachability, Time};
use crate::ui::Pane;
use crate::ui::sanitize::sanitize;
use crate::ui::theme::Role;

use super::replicas::{USAGE_WIDTH, usage_cell};
use super::{TableSpec, styled, table};
use super::{WIDE_TABLE, denied_or, health_role, title_with_filter};

/// Where the usage column goes: after TASKS.
const USAGE_AT: usize = 7;

pub fn render(f: &mut Frame, app: &App, area: Rect, now: Time, focused: bool) {
    let Some(c) = app.cluster() else { return };
    let rows = view::node_rows(c, app.ui.filter(Pane::Nodes), app.ui.sort(Pane::Nodes));
    let wide = area.width >= WIDE_TABLE;
    let mut widths = vec![
        Constraint::Length(2),
        Constraint::Length(14),
        Constraint::Length(8),
        Constraint::Length(7),
        Constraint::Length(6),
        Constraint::Length(12),
        Constraint::Length(5),
        Constraint::Length(11),
        Constraint::Length(13),
        Constraint::Min(20),
    ];
    let mut header = vec![
        "", "NAME", "ROLE", "STATUS", "AVAIL", "MANAGER", "TASKS", "AZ", "ADDRESS", "INSTANCE",
    ];
    // CPU and memory after the task count once sampled (a Swarm node: its tasks' sum).
    let usage = c.usage.keys().any(|(k, _)| *k == ObjectKind::Node);
    if usage {
        widths.insert(USAGE_AT, Constraint::Length(USAGE_WIDTH));
        header.insert(USAGE_AT, "CPU  (1 min)  MEM");
    }
    let cols = if wide { widths.len() } else { 8 };
    let title = match c.usage_problem.values().next() {
        Some(p) => format!("Nodes · usage: {}", crate::ui::strip::fit(&sanitize(p), 60)),
        None => "Nodes".to_string(),
    };
    let spec = TableSpec {
        title: title_with_filter(app, Pane::Nodes, &title),
        header: &header[..cols],
        widths: &widths[..cols],
        total: rows.len(),
        selected: super::shown_selection(app, Pane::Nodes),
        empty: &denied_or(
            c,
            &["nodes"],
            "no nodes (not loaded yet, or no swarm configured)",
        ),
    };
    table(f, app, area, now, focused, spec, |i| {
        let mut cells = node_cells(app, c, rows[i]);
        if usage {
            cells.insert(USAGE_AT, usage_cell(c, ObjectKind::Node, &rows[i].id));
        }
        cells.truncate(cols);
        Row::new(cells)
    });
}

fn node_cells<'a>(app: &App, c: &ClusterState, n: &Node) -> Vec<Cell<'a>> {
    let t = &app.theme;
    let h = n.health();
    let manager = match (n.reachability, n.leader) {
        (_, true) => "★ leader".to_string(),
        (Some(r), _) => r.label().to_string(),
        (None, _) => "-".to_string(),
    };
    let reach_role = match n.reachability {
        Some(Reachability::Unreachable) => Role::Danger,
        Some(Reachability::Unknown) => Role::Warn,
        _ => Role::Text,
    };
    let avail_role = match n.availability {
        Availability::Active => Role::Text,
        Availability::Drain if n.is_manager() => Role::Muted,
        _ => Role::Warn,
    };
    let inst = n.instance_id.as_deref().map_or_else(
        || "-".to_string(),
        |id| {
            let state = c.instances.get(id).map_or("", |i| i.state.label());
            format!("{} {state}", sanitize(id))
        },
    );
    vec![
        styled(h.symbol(), t.style(health_role(h))),
        Cell::from(sanitize(&n.hostname).into_owned()),
        Cell::from(if n.is_manager() { "manager" } else { "worker" }),
        styled(
            n.status.label(),
            t.style(if n.status == NodeStatus::Ready {
                Role::Text
            } else {
                Role::Danger
            }),
        ),
        styled(n.availability.label(), t.style(avail_role)),
        styled(manager, t.style(reach_role)),
        Cell::from(c.running_on_node(&n.id).to_string()),
        Cell::from(
            n.az.as_deref()
                .map(|a| sanitize(a).into_owned())
                .unwrap_or_else(|| "-".into()),
        ),
        Cell::from(sanitize(&n.addr).into_owned()),
        Cell::from(inst),
    ]
}
