//! Modal popups: the confirm dialog (default Cancel, typed confirmation for high risk), the
//! help screen generated from the live keymap, messages and refusals, and quit confirmation.

mod stacks;

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::app::{App, Modal};
use crate::input::Mode;
use crate::model::{Instance, Severity, Time};
use crate::ops::Risk;
use crate::ui::sanitize::sanitize;
use crate::ui::theme::{Role, Theme};
use crate::ui::widgets::age;

pub fn render(f: &mut Frame, app: &App, area: Rect, now: Time) {
    match &app.ui.modal {
        None => {}
        Some(Modal::Confirm {
            pending,
            typed,
            reason,
            on_reason,
            on_confirm,
            error,
        }) => confirm(
            f,
            app,
            area,
            pending,
            Fields {
                typed,
                reason,
                on_reason: *on_reason,
            },
            *on_confirm,
            error.as_deref(),
        ),
        Some(Modal::Help { scroll }) => help(f, app, area, *scroll),
        Some(Modal::Stacks { selected }) => stacks::stacks(f, app, area, *selected),
        Some(Modal::Logs) => logs(f, app, area),
        Some(Modal::Describe) => describe(f, app, area),
        Some(Modal::Instance { id }) => instance(f, app, area, id, now),
        Some(Modal::Message {
            title,
            body,
            severity,
        }) => {
            let role = match severity {
                Severity::Info => Role::Info,
                Severity::Warn => Role::Warn,
                Severity::Critical => Role::Danger,
            };
            let lines = vec![
                Line::styled(sanitize(body).into_owned(), app.theme.style(role)),
                Line::raw(""),
                Line::styled("press any key", app.theme.style(Role::Muted)),
            ];
            popup(f, &app.theme, area, title, role, lines, 70, 9);
        }
        Some(Modal::QuitConfirm { on_quit }) => {
            let n = app.inflight.len();
            let lines = vec![
                Line::raw(format!(
                    "{n} operation(s) still in flight. They continue on the cluster,"
                )),
                Line::raw("but this console will not see or record their outcome."),
                Line::raw(""),
                buttons(&app.theme, "Quit", *on_quit),
            ];
            popup(f, &app.theme, area, "Quit?", Role::Warn, lines, 66, 8);
        }
    }
}

fn buttons<'a>(t: &Theme, action: &str, on_action: bool) -> Line<'a> {
    let (c, a) = if on_action {
        ("  Cancel  ".to_string(), format!("› {action} ‹"))
    } else {
        ("› Cancel ‹".to_string(), format!("  {action}  "))
    };
    Line::from(vec![
        Span::styled(
            format!("[{c}]"),
            if on_action {
                t.style(Role::Text)
            } else {
                t.style(Role::Selection)
            },
        ),
        Span::raw("   "),
        Span::styled(
            format!("[{a}]"),
            if on_action {
                t.style(Role::Selection)
            } else {
                t.style(Role::Text)
            },
        ),
    ])
}

/// The confirm modal's text fields and which one takes typing.
struct Fields<'a> {
    typed: &'a str,
    reason: &'a str,
    on_reason: bool,
}

