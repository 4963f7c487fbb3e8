//! Screen layout: a dashboard of several panes when wide, one pane with tabs when narrow, and a
//! clear message below the minimum size. Never panics at any size.

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::{App, InputKind, PromptKind};
use crate::input::{Action, Mode};
use crate::model::{Severity, SourceKind, SourceState, Time};
use crate::ops::audit::anchor::CHAIN_RESTART;

use super::sanitize::sanitize;
use super::theme::Role;
use super::widgets::age;
use super::{Pane, panes, popups, strip};

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;
/// From this size on, the dashboard shows several panes at once.
pub const WIDE_WIDTH: u16 = 160;
pub const WIDE_HEIGHT: u16 = 30;

pub fn draw(f: &mut Frame, app: &App, now: Time) {
    let area = f.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "terminal too small: {}x{}, clusterdeck needs at least {MIN_WIDTH}x{MIN_HEIGHT}",
            area.width, area.height
        );
        f.render_widget(
            Paragraph::new(msg)
                .style(app.theme.style(Role::Warn))
                .wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let deploy_tags = app.tags.as_ref().is_some_and(|t| !t.1.is_empty())
        && app
            .ui
            .input
            .as_ref()
            .is_some_and(|i| matches!(i.kind, InputKind::Prompt(PromptKind::Deploy { .. })));
    let revisions = app
        .ui
        .input
        .as_ref()
        .is_some_and(|i| matches!(i.kind, InputKind::Prompt(PromptKind::RollbackTo { .. })));
    let footer_h =
        if deploy_tags || revisions || app.ui.input.as_ref().is_some_and(|i| i.error.is_some()) {
            2
        } else {
            1
        };
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Min(1),
            Constraint::Length(footer_h),
        ])
        .split(area);
    header(f, app, rows[0], now);
    strip::render(f, app, rows[1], now);
    tabs(f, app, rows[2]);
    if is_wide(area) {
        dashboard(f, app, rows[3], now);
    } else {
        panes::render(f, app, app.ui.pane, rows[3], now, true);
    }
    footer(f, app, rows[4]);
    popups::render(f, app, area, now);
}

/// Whether the screen is big enough for the multi-pane dashboard.
pub fn is_wide(area: Rect) -> bool {
    area.width >= WIDE_WIDTH && area.height >= WIDE_HEIGHT
}

fn dashboard(f: &mut Frame, app: &App, area: Rect, now: Time) {
    let cols = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Length(64), Constraint::Min(40)])
        .split(area);
    let left = Layout::default()
        .direction(Direction::Vertical)
        .constraints([Constraint::Min(12), Constraint::Percentage(40)])
        .split(cols[0]);
    let focus = app.ui.pane;
    panes::render(
        f,
        app,
        Pane::Overview,
        left[0],
        now,
        focus == Pane::Overview,
    );
    panes::render(f, app, Pane::Events, left[1], now, focus == Pane::Events);
    let main = match focus {
        Pane::Overview | Pane::Events => Pane::Services,
        p => p,
    };
    if matches!(main, Pane::Services | Pane::Nodes) {
        let right = Layout::default()
            .direction(Direction::Vertical)
            .constraints([Constraint::Percentage(60), Constraint::Percentage(40)])
            .split(cols[1]);
        panes::render(f, app, main, right[0], now, focus == main);
        panes::render_preview(f, app, main, right[1], now);
    } else {
        panes::render(f, app, main, cols[1], now, true);
    }
}

fn header(f: &mut Frame, app: &App, area: Rect, now: Time) {
    let t = &app.theme;
    let mut spans = vec![Span::styled(" clusterdeck ", t.style(Role::Title))];
    let ctx = app.cluster();
    let name = app.cluster_name();
    spans.push(Span::styled(
        format!(" ctx {} ", sanitize(&name)),
        t.style(Role::Accent),
    ));
    if ctx.is_some_and(|c| c.production) {
        spans.push(Span::styled(" PRODUCTION ", t.style(Role::Production)));
    }
    if app.settings.demo {
        let text = if area.width >= 120 {
            " DEMO · simulated cluster, nothing here is real "
        } else {
            " DEMO (simulated) "
        };
        spans.push(Span::styled(text, t.style(Role::Banner)));
    }
    if app.read_only_here() {
        spans.push(Span::styled(" READ-ONLY ", t.style(Role::Warn)));
    }
    let clock = format!("  {} UTC", now.format("%H:%M"));
    let used: usize = spans
        .iter()
        .map(|s| s.content.chars().count())
        .sum::<usize>()
        + clock.chars().count();
    spans.extend(fit_warnings(
        app,
        warnings(app, now),
        area.width as usize,
        used,
    ));
    spans.push(Span::styled(clock, t.style(Role::Muted)));
    f.render_widget(
        Paragraph::new(Line::from(spans)).style(t.style(Role::Text)),
        area,
    );
}

