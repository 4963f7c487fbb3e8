//! The replicas pane: Swarm tasks and Kubernetes pods, of everything or of the node or service
//! drilled into, with history rows on request.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Row};

use crate::app::App;
use crate::app::view::{self, Drill};
use crate::model::store::ClusterState;
use crate::model::{ObjectKind, Replica, SourceKind, SourceState, TaskState, Time};
use crate::ui::Pane;
use crate::ui::sanitize::sanitize;
use crate::ui::theme::Role;

use super::{TableSpec, styled, table};
use super::{denied_or, task_role, title_with_filter};
use crate::ui::widgets::{age, elide_middle, short_image};

pub fn render(
    f: &mut Frame,
    app: &App,
    area: Rect,
    now: Time,
    focused: bool,
    drill: Option<&Drill>,
    selected: usize,
) {
    let Some(c) = app.cluster() else { return };
    let t = &app.theme;
    // The selected row's error in full under the table: the column cuts it.
    let area = match selected_error(app, c, focused, selected, area) {
        Some((table_area, detail_area, text)) => {
            let p = ratatui::widgets::Paragraph::new(text)
                .style(t.style(Role::Danger))
                .wrap(ratatui::widgets::Wrap { trim: false })
                .block(
                    ratatui::widgets::Block::default()
                        .borders(ratatui::widgets::Borders::ALL)
                        .border_style(t.style(Role::Border))
                        .title(" error "),
                );
            f.render_widget(p, detail_area);
            table_area
        }
        None => area,
    };
    // Only the visible window is resolved; `table` computes the same window from the total.
    let height = area.height.saturating_sub(3) as usize;
    let sel = if selected == usize::MAX { 0 } else { selected };
    let (total, offset, rows) = view::replica_window(
        c,
        drill,
        app.ui.history,
        app.ui.filter(Pane::Replicas),
        app.ui.sort(Pane::Replicas),
        |total| {
            let (from, to) = super::window(total, sel.min(total.saturating_sub(1)), height);
            (from, to - from)
        },
    );
    let scope = match drill {
        Some(Drill::Service(id)) => c
            .workloads
            .get(id)
            .map(|w| format!("Replicas of {}", sanitize(&w.name))),
        Some(Drill::Node(id)) => c
            .nodes
            .get(id)
            .map(|n| format!("Replicas on {}", sanitize(&n.hostname))),
        None => None,
    }
    .unwrap_or_else(|| "Replicas".into());
    let scope = match c.usage_problem.values().next() {
        Some(p) => format!(
            "{scope} · usage: {}",
            crate::ui::strip::fit(&sanitize(p), 60)
        ),
        None => scope,
    };
    let scope = if app.ui.history {
        format!("{scope} + history")
    } else {
        scope
    };
    // Pod names are long and differ at the end: a wider column when there is room.
    let task_width: u16 = if area.width >= 110 { 32 } else { 18 };
    // Only Kubernetes counts restarts (a Swarm task that dies is replaced by a new one).
    let restarts = c
        .sources
        .get(&SourceKind::Kubernetes)
        .is_some_and(|h| !matches!(h.state, SourceState::NotConfigured { .. }));
    let mut widths = vec![
        Constraint::Length(2),
        Constraint::Length(task_width),
        Constraint::Length(11),
        Constraint::Length(8),
        Constraint::Length(9),
        Constraint::Length(5),
    ];
    let mut header = vec!["", "TASK", "NODE", "DESIRED", "STATE", "SINCE"];
    if restarts {
        widths.push(Constraint::Length(4));
        header.push("RST");
    }
    // CPU and memory once the sampler has read some (only rows on screen are sampled).
    let usage = c
        .usage
        .keys()
        .any(|(k, _)| matches!(k, ObjectKind::Task | ObjectKind::Pod));
    if usage {
        widths.push(Constraint::Length(USAGE_WIDTH));
        header.push("CPU  (1 min)  MEM");
    }
    widths.push(Constraint::Min(12));
    header.push("ERROR / IMAGE");
    let fixed: u16 = widths
        .iter()
        .map(|c| match c {
            Constraint::Length(n) => *n,
            _ => 0,
        })
        .sum();
    let last_w = area
        .width
        .saturating_sub(fixed + widths.len() as u16 + 1)
        .max(12) as usize;
    let spec = TableSpec {
        title: title_with_filter(app, Pane::Replicas, &scope),
        header: &header,
        widths: &widths,
        total,
        selected,
        empty: &denied_or(c, &["pods"], "no replicas here"),
    };
    table(f, app, area, now, focused, spec, |i| {
        let Some(r) = i.checked_sub(offset).and_then(|k| rows.get(k)).copied() else {
            return Row::new(Vec::<Cell>::new());
        };
        let row = Row::new(replica_cells(
            app,
            c,
            r,
            now,
            (task_width, last_w),
            (restarts, usage),
        ));
        if r.is_current() {
            row
        } else {
            row.style(t.style(Role::Muted))
        }
    });
}