fn confirm(
    f: &mut Frame,
    app: &App,
    area: Rect,
    pending: &crate::ops::PendingOp,
    fields: Fields<'_>,
    on_confirm: bool,
    error: Option<&str>,
) {
    let Fields {
        typed,
        reason,
        on_reason,
    } = fields;
    let t = &app.theme;
    let plan = pending.plan();
    let high = plan.risk == Risk::High;
    let mut lines = Vec::new();
    for d in &plan.delta {
        lines.push(Line::styled(sanitize(d).into_owned(), t.style(Role::Text)));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled("equivalent: ", t.style(Role::Muted)),
        Span::styled(sanitize(&plan.cli).into_owned(), t.style(Role::Accent)),
    ]));
    for w in &plan.warnings {
        lines.push(Line::styled(
            format!("▲ {}", sanitize(w)),
            t.style(Role::Warn),
        ));
    }
    lines.push(Line::raw(""));
    let production = app
        .store
        .cluster(pending.request().cluster())
        .is_some_and(|c| c.production);
    let required = app.reason_policy.requires(production);
    let cursor = |on: bool| if on { "▏" } else { "" };
    lines.push(Line::from(vec![
        Span::styled(
            if required {
                "reason / ticket (required): "
            } else {
                "reason / ticket (optional): "
            },
            t.style(if on_reason { Role::Accent } else { Role::Muted }),
        ),
        Span::styled(
            format!("{}{}", sanitize(reason), cursor(on_reason)),
            t.style(Role::Text),
        ),
    ]));
    if let Some(expected) = &plan.confirm_text {
        lines.push(Line::from(vec![
            Span::styled(
                format!("HIGH RISK · type {} to confirm: ", sanitize(expected)),
                t.style(Role::Danger),
            ),
            Span::styled(
                format!("{}{}", sanitize(typed), cursor(!on_reason)),
                t.style(Role::Text),
            ),
        ]));
    }
    if let Some(e) = error {
        lines.push(Line::styled(
            format!("✗ {}", sanitize(e)),
            t.style(Role::Danger),
        ));
    }
    let verb = pending.request().verb();
    lines.push(buttons(t, &capitalize(verb), on_confirm));
    lines.push(Line::styled(
        if plan.confirm_text.is_some() {
            "tab switch · ↑↓ field · enter press · esc cancel"
        } else {
            "tab switch · enter press · esc cancel"
        },
        t.style(Role::Muted),
    ));
    let title = format!("Confirm: {}", sanitize(&plan.title));
    let h = lines.len() as u16 + 4;
    popup(
        f,
        t,
        area,
        &title,
        if high {
            Role::Danger
        } else {
            Role::BorderFocus
        },
        lines,
        78,
        h,
    );
}

/// The log view: the newest lines that fit (or scrolled back), matching the search.
fn describe(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let v = &app.describe;
    let r = Rect {
        height: area.height.saturating_sub(1),
        ..area
    };
    let mut inner_h = r.height.saturating_sub(2) as usize;
    let all = v.lines();
    let mut lines: Vec<Line> = Vec::new();
    // CPU and memory on top while the object is sampled (tasks, pods, nodes).
    if let Some(cell) = v
        .kind
        .zip(app.cluster())
        .and_then(|(kind, c)| crate::app::usage::cell_of(c, kind, &v.id))
    {
        lines.push(Line::styled(
            format!("{:<12} {cell}", "usage"),
            t.style(Role::Accent),
        ));
        inner_h = inner_h.saturating_sub(1);
    }
    lines.extend(
        all.iter()
            .skip(v.scroll)
            .take(inner_h)
            .map(|l| Line::styled(sanitize(l).into_owned(), t.style(Role::Text))),
    );
    if let Some(e) = &v.error {
        lines.push(Line::styled(
            format!("✗ {}", sanitize(e)),
            t.style(Role::Danger),
        ));
    } else if v.json.is_none() {
        lines.push(Line::styled(
            "reading from the engine…",
            t.style(Role::Muted),
        ));
    }
    let keys = |a: crate::input::Action| app.keymap.hint(Mode::Help, a).unwrap_or_default();
    let mut title = format!(
        " {} · {} · {} lines",
        sanitize(&v.title),
        if v.as_json { "JSON" } else { "YAML" },
        all.len()
    );
    if !v.search.is_empty() {
        title.push_str(&format!(" · /{}", sanitize(&v.search)));
    }
    title.push_str(&format!(
        " · {} {} · {} write · / search · esc closes ",
        keys(crate::input::Action::ToggleFormat),
        if v.as_json { "YAML" } else { "JSON" },
        keys(crate::input::Action::Save),
    ));
    if let Some(p) = &v.saved {
        title.push_str(&format!("· written to {} ", sanitize(p)));
    }
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style(Role::BorderFocus))
        .title(Span::styled(title, t.style(Role::Title)));
    f.render_widget(Paragraph::new(lines).block(block), r);
}

