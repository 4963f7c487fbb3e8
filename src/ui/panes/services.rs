//! The services pane: Swarm services and Kubernetes workloads with running/desired, their
//! update or rollout, image, availability over the last hour, mode and stack.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Row};

use crate::app::App;
use crate::app::view;
use crate::model::{ServiceMode, Time, Workload};
use crate::ui::Pane;
use crate::ui::sanitize::sanitize;
use crate::ui::theme::Role;

use super::{TableSpec, styled, table};
use super::{WIDE_TABLE, denied_or, title_with_filter};
use crate::ui::widgets::{gauge, ratio_bar, short_image, sparkline};

pub fn render(f: &mut Frame, app: &App, area: Rect, now: Time, focused: bool) {
    let Some(c) = app.cluster() else { return };
    let rows = view::service_rows(
        c,
        app.ui.filter(Pane::Services),
        app.ui.sort(Pane::Services),
    );
    let wide = area.width >= WIDE_TABLE;
    let bar = if wide { 8 } else { 4 };
    let widths = [
        Constraint::Length(2),
        Constraint::Length(16),
        Constraint::Length(if wide { 18 } else { 14 }),
        Constraint::Length(if wide { 28 } else { 16 }),
        Constraint::Min(16),
        Constraint::Length(13),
        Constraint::Length(4),
        Constraint::Length(10),
    ];
    let header: &[&str] = &[
        "", "NAME", "RUNNING", "UPDATE", "IMAGE", "AVAIL 1h", "MODE", "STACK",
    ];
    let cols = if wide { widths.len() } else { 5 };
    let spec = TableSpec {
        title: title_with_filter(app, Pane::Services, "Services"),
        header: &header[..cols],
        widths: &widths[..cols],
        total: rows.len(),
        selected: super::shown_selection(app, Pane::Services),
        empty: &denied_or(
            c,
            &["deployments", "statefulsets", "daemonsets"],
            "no services",
        ),
    };
    // Where a Deployment and a StatefulSet may share a name, every row says its kind.
    let first = c.workloads.values().next().map(|w| w.kind);
    let mixed = c.workloads.values().any(|w| Some(w.kind) != first);
    // The image column's width: what the fixed columns, their gaps and the border leave.
    let fixed: u16 = widths[..cols]
        .iter()
        .map(|c| match c {
            Constraint::Length(n) => *n,
            _ => 0,
        })
        .sum();
    let image_w = area.width.saturating_sub(fixed + cols as u16 + 1).max(16) as usize;
    table(f, app, area, now, focused, spec, |i| {
        let mut cells = service_cells(app, rows[i], wide, bar, mixed, image_w);
        cells.truncate(cols);
        Row::new(cells)
    });
}

fn service_cells<'a>(
    app: &App,
    w: &Workload,
    wide: bool,
    bar: usize,
    kinds: bool,
    image_w: usize,
) -> Vec<Cell<'a>> {
    let t = &app.theme;
    let paused = w.update.as_ref().is_some_and(|u| u.state.is_paused());
    let (sym, role) = if paused || (w.running == 0 && w.desired > 0) {
        ("✗", Role::Danger)
    } else if w.running < w.desired {
        ("▲", Role::Warn)
    } else {
        ("●", Role::Ok)
    };
    let running = format!(
        "{} {}/{}",
        ratio_bar(w.running, w.desired, bar),
        w.running,
        w.desired
    );
    let update = match &w.update {
        None => Cell::from("-"),
        Some(u) => {
            let role = if u.state.is_paused() {
                Role::Danger
            } else if u.state.in_progress() {
                Role::Info
            } else {
                Role::Muted
            };
            let text = match u.progress {
                Some((d, tot)) if u.state.in_progress() && wide => {
                    format!("{} {d}/{tot} {}", gauge(d, tot, 6), u.state.label())
                }
                Some((d, tot)) if u.state.in_progress() => {
                    format!("{} {d}/{tot}", gauge(d, tot, 4))
                }
                _ if u.state.is_paused() => format!("⏸ {}", u.state.label().to_uppercase()),
                _ => u.state.label().to_string(),
            };
            styled(text, t.style(role))
        }
    };
    vec![
        styled(sym, t.style(role)),
        Cell::from(if kinds {
            format!("{}/{}", w.kind.short(), sanitize(&w.name))
        } else {
            sanitize(&w.name).into_owned()
        }),
        styled(running, t.style(role)),
        update,
        Cell::from(short_image(&sanitize(&w.image), image_w)),
        styled(sparkline(&w.availability, 12), t.style(Role::Info)),
        Cell::from(if w.mode == ServiceMode::Global {
            "glob"
        } else {
            "repl"
        }),
        Cell::from(
            w.stack
                .as_deref()
                .map(|s| sanitize(s).into_owned())
                .unwrap_or_default(),
        ),
    ]
}
