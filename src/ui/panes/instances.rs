//! The instances pane: EC2 instances with state (and how long a transition has taken), AZ,
//! addresses, the cluster role they run, flags an operator should know, and the data's age.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Row};

use crate::app::App;
use crate::app::view;
use crate::model::store::ClusterState;
use crate::model::{Instance, InstanceState, Time};
use crate::ui::Pane;
use crate::ui::sanitize::sanitize;
use crate::ui::theme::Role;

use super::{TableSpec, styled, table};
use super::{WIDE_TABLE, title_with_filter};
use crate::ui::widgets::age;

pub fn render(f: &mut Frame, app: &App, area: Rect, now: Time, focused: bool) {
    let Some(c) = app.cluster() else { return };
    let rows = view::instance_rows(
        c,
        app.ui.filter(Pane::Instances),
        app.ui.sort(Pane::Instances),
    );
    let widths = [
        Constraint::Length(2),
        Constraint::Length(20),
        Constraint::Length(12),
        Constraint::Length(14),
        Constraint::Length(11),
        Constraint::Length(13),
        Constraint::Length(8),
        Constraint::Length(10),
        Constraint::Length(15),
        Constraint::Length(16),
        Constraint::Min(21),
    ];
    let header: &[&str] = &[
        "",
        "ID",
        "NAME",
        "STATE",
        "AZ",
        "PRIVATE IP",
        "ROLE",
        "TYPE",
        "PUBLIC IP",
        "FLAGS",
        "AMI",
    ];
    // The AMI column only where everything before it fits whole.
    let cols = match area.width {
        w if w >= 156 => widths.len(),
        w if w >= WIDE_TABLE => widths.len() - 1,
        _ => 7,
    };
    // EC2 is polled: say how old the picture is.
    let polled = c
        .sources
        .get(&crate::model::SourceKind::Ec2)
        .and_then(|h| h.last_update)
        .map(|at| format!("Instances · data {} old", age(now, at)))
        .unwrap_or_else(|| "Instances".into());
    let spec = TableSpec {
        title: title_with_filter(app, Pane::Instances, &polled),
        header: &header[..cols],
        widths: &widths[..cols],
        total: rows.len(),
        selected: super::shown_selection(app, Pane::Instances),
        empty: "no cloud instances (EC2 not configured, or none match the filters)",
    };
    table(f, app, area, now, focused, spec, |i| {
        let mut cells = instance_cells(app, c, rows[i], now);
        cells.truncate(cols);
        Row::new(cells)
    });
}

fn instance_cells<'a>(app: &App, c: &ClusterState, inst: &Instance, now: Time) -> Vec<Cell<'a>> {
    let t = &app.theme;
    let (sym, role) = match inst.state {
        InstanceState::Running => ("●", Role::Ok),
        InstanceState::Stopped | InstanceState::Terminated => ("✗", Role::Danger),
        _ => ("◌", Role::Warn),
    };
    let state = if inst.state.is_transitional() {
        format!("{} {}", inst.state.label(), age(now, inst.state_since))
    } else {
        inst.state.label().to_string()
    };
    let role_txt = inst
        .node_id
        .as_ref()
        .and_then(|n| c.nodes.get(n))
        .map_or(
            "none",
            |n| if n.is_manager() { "manager" } else { "worker" },
        );
    let opt = |o: &Option<String>| {
        o.as_deref()
            .map(|s| sanitize(s).into_owned())
            .unwrap_or_else(|| "-".into())
    };
    let flags = inst.flags.labels();
    let flag_role = if flags
        .iter()
        .any(|f| *f == "ssh-open" || *f == "ephemeral-root")
    {
        Role::Warn
    } else {
        Role::Muted
    };
    vec![
        styled(sym, t.style(role)),
        Cell::from(sanitize(&inst.id).into_owned()),
        Cell::from(sanitize(&inst.name).into_owned()),
        styled(state, t.style(role)),
        Cell::from(sanitize(&inst.az).into_owned()),
        Cell::from(opt(&inst.private_ip)),
        Cell::from(role_txt),
        Cell::from(sanitize(&inst.instance_type).into_owned()),
        Cell::from(opt(&inst.public_ip)),
        styled(flags.join(" "), t.style(flag_role)),
        Cell::from(sanitize(&inst.ami).into_owned()),
    ]
}