/// How bad a header item is: shown first when there is not room for all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    Danger,
    Warn,
    Fine,
}

/// The header's state items: sources, staleness, TLS, audit shipping, chain restarts, the
/// timeline and notification hooks. Each with its rank and role.
fn warnings(app: &App, now: Time) -> Vec<(Rank, String, Role)> {
    let mut out = Vec::new();
    if app.audit.iter().any(|r| r.phase == CHAIN_RESTART) {
        out.push((
            Rank::Danger,
            " AUDIT CHAIN RESTARTED (audit verify) ".to_string(),
            Role::Danger,
        ));
    }
    if let Some(f) = &app.audit_unshipped {
        let since = chrono::DateTime::parse_from_rfc3339(&f.since)
            .map(|s| format!(" for {}", age(now, s.with_timezone(&chrono::Utc))))
            .unwrap_or_default();
        out.push((
            Rank::Warn,
            format!(" audit not shipped{since}: {} ", sanitize(&f.error)),
            Role::Warn,
        ));
    }
    if let Some(e) = app.notifier.as_ref().and_then(|n| n.failure()) {
        out.push((Rank::Warn, format!(" {} ", sanitize(&e)), Role::Warn));
    }
    if let Some(e) = app.timeline.as_ref().and_then(|t| t.error.as_ref()) {
        out.push((Rank::Warn, format!(" {} ", sanitize(e)), Role::Warn));
    }
    let Some(c) = app.cluster() else { return out };
    for (kind, h) in &c.sources {
        let (sym, role, rank) = match &h.state {
            SourceState::Connected => ("●", Role::Ok, Rank::Fine),
            SourceState::Connecting => ("○", Role::Muted, Rank::Fine),
            SourceState::Degraded { .. } => ("▲", Role::Warn, Rank::Warn),
            SourceState::Unreachable { .. } | SourceState::Failed { .. } => {
                ("✗", Role::Danger, Rank::Danger)
            }
            SourceState::NotConfigured { .. } => ("-", Role::Muted, Rank::Fine),
        };
        let mut text = format!(" {} {sym} {}", kind.label(), h.label());
        let mut rank = rank;
        if h.tls_unverified {
            text.push_str(" · TLS not verified");
            rank = rank.min(Rank::Warn);
        }
        if h.is_stale() {
            let since = h.stale_since.map(|s| age(now, s)).unwrap_or_default();
            text.push_str(&format!(
                " · STALE {since}: {}",
                sanitize(h.reason().unwrap_or(""))
            ));
        }
        let role = if h.tls_unverified && role == Role::Ok {
            Role::Warn
        } else {
            role
        };
        out.push((rank, text, role));
        // What RBAC keeps from view: not stale, but not everything either.
        if *kind == SourceKind::Kubernetes && !c.denied.is_empty() {
            let kinds: Vec<&str> = c.denied.keys().map(String::as_str).collect();
            out.push((
                Rank::Warn,
                format!(
                    " · forbidden to list {} (RBAC)",
                    sanitize(&kinds.join(", "))
                ),
                Role::Warn,
            ));
        }
    }
    out
}

