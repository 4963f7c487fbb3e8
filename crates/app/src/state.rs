//! The `App`: the one owner of state (the store, the UI state, operations in flight) and the
//! two ways in: a key (`on_key`) and a backend message (`on_backend`). No terminal I/O here;
//! the shell's run loop feeds it and the ui layer draws it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;

use crate::backends::{BackendMsg, LogHandle};
use crate::config::LaunchConfig;
use crate::config::discovery::DiscoveredSource;
use crate::input::{Keymap, Mode, Pane};
use crate::logs::LogView;
use crate::model::Severity;
use crate::model::store::{ClusterState, Store};
use crate::operations::{FinishedOp, InflightOp};
use crate::ops::audit::AuditRecord;
use crate::ops::{Gate, OpId, PendingOp};
use crate::prompt::Input;
use crate::theme::Theme;
use crate::view::{Drill, SortSpec};

/// Audit records kept in memory for the pane.
pub(crate) const AUDIT_IN_MEMORY: usize = 2000;

// One modal exists at a time, so the size of its largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Modal {
    Confirm {
        pending: PendingOp,
        typed: String,
        /// Why, or the ticket it answers; recorded in the intent.
        reason: String,
        /// Typing goes to the reason (else to the typed confirmation).
        on_reason: bool,
        /// Cancel is the default button.
        on_confirm: bool,
        error: Option<String>,
    },
    Help {
        scroll: u16,
    },
    /// The Stacks view, its selected row.
    Stacks {
        selected: usize,
    },
    Message {
        title: String,
        body: String,
        severity: Severity,
    },
    QuitConfirm {
        on_quit: bool,
    },
    /// The log view (its lines live in `App::logs`).
    Logs,
    /// The describe view (its object lives in `App::describe`).
    Describe,
    /// Everything known about one EC2 instance, live from the store.
    Instance {
        id: String,
    },
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct UiState {
    pub pane: Pane,
    pub context: usize,
    pub selected: HashMap<Pane, usize>,
    pub drill: Option<Drill>,
    pub back: Vec<(Pane, Option<Drill>)>,
    pub filters: HashMap<Pane, String>,
    pub sort: HashMap<Pane, SortSpec>,
    pub history: bool,
    pub input: Option<Input>,
    pub modal: Option<Modal>,
    pub status: Option<(String, Severity)>,
    /// Where "next problem" goes next (an index into the problems, wrapping).
    pub next_problem: usize,
}

impl UiState {
    pub fn selected(&self, pane: Pane) -> usize {
        self.selected.get(&pane).copied().unwrap_or(0)
    }
    pub fn filter(&self, pane: Pane) -> &str {
        self.filters.get(&pane).map_or("", String::as_str)
    }
    pub fn sort(&self, pane: Pane) -> SortSpec {
        self.sort.get(&pane).copied().unwrap_or_default()
    }
}

/// How the console was started; fixed for its life.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    pub read_only: bool,
    /// `--wall`: panes show no selection; the wall's own key handler drives the app.
    pub wall: bool,
    pub demo: bool,
    pub no_color: bool,
    pub user_themes: Option<PathBuf>,
    pub operator: String,
}

