//! The audit pane: this host's audit log, newest last, with the filter syntax of
//! `clusterdeck audit show`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Row};

use crate::app::App;
use crate::app::view;
use crate::model::Time;
use crate::ui::Pane;
use crate::ui::sanitize::sanitize;
use crate::ui::theme::Role;

use super::WIDE_TABLE;
use super::{TableSpec, styled, table};

pub fn render(f: &mut Frame, app: &App, area: Rect, _now: Time, focused: bool) {
    let t = &app.theme;
    let rows = view::audit_rows(&app.audit, app.ui.filter(Pane::Audit), _now);
    let path = app.gate.audit_log().map_or_else(
        || "read-only: no actions, no log".into(),
        |l| sanitize(&l.path().display().to_string()).into_owned(),
    );
    let wide = area.width >= WIDE_TABLE;
    let widths = [
        Constraint::Length(if wide { 24 } else { 8 }),
        Constraint::Length(7),
        Constraint::Length(10),
        Constraint::Length(9),
        Constraint::Length(16),
        Constraint::Length(9),
        Constraint::Min(20),
    ];
    let title = match view::audit_filter_error(app.ui.filter(Pane::Audit), _now) {
        Some(e) => format!("Audit · {path} · ✗ {}", sanitize(&e)),
        None => format!("Audit · {path}"),
    };
    let spec = TableSpec {
        title,
        header: &[
            if wide { "TIME (UTC)" } else { "UTC" },
            "PHASE",
            "USER",
            "VERB",
            "TARGET",
            "RESULT",
            "CLI / MESSAGE",
        ],
        widths: &widths,
        total: rows.len(),
        selected: super::shown_selection(app, Pane::Audit),
        empty: "no audited actions yet",
    };
    table(f, app, area, _now, focused, spec, |i| {
        let r = rows[i];
        let (res, role) = match r.result.as_deref() {
            Some("ok") => ("✓ ok", Role::Ok),
            Some("error") => ("✗ error", Role::Danger),
            Some(other) => (other, Role::Warn),
            None => ("…", Role::Muted),
        };
        let detail = match (&r.result, &r.message) {
            (Some(_), Some(m)) if !m.is_empty() => m.clone(),
            _ => r.cli.clone(),
        };
        Row::new(vec![
            Cell::from(if wide {
                sanitize(&r.time).into_owned()
            } else {
                // "2026-11-21T09:05:00.000Z" → "09:05:00"
                sanitize(r.time.get(11..19).unwrap_or(&r.time)).into_owned()
            }),
            Cell::from(sanitize(&r.phase).into_owned()),
            Cell::from(sanitize(&r.user).into_owned()),
            Cell::from(sanitize(&r.verb).into_owned()),
            Cell::from(sanitize(&r.target).into_owned()),
            styled(res.to_string(), t.style(role)),
            Cell::from(sanitize(&detail).into_owned()),
        ])
    });
}