/// The items that fit in `width` after `used` columns, worst first, in their own order within
/// a rank; the rest counted ("+2 more"). What fits whole is shown whole.
fn fit_warnings(
    app: &App,
    mut items: Vec<(Rank, String, Role)>,
    width: usize,
    used: usize,
) -> Vec<Span<'static>> {
    let total: usize = items.iter().map(|i| i.1.chars().count()).sum();
    if used + total <= width {
        return items
            .into_iter()
            .map(|(_, text, role)| Span::styled(text, app.theme.style(role)))
            .collect();
    }
    items.sort_by_key(|i| i.0);
    let mut room = width.saturating_sub(used + 10);
    let mut out = Vec::new();
    let mut left = items.len();
    for (_, text, role) in items {
        let n = text.chars().count();
        if n > room {
            if out.is_empty() {
                // The worst item is shown, cut, rather than not at all.
                out.push(Span::styled(strip::fit(&text, room), app.theme.style(role)));
                left -= 1;
            }
            break;
        }
        room -= n;
        left -= 1;
        out.push(Span::styled(text, app.theme.style(role)));
    }
    if left > 0 {
        out.push(Span::styled(
            format!(" +{left} more"),
            app.theme.style(Role::Muted),
        ));
    }
    out
}

fn tabs(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let mut spans = Vec::new();
    // Every title, spaced, when that fits; then every title tightly; then short titles (80
    // columns); on a narrower terminal only the current pane keeps its name.
    let width = area.width as usize;
    let n = Pane::ALL.len();
    let full: usize = Pane::ALL.iter().map(|p| p.title().len() + 2).sum();
    let short: usize = Pane::ALL.iter().map(|p| p.short().len() + 2).sum();
    type Names = Option<fn(Pane) -> &'static str>;
    let (pad, names): (&str, Names) = if full + 3 * n <= width {
        (" ", Some(Pane::title))
    } else if full + n <= width {
        ("", Some(Pane::title))
    } else if short + n <= width {
        ("", Some(Pane::short))
    } else {
        ("", None)
    };
    for (i, p) in Pane::ALL.iter().enumerate() {
        let label = match names {
            _ if *p == app.ui.pane => format!("{pad}{} {}{pad}", i + 1, p.title()),
            Some(name) => format!("{pad}{} {}{pad}", i + 1, name(*p)),
            None => format!(" {} ", i + 1),
        };
        if *p == app.ui.pane {
            spans.push(Span::styled(
                format!("[{}]", label.trim()),
                t.style(Role::Selection),
            ));
        } else {
            spans.push(Span::styled(label, t.style(Role::Muted)));
        }
        spans.push(Span::raw(if pad.is_empty() || *p == app.ui.pane {
            " "
        } else {
            ""
        }));
    }
    if let Some(d) = &app.ui.drill {
        let what = match d {
            crate::app::view::Drill::Service(id) => app
                .cluster()
                .and_then(|c| c.workloads.get(id))
                .map(|w| format!("service {}", sanitize(&w.name))),
            crate::app::view::Drill::Node(id) => app
                .cluster()
                .and_then(|c| c.nodes.get(id))
                .map(|n| format!("node {}", sanitize(&n.hostname))),
        };
        if let Some(w) = what {
            spans.push(Span::styled(
                format!("  › {w} (esc back)"),
                t.style(Role::Accent),
            ));
        }
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn footer(f: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    if let Some(input) = &app.ui.input {
        let prompt = match &input.kind {
            InputKind::Filter => "/".to_string(),
            InputKind::Command => ":".to_string(),
            InputKind::LogSearch => "search logs: ".to_string(),
            InputKind::DescribeSearch => "search: ".to_string(),
            InputKind::Prompt(PromptKind::Scale { target }) => {
                format!(
                    "scale {} to (replicas, enter to plan, esc to cancel): ",
                    sanitize(&target.name)
                )
            }
            InputKind::Prompt(PromptKind::Deploy { target }) => {
                format!(
                    "deploy to {} ([container=]image:tag or @digest): ",
                    sanitize(&target.name)
                )
            }
            InputKind::Prompt(PromptKind::AddNodes) => {
                "add nodes: how many instances to launch (enter to plan, esc to cancel): ".into()
            }
            InputKind::Prompt(PromptKind::RollbackTo { target, .. }) => {
                format!(
                    "roll {} back to revision (:diff {0} A B compares two): ",
                    sanitize(&target.name)
                )
            }
            InputKind::Prompt(PromptKind::Session {
                session,
                production,
            }) => {
                if *production {
                    format!(
                        "PRODUCTION · {} · type {} to open it: ",
                        sanitize(&session.cli),
                        sanitize(&session.name)
                    )
                } else {
                    format!("shell in {} (audited) · command: ", sanitize(&session.name))
                }
            }
            InputKind::Prompt(PromptKind::StackVar { args, var }) => {
                format!(
                    "stack {} · {} is not set and has no default · its value: ",
                    sanitize(args.first().map(String::as_str).unwrap_or("")),
                    sanitize(var)
                )
            }
            InputKind::Prompt(PromptKind::HookParam {
                hook,
                param,
                rule,
                secret,
                ..
            }) => {
                let rule = rule.as_deref().map(|r| format!(" {r}")).unwrap_or_default();
                let hidden = if *secret { ", hidden" } else { "" };
                format!(
                    "hook {} · {}{}{hidden}: ",
                    sanitize(hook),
                    sanitize(param),
                    sanitize(&rule)
                )
            }
            InputKind::Prompt(PromptKind::Annotate { ack, summary, .. }) => {
                let what = if *ack { "ack" } else { "note on" };
                format!("{what} {} · note: ", strip::fit(&sanitize(summary), 40))
            }
        };
        let mut lines = vec![Line::from(vec![
            Span::styled(prompt, t.style(Role::Accent)),
            Span::styled(shown_text(input), t.style(Role::Text)),
            Span::styled("▏", t.style(Role::Accent)),
        ])];
        if let Some(e) = &input.error {
            lines.push(Line::styled(
                format!("✗ {}", sanitize(e)),
                t.style(Role::Danger),
            ));
        } else if let InputKind::Prompt(PromptKind::RollbackTo {
            revisions, current, ..
        }) = &input.kind
        {
            let list: Vec<String> = revisions
                .iter()
                .map(|r| {
                    let mark = if r.number == *current {
                        " (current)"
                    } else {
                        ""
                    };
                    let mut s = format!(
                        "{}{mark} {}",
                        r.number,
                        super::widgets::short_image(&sanitize(&r.image), 40)
                    );
                    if let Some(c) = &r.cause {
                        s.push_str(&format!(" \"{}\"", sanitize(c)));
                    }
                    s
                })
                .collect();
            lines.push(Line::styled(
                format!("revisions: {}", list.join(" · ")),
                t.style(Role::Muted),
            ));
        } else if let (InputKind::Prompt(PromptKind::Deploy { .. }), Some((_, tags))) =
            (&input.kind, &app.tags)
            && !tags.is_empty()
        {
            let list: Vec<String> = tags.iter().map(|t| sanitize(t).into_owned()).collect();
            lines.push(Line::styled(
                format!("registry tags (tab): {}", list.join(" ")),
                t.style(Role::Muted),
            ));
        }
        f.render_widget(Paragraph::new(lines), area);
        return;
    }
    let mut spans = Vec::new();
    if let Some((msg, sev)) = &app.ui.status {
        let role = match sev {
            Severity::Info => Role::Info,
            Severity::Warn => Role::Warn,
            Severity::Critical => Role::Danger,
        };
        spans.push(Span::styled(format!("{} ", sanitize(msg)), t.style(role)));
        spans.push(Span::styled("│ ", t.style(Role::Muted)));
    }
    let hints = [
        Action::Help,
        Action::Filter,
        Action::Command,
        Action::Drill,
        Action::Scale,
        Action::Drain,
        Action::Deploy,
        Action::Rollback,
        Action::Quit,
    ];
    for a in hints {
        if a.is_mutating() && app.read_only_here() {
            continue;
        }
        if let Some(k) = app.keymap.hint(Mode::Normal, a) {
            spans.push(Span::styled(format!("{k} "), t.style(Role::Accent)));
            spans.push(Span::styled(
                format!("{}  ", a.name()),
                t.style(Role::Muted),
            ));
        }
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// What was typed, or a dot per character for a secret hook parameter.
fn shown_text(input: &crate::app::Input) -> String {
    match &input.kind {
        InputKind::Prompt(PromptKind::HookParam { secret: true, .. }) => {
            "•".repeat(input.text.chars().count())
        }
        _ => sanitize(&input.text).into_owned(),
    }
}