pub struct App {
    pub store: Store,
    pub ui: UiState,
    pub gate: Gate,
    pub keymap: Keymap,
    pub theme: Theme,
    pub settings: Settings,
    pub sources: Vec<DiscoveredSource>,
    pub inflight: BTreeMap<OpId, InflightOp>,
    pub finished: VecDeque<FinishedOp>,
    pub audit: Vec<AuditRecord>,
    /// Operations earlier consoles left with their result unknown (newest first).
    pub unsettled: Vec<AuditRecord>,
    /// Log followers, one per context and source that has one (independent of the executor).
    pub log_handles: Vec<LogHandle>,
    /// Readers of single objects (the describe view), one per context and source that has one.
    pub readers: Vec<crate::backends::ReadHandle>,
    /// Samplers of CPU and memory, one per context and source that has one; told what is on
    /// screen once a second.
    pub usage_handles: Vec<crate::backends::UsageHandle>,
    pub describe: crate::describe::DescribeView,
    /// What "add node" launches, per context (`aws.launch`).
    pub launch: HashMap<String, LaunchConfig>,
    /// How shells and ssh sessions are opened (`x`).
    pub sessions: crate::session::SessionSettings,
    /// A session whose intent is audited, for the run loop to hand the terminal to.
    pub session: Option<crate::session::OpenSession>,
    pub session_running: bool,
    pub logs: LogView,
    pub jobs: crate::jobs::Jobs,
    /// Hooks and stacks from the config.
    pub pipelines: crate::stacks::Pipelines,
    /// Where background lookups (registry tags) report back: the run loop's channel.
    pub self_tx: Option<tokio::sync::mpsc::Sender<BackendMsg>>,
    /// Tags offered for the image in the deploy prompt: (repository, tags).
    pub tags: Option<(String, Vec<String>)>,
    /// Size of the live log when `audit` was last read, to notice other consoles' records.
    pub(crate) audit_len: u64,
    /// Why audit records are not reaching syslog, while that lasts.
    pub audit_unshipped: Option<crate::ops::audit::ship::ShipFailure>,
    /// The one incident engine (the wall's too).
    pub incidents: crate::incidents::Incidents,
    /// The shared incident timeline, where one is configured and could be opened.
    pub timeline: Option<crate::timeline::Timeline>,
    pub notifier: Option<crate::notify::Notifier>,
    /// Ring the bell on a new critical incident.
    pub bell_on_critical: bool,
    /// A bell is due (the run loop rings it).
    pub(crate) bell: bool,
    /// Incident keys open by the host's timeline (recorded by any console or the wall).
    pub(crate) known_open: std::collections::HashSet<String>,
    /// When an action needs a reason (`[actions] reason`).
    pub reason_policy: ReasonPolicy,
    pub should_quit: bool,
}

/// Whether an action's confirmation needs a reason or ticket reference.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReasonPolicy {
    /// Offered, never required.
    #[default]
    Optional,
    /// Required on contexts marked `production`.
    Production,
    /// Required everywhere.
    Always,
}

impl ReasonPolicy {
    pub fn parse(s: &str) -> Option<ReasonPolicy> {
        match s {
            "optional" => Some(ReasonPolicy::Optional),
            "production" => Some(ReasonPolicy::Production),
            "always" => Some(ReasonPolicy::Always),
            _ => None,
        }
    }
    pub fn requires(self, production: bool) -> bool {
        match self {
            ReasonPolicy::Optional => false,
            ReasonPolicy::Production => production,
            ReasonPolicy::Always => true,
        }
    }
}

impl App {
    pub fn new(gate: Gate, keymap: Keymap, theme: Theme, settings: Settings) -> App {
        let mut gate = gate;
        // Close the books of consoles that died mid-action before showing the log.
        let recovered = gate.recover_abandoned();
        let audit = gate
            .audit_log()
            .and_then(|l| l.read_tail(AUDIT_IN_MEMORY).ok())
            .unwrap_or_default();
        let unsettled = crate::unsettled::unsettled(&audit, chrono::Utc::now());
        let status = if !recovered.is_empty() {
            Some((
                format!(
                    "{} action(s) of an earlier console were left without an outcome: recorded as abandoned (overview, pane 7)",
                    recovered.len()
                ),
                Severity::Warn,
            ))
        } else {
            (!unsettled.is_empty()).then(|| {
                (
                    format!(
                        "{} action(s) of an earlier console ended with their result unknown: the overview shows them as they are now",
                        unsettled.len()
                    ),
                    Severity::Warn,
                )
            })
        };
        App {
            store: Store::default(),
            ui: UiState {
                status,
                ..UiState::default()
            },
            gate,
            keymap,
            theme,
            settings,
            sources: Vec::new(),
            inflight: BTreeMap::new(),
            finished: VecDeque::new(),
            audit,
            unsettled,
            audit_len: 0,
            audit_unshipped: None,
            self_tx: None,
            tags: None,
            log_handles: Vec::new(),
            readers: Vec::new(),
            usage_handles: Vec::new(),
            describe: crate::describe::DescribeView::default(),
            launch: HashMap::new(),
            sessions: Default::default(),
            session: None,
            session_running: false,
            logs: LogView::default(),
            jobs: Default::default(),
            pipelines: Default::default(),
            incidents: crate::incidents::Incidents::default(),
            timeline: None,
            notifier: None,
            bell_on_critical: true,
            bell: false,
            known_open: std::collections::HashSet::new(),
            reason_policy: ReasonPolicy::Optional,
            should_quit: false,
        }
    }