fn logs(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let v = &app.logs;
    let r = Rect {
        height: area.height.saturating_sub(1),
        ..area
    };
    let inner_h = r.height.saturating_sub(2) as usize;
    let shown = v.visible();
    let mut lines: Vec<Line> = Vec::new();
    let end = shown.len().saturating_sub(v.scroll);
    let reserve = usize::from(v.ended.is_some());
    let start = end.saturating_sub(inner_h.saturating_sub(reserve));
    for l in &shown[start..end] {
        lines.push(Line::styled((*l).to_string(), t.style(Role::Text)));
    }
    if let Some(e) = &v.ended {
        lines.push(Line::styled(
            format!("— {}", sanitize(e)),
            t.style(Role::Warn),
        ));
    }
    if shown.is_empty() && v.ended.is_none() {
        lines.push(Line::styled("waiting for log lines…", t.style(Role::Muted)));
    }
    let mut title = format!(" Logs · {} · {} lines", sanitize(&v.title), v.lines.len());
    if v.dropped > 0 {
        title.push_str(&format!(
            " (ring of {}, {} older dropped)",
            crate::app::LOG_LINES,
            v.dropped
        ));
    }
    if !v.search.is_empty() {
        title.push_str(&format!(
            " · /{} {} match",
            sanitize(&v.search),
            shown.len()
        ));
    }
    title.push_str(if v.scroll == 0 {
        " · following"
    } else {
        " · scrolled (j to the end)"
    });
    title.push_str(" · / search · esc closes ");
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style(Role::BorderFocus))
        .title(Span::styled(title, t.style(Role::Title)));
    f.render_widget(Paragraph::new(lines).block(block), r);
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn help(f: &mut Frame, app: &App, area: Rect, scroll: u16) {
    let t = &app.theme;
    let mut lines = Vec::new();
    let read_only = app.read_only_here();
    // The wall's keys belong to `--wall`, which has no help screen.
    for mode in Mode::ALL.into_iter().filter(|m| *m != Mode::Wall) {
        lines.push(Line::styled(
            format!("{} mode", mode.name()),
            t.style(Role::Header),
        ));
        for b in app.keymap.bindings().iter().filter(|b| b.mode == mode) {
            if read_only && b.action.is_mutating() {
                continue;
            }
            let keys: Vec<String> = b.keys.iter().map(|k| k.to_string()).collect();
            let keys = if keys.is_empty() {
                "(unbound)".to_string()
            } else {
                keys.join(" ")
            };
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<22}"), t.style(Role::Accent)),
                Span::styled(b.action.description().to_string(), t.style(Role::Text)),
            ]));
        }
    }
    lines.push(Line::styled("text inputs", t.style(Role::Header)));
    lines.push(Line::raw("  enter submit · esc cancel · backspace delete"));
    lines.push(Line::styled("command line", t.style(Role::Header)));
    lines.push(Line::raw(format!("  {}", crate::app::command::USAGE)));
    if read_only {
        let text = if app.gate.is_read_only() {
            "read-only mode: actions that change a cluster are hidden and refused".to_string()
        } else {
            format!(
                "context {} is read-only (config): actions that change it are hidden and refused",
                sanitize(&app.cluster_name())
            )
        };
        lines.push(Line::styled(text, t.style(Role::Warn)));
    }
    let h = area.height.saturating_sub(2);
    let inner = Rect {
        height: h.saturating_sub(2),
        ..area
    };
    let max_scroll = (lines.len() as u16).saturating_sub(inner.height);
    let p = Paragraph::new(lines)
        .scroll((scroll.min(max_scroll), 0))
        .wrap(Wrap { trim: false });
    let r = centered(area, 90, h);
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style(Role::BorderFocus))
        .title(Span::styled(
            " Help · keys from your keymap (esc closes) ",
            t.style(Role::Title),
        ));
    f.render_widget(p.block(block).style(t.style(Role::Text)), r);
}

