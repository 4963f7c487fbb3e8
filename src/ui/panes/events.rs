//! The events pane: the timeline, newest first, each marked as this console's or external.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Row};

use crate::app::App;
use crate::app::view;
use crate::model::{Origin, Severity, Time};
use crate::ui::Pane;
use crate::ui::sanitize::sanitize;
use crate::ui::theme::Role;

use super::denied_or;
use super::{TableSpec, styled, table};
use crate::ui::widgets::age;

pub fn render(f: &mut Frame, app: &App, area: Rect, now: Time, focused: bool) {
    let Some(c) = app.cluster() else { return };
    let t = &app.theme;
    let rows = view::event_rows(c, app.ui.filter(Pane::Events));
    let widths = [
        Constraint::Length(2),
        Constraint::Length(5),
        Constraint::Length(8),
        Constraint::Length(14),
        Constraint::Min(20),
    ];
    let selected = if app.ui.pane == Pane::Events {
        super::shown_selection(app, Pane::Events)
    } else {
        usize::MAX
    };
    let spec = TableSpec {
        title: "Events · newest first".into(),
        header: &["", "AGE", "ORIGIN", "TARGET", "MESSAGE"],
        widths: &widths,
        total: rows.len(),
        selected,
        empty: &denied_or(c, &["events"], "no events yet"),
    };
    table(f, app, area, now, focused, spec, |i| {
        let e = rows[i];
        let (sym, role) = match e.severity {
            Severity::Info => ("·", Role::Info),
            Severity::Warn => ("▲", Role::Warn),
            Severity::Critical => ("✗", Role::Danger),
        };
        let origin = match e.origin {
            Origin::Console => styled("console", t.style(Role::Accent)),
            Origin::External => styled("external", t.style(Role::Muted)),
        };
        Row::new(vec![
            styled(sym, t.style(role)),
            Cell::from(age(now, e.at)),
            origin,
            Cell::from(sanitize(&e.target).into_owned()),
            styled(sanitize(&e.message).into_owned(), t.style(role)),
        ])
    });
}