    /// Re-reads the audit tail if the log grew (another console on this host acted, or a
    /// rotation happened). Returns whether the pane changed.
    pub fn refresh_audit(&mut self) -> bool {
        let Some(log) = self.gate.audit_log() else {
            return false;
        };
        let unshipped = if self.gate.ships() {
            crate::ops::audit::ship::failure(log.path())
        } else {
            None
        };
        let shipping_changed = unshipped != self.audit_unshipped;
        self.audit_unshipped = unshipped;
        let len = std::fs::metadata(log.path()).map_or(0, |m| m.len());
        if len == self.audit_len {
            return shipping_changed;
        }
        self.audit_len = len;
        match log.read_tail(AUDIT_IN_MEMORY) {
            Ok(recs) if recs != self.audit => {
                self.audit = recs;
                true
            }
            _ => false,
        }
    }

    pub fn cluster(&self) -> Option<&ClusterState> {
        self.store
            .clusters
            .get(self.ui.context)
            .or(self.store.clusters.first())
    }

    /// Actions are refused here: `--read-only` / `--wall`, or a context marked `read_only`.
    pub fn read_only_here(&self) -> bool {
        self.gate.is_read_only() || self.cluster().is_some_and(|c| c.read_only)
    }

    pub fn cluster_name(&self) -> String {
        self.cluster()
            .map_or_else(|| "none".into(), |c| c.name.clone())
    }

    pub(crate) fn status(&mut self, msg: impl Into<String>, sev: Severity) {
        self.ui.status = Some((msg.into(), sev));
    }

    /// Applies a backend message; returns whether a redraw is needed.
    pub fn on_backend(&mut self, msg: BackendMsg) -> bool {
        match msg {
            BackendMsg::Op(u) => self.on_op_update(u),
            BackendMsg::Logs {
                cluster,
                lines,
                ended,
            } => self.on_log_lines(&cluster, lines, ended),
            BackendMsg::Described {
                cluster, id, json, ..
            } => self.on_described(&cluster, &id, json),
            BackendMsg::Output {
                job,
                lines,
                ended,
                after,
            } => self.on_output(job, lines, ended, after),
            BackendMsg::Tags { image, tags } => {
                let (repo, _, _) = crate::ops::parse_image_ref(&image);
                self.tags = Some((repo, tags));
                true
            }
            BackendMsg::Changes {
                cluster,
                source,
                at,
                mut changes,
            } => {
                self.attribute_events(&cluster, &mut changes);
                self.record_events(&cluster, &changes);
                self.store.apply(BackendMsg::Changes {
                    cluster,
                    source,
                    at,
                    changes,
                })
            }
            other => self.store.apply(other),
        }
    }

    /// The current mode for key lookup.
    pub fn mode(&self) -> Mode {
        match self.ui.modal {
            Some(Modal::Help { .. })
            | Some(Modal::Logs)
            | Some(Modal::Describe)
            | Some(Modal::Stacks { .. }) => Mode::Help,
            Some(Modal::Confirm { .. }) | Some(Modal::QuitConfirm { .. }) => Mode::Confirm,
            _ => Mode::Normal,
        }
    }

    pub fn set_theme(&mut self, name: &str) -> Result<(), String> {
        let t = Theme::load(
            name,
            self.settings.user_themes.as_deref(),
            self.settings.no_color,
        )
        .map_err(|e| e.to_string())?;
        self.theme = t;
        self.ui.input = None;
        self.status(format!("theme {name}"), Severity::Info);
        Ok(())
    }
}