/// Every field of one instance, live: the popup follows the store while it is open.
fn instance(f: &mut Frame, app: &App, area: Rect, id: &str, now: Time) {
    let t = &app.theme;
    let Some(i) = app.cluster().and_then(|c| c.instances.get(id)) else {
        let lines = vec![Line::styled(
            format!("{} is no longer listed", sanitize(id)),
            t.style(Role::Muted),
        )];
        popup(f, t, area, "Instance", Role::Border, lines, 60, 5);
        return;
    };
    let mut lines: Vec<Line> = instance_fields(app, i, now)
        .into_iter()
        .map(|(k, v)| {
            Line::from(vec![
                Span::styled(format!("{k:>22}  "), t.style(Role::Muted)),
                Span::styled(sanitize(&v).into_owned(), t.style(Role::Text)),
            ])
        })
        .collect();
    for w in instance_warnings(i) {
        lines.push(Line::styled(
            format!("  ▲ {}", sanitize(&w)),
            t.style(Role::Warn),
        ));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("press any key", t.style(Role::Muted)));
    let h = lines.len() as u16 + 2;
    popup(f, t, area, "Instance", Role::Border, lines, 90, h);
}

/// Everything known about an instance, as (label, value).
fn instance_fields(app: &App, i: &Instance, now: Time) -> Vec<(&'static str, String)> {
    let node = i
        .node_id
        .as_deref()
        .and_then(|n| app.cluster().and_then(|c| c.nodes.get(n)));
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".to_string());
    let ami = match &i.ami_name {
        Some(n) => format!("{} ({})", i.ami, n),
        None => i.ami.clone(),
    };
    let role = node.map_or("none (no swarm node at this address)".to_string(), |n| {
        let r = if n.is_manager() { "manager" } else { "worker" };
        format!("{r} {}", n.hostname)
    });
    let protection = match i.flags.termination_protection {
        Some(true) => "on (terminate is refused)",
        Some(false) => "off",
        None => "not read yet",
    };
    let tags: Vec<String> = i.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    vec![
        ("id", i.id.clone()),
        ("name", i.name.clone()),
        (
            "state",
            format!("{} for {}", i.state.label(), age(now, i.state_since)),
        ),
        ("type", i.instance_type.clone()),
        ("region / AZ", format!("{} / {}", i.region, i.az)),
        ("private IP", opt(&i.private_ip)),
        ("public IP", opt(&i.public_ip)),
        ("AMI", ami),
        (
            "launched",
            i.launch_time.format("%Y-%m-%d %H:%M UTC").to_string(),
        ),
        ("key", opt(&i.key_name)),
        (
            "VPC / subnet",
            format!("{} / {}", opt(&i.vpc_id), opt(&i.subnet_id)),
        ),
        ("security groups", i.security_groups.join(", ")),
        ("cluster role", role),
        ("termination protection", protection.to_string()),
        ("tags", tags.join(", ")),
    ]
}

fn instance_warnings(i: &Instance) -> Vec<String> {
    let mut warn = Vec::new();
    if !i.flags.ssh_open_to_world.is_empty() {
        warn.push(format!(
            "port 22 open to the world via {}",
            i.flags.ssh_open_to_world.join(", ")
        ));
    }
    if i.flags.instance_store_root {
        warn.push("instance-store root: data lost on stop or terminate".into());
    }
    if let Some(g) = &i.flags.autoscaling_group {
        warn.push(format!(
            "in autoscaling group {g}: a terminated member is replaced"
        ));
    }
    warn
}

#[allow(clippy::too_many_arguments)]
fn popup(
    f: &mut Frame,
    t: &Theme,
    area: Rect,
    title: &str,
    border: Role,
    lines: Vec<Line>,
    w: u16,
    h: u16,
) {
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(t.style(border))
        .title(Span::styled(format!(" {title} "), t.style(Role::Title)));
    f.render_widget(
        Paragraph::new(lines)
            .block(block)
            .style(t.style(Role::Text))
            .wrap(Wrap { trim: false }),
        r,
    );
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
