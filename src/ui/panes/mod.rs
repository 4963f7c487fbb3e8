//! One renderer per pane. Tables build rows only for the visible window, so a pane over
//! 10,000 replicas costs what a screenful costs.

mod audit;
mod events;
mod incidents;
mod instances;
mod nodes;
mod overview;
pub mod quorum;
mod replicas;
mod services;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table};

use crate::app::App;
use crate::app::view::{self, Drill};
use crate::model::{Health, TaskState, Time};
use crate::ui::sanitize::sanitize;

use super::Pane;
use super::theme::Role;
use super::widgets::age;

pub fn render(f: &mut Frame, app: &App, pane: Pane, area: Rect, now: Time, focused: bool) {
    match pane {
        Pane::Overview => overview::render(f, app, area, now, focused),
        Pane::Nodes => nodes::render(f, app, area, now, focused),
        Pane::Services => services::render(f, app, area, now, focused),
        Pane::Replicas => replicas::render(
            f,
            app,
            area,
            now,
            focused,
            app.ui.drill.as_ref(),
            shown_selection(app, Pane::Replicas),
        ),
        Pane::Instances => instances::render(f, app, area, now, focused),
        Pane::Events => events::render(f, app, area, now, focused),
        Pane::Audit => audit::render(f, app, area, now, focused),
        Pane::Quorum => quorum::render(f, app, area, now, focused),
        Pane::Incidents => incidents::render(f, app, area, now, focused),
    }
}

/// The replicas of whatever is selected in `pane`, shown under it on the dashboard.
pub fn render_preview(f: &mut Frame, app: &App, pane: Pane, area: Rect, now: Time) {
    let Some(c) = app.cluster() else { return };
    let sel = app.ui.selected(pane);
    let drill = match pane {
        Pane::Services => crate::app::view::service_rows(c, app.ui.filter(pane), app.ui.sort(pane))
            .get(sel)
            .map(|w| Drill::Service(w.id.clone())),
        Pane::Nodes => crate::app::view::node_rows(c, app.ui.filter(pane), app.ui.sort(pane))
            .get(sel)
            .map(|n| Drill::Node(n.id.clone())),
        _ => None,
    };
    if let Some(d) = drill {
        replicas::render(f, app, area, now, false, Some(&d), usize::MAX);
    }
}

/// The selected row of `pane`; none (`usize::MAX`) on the wall, where nothing is selected.
pub(super) fn shown_selection(app: &App, pane: Pane) -> usize {
    if app.settings.wall {
        usize::MAX
    } else {
        app.ui.selected(pane)
    }
}

/// A bordered block whose title says what the pane shows, its filter, and staleness.
pub(super) fn block<'a>(app: &App, title: String, focused: bool, now: Time) -> Block<'a> {
    let t = &app.theme;
    let mut spans = vec![Span::styled(format!(" {title} "), t.style(Role::Title))];
    if let Some(c) = app.cluster()
        && let Some(since) = c.stale_since()
    {
        spans.push(Span::styled(
            format!(" STALE {} ", age(now, since)),
            t.style(Role::Danger),
        ));
    }
    let border = if focused {
        Role::BorderFocus
    } else {
        Role::Border
    };
    Block::default()
        .borders(Borders::ALL)
        .border_style(t.style(border))
        .title(Line::from(spans))
}

/// Rows `offset..offset+height` such that `selected` is visible.
pub(super) fn window(total: usize, selected: usize, height: usize) -> (usize, usize) {
    if height == 0 || total == 0 {
        return (0, 0);
    }
    let sel = selected.min(total - 1);
    let offset = if sel < height { 0 } else { sel + 1 - height };
    (offset, (offset + height).min(total))
}

pub(super) struct TableSpec<'a> {
    pub title: String,
    pub header: &'a [&'a str],
    pub widths: &'a [Constraint],
    pub total: usize,
    /// usize::MAX: no selection shown.
    pub selected: usize,
    pub empty: &'a str,
}

pub(super) fn table<'a>(
    f: &mut Frame,
    app: &App,
    area: Rect,
    now: Time,
    focused: bool,
    spec: TableSpec<'_>,
    row: impl Fn(usize) -> Row<'a>,
) {
    let t = &app.theme;
    let title = if spec.total > 0 && spec.selected != usize::MAX {
        format!(
            "{} [{}/{}]",
            spec.title,
            spec.selected.min(spec.total - 1) + 1,
            spec.total
        )
    } else {
        format!("{} [{}]", spec.title, spec.total)
    };
    let block = block(app, title, focused, now);
    let inner_h = area.height.saturating_sub(3) as usize;
    if spec.total == 0 {
        let p = ratatui::widgets::Paragraph::new(Span::styled(
            spec.empty.to_string(),
            t.style(Role::Muted),
        ))
        .block(block);
        f.render_widget(p, area);
        return;
    }
    let sel = if spec.selected == usize::MAX {
        0
    } else {
        spec.selected
    };
    let (from, to) = window(spec.total, sel, inner_h);
    let rows: Vec<Row> = (from..to)
        .map(|i| {
            let r = row(i);
            if spec.selected != usize::MAX && i == spec.selected.min(spec.total - 1) {
                r.style(t.style(Role::Selection))
            } else {
                r
            }
        })
        .collect();
    let header = Row::new(spec.header.iter().map(|h| Cell::from(*h))).style(t.style(Role::Header));
    let table = Table::new(rows, spec.widths.to_vec())
        .header(header)
        .block(block)
        .style(t.style(Role::Text))
        .column_spacing(1);
    f.render_widget(table, area);
}

pub(super) fn styled<'a>(text: impl Into<std::borrow::Cow<'a, str>>, style: Style) -> Cell<'a> {
    Cell::from(Span::styled(text, style))
}

/// An empty pane says why when the credentials may not list what it shows (Kubernetes RBAC).
pub(super) fn denied_or(
    c: &crate::model::store::ClusterState,
    kinds: &[&str],
    empty: &str,
) -> String {
    let denied: Vec<String> = kinds
        .iter()
        .filter_map(|k| c.denied.get(*k))
        .map(|r| sanitize(r).into_owned())
        .collect();
    if denied.is_empty() {
        empty.to_string()
    } else {
        denied.join(" · ")
    }
}

/// Below this width a table drops its least important columns.
pub(super) const WIDE_TABLE: u16 = 110;

pub(super) fn health_role(h: Health) -> Role {
    match h {
        Health::Ok => Role::Ok,
        Health::Warn => Role::Warn,
        Health::Critical => Role::Danger,
        Health::Unknown => Role::Muted,
    }
}

pub(super) fn task_role(s: TaskState) -> Role {
    match s {
        TaskState::Running | TaskState::Complete => Role::Ok,
        TaskState::Failed | TaskState::Rejected | TaskState::Orphaned => Role::Danger,
        TaskState::Shutdown | TaskState::Remove => Role::Muted,
        _ => Role::Warn,
    }
}

pub(super) fn title_with_filter(app: &App, pane: Pane, base: &str) -> String {
    let f = app.ui.filter(pane);
    let sort = app.ui.sort(pane);
    let col = view::sort_columns(pane)[sort.column.min(view::sort_columns(pane).len() - 1)];
    let mut t = format!("{base} · by {col}{}", if sort.reverse { " ↑" } else { "" });
    if !f.is_empty() {
        t.push_str(&format!(" · /{}", sanitize(f)));
    }
    t
}