/// Room for the selected replica's whole error, when it has one and the pane is focused.
fn selected_error(
    app: &App,
    c: &ClusterState,
    focused: bool,
    selected: usize,
    area: Rect,
) -> Option<(Rect, Rect, String)> {
    if !focused || selected == usize::MAX || area.height < 12 || app.ui.pane != Pane::Replicas {
        return None;
    }
    let r = app.selected_replica()?;
    let e = r.error.as_ref()?;
    let svc = c
        .workloads
        .get(&r.workload_id)
        .map_or("?", |w| w.name.as_str());
    let text = format!(
        "{} ({}): {}",
        sanitize(&r.label(svc)),
        r.state.label(),
        sanitize(e)
    );
    let inner = area.width.saturating_sub(2).max(1) as usize;
    let h = (text.chars().count().div_ceil(inner) as u16).clamp(1, 4) + 2;
    let parts = ratatui::layout::Layout::default()
        .direction(ratatui::layout::Direction::Vertical)
        .constraints([Constraint::Min(5), Constraint::Length(h)])
        .split(area);
    Some((parts[0], parts[1], text))
}

fn replica_cells<'a>(
    app: &App,
    c: &ClusterState,
    r: &Replica,
    now: Time,
    (task_width, last_w): (u16, usize),
    (restarts, usage): (bool, bool),
) -> Vec<Cell<'a>> {
    let t = &app.theme;
    let svc = c
        .workloads
        .get(&r.workload_id)
        .map_or("?", |w| w.name.as_str());
    let name = elide_middle(&sanitize(&r.label(svc)), usize::from(task_width));
    let node = r
        .node_id
        .as_ref()
        .and_then(|n| c.nodes.get(n))
        .map_or_else(|| "-".to_string(), |n| sanitize(&n.hostname).into_owned());
    // A task on a node that is down: what it last said is not what it is.
    let unknown = r.state == TaskState::Running && c.on_node_down(r);
    let role = if unknown {
        Role::Warn
    } else {
        task_role(r.state)
    };
    let sym = match role {
        Role::Ok => "●",
        Role::Danger => "✗",
        Role::Muted => "·",
        Role::Warn if unknown => "?",
        _ => "◌",
    };
    let last = match &r.error {
        _ if unknown => styled(
            "unknown (node down): last reported running",
            t.style(Role::Warn),
        ),
        Some(e) => styled(sanitize(e).into_owned(), t.style(Role::Danger)),
        None => styled(
            short_image(&sanitize(&r.image), last_w),
            t.style(Role::Muted),
        ),
    };
    let state = if unknown { "unknown" } else { r.state.label() };
    let mut cells = vec![
        styled(sym, t.style(role)),
        Cell::from(name),
        Cell::from(node),
        Cell::from(r.desired.label()),
        styled(state, t.style(role)),
        Cell::from(age(now, r.since)),
    ];
    if restarts {
        cells.push(match r.restarts {
            Some(0) => Cell::from("0"),
            Some(n) if n > 999 => styled("999+", t.style(Role::Warn)),
            Some(n) => styled(n.to_string(), t.style(Role::Warn)),
            None => Cell::from("-"),
        });
    }
    if usage {
        cells.push(usage_cell(c, r.kind, &r.id));
    }
    cells.push(last);
    cells
}

/// Wide enough for "100% ▁▂▃▄▅▆▇█▇▆▅▄ 1.5Gi".
pub const USAGE_WIDTH: u16 = 24;

/// The object's CPU, its sparkline and memory, or blank while not sampled.
pub fn usage_cell<'a>(c: &ClusterState, kind: ObjectKind, id: &str) -> Cell<'a> {
    // Not `Cell::default()`: that one spans no column, and the next cell would slide in.
    Cell::from(crate::app::usage::cell_of(c, kind, id).unwrap_or_default())
}
