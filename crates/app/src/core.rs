//! The application: one owner of state (the store, the UI state, operations in flight) and a
//! pure-ish `update` from keys and backend messages to new state. No terminal I/O here; the run
//! loop in `run.rs` feeds it and draws.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::PathBuf;
use std::time::Instant;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::backends::{BackendMsg, OpUpdate};
use crate::config::discovery::DiscoveredSource;
use crate::input::Pane;
use crate::input::{Action, KeyChord, Keymap, Mode};
use crate::model::{Availability, Severity, SourceKind, Time};
use crate::ops::audit::AuditRecord;
use crate::ops::{Gate, InstanceAction, OpId, OpRequest, PendingOp};
use crate::theme::Theme;

use crate::command::{self, Command};
use crate::model::store::{self, Store};
use crate::view::{self, Drill, SortSpec};

/// Audit records kept in memory for the pane.
const AUDIT_IN_MEMORY: usize = 2000;
/// Events this long after an operation settled are still attributed to it.
const ATTRIBUTION_SECS: i64 = 10;
/// Finished operations listed on the overview.
const FINISHED_KEPT: usize = 8;

#[derive(Clone, Debug, PartialEq)]
pub enum PromptKind {
    Scale {
        service: String,
    },
    Deploy {
        service: String,
    },
    /// How many instances "add node" launches.
    AddNodes,
}

#[derive(Clone, Debug, PartialEq)]
pub enum InputKind {
    Filter,
    /// Search inside the log view.
    LogSearch,
    Command,
    Prompt(PromptKind),
}

/// A one-line text input at the bottom (filter, `:` command, or an action's prompt).
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    pub kind: InputKind,
    pub text: String,
    /// Shown under the input; the text is kept so nothing typed is lost.
    pub error: Option<String>,
}

// One modal exists at a time, so the size of its largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Modal {
    Confirm {
        pending: PendingOp,
        typed: String,
        /// Cancel is the default button.
        on_confirm: bool,
        error: Option<String>,
    },
    Help {
        scroll: u16,
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
    /// Everything known about one EC2 instance, live from the store.
    Instance {
        id: String,
    },
}

/// Lines kept by the log view; older ones fall off so a chatty service never grows memory.
pub const LOG_LINES: usize = 5000;

/// A followed log: a bounded ring of sanitised lines, a search, a scroll position.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogView {
    pub title: String,
    pub lines: VecDeque<String>,
    pub search: String,
    /// Lines scrolled up from the newest; 0 follows the tail.
    pub scroll: usize,
    pub ended: Option<String>,
    /// Lines dropped from the front of the ring.
    pub dropped: u64,
}

impl LogView {
    pub fn push(&mut self, lines: Vec<String>) {
        for l in lines {
            if self.lines.len() == LOG_LINES {
                self.lines.pop_front();
                self.dropped += 1;
            }
            self.lines
                .push_back(crate::model::sanitize::sanitize(&l).into_owned());
        }
    }

    /// The lines shown: all, or those containing the search (case-insensitive).
    pub fn visible(&self) -> Vec<&str> {
        let s = self.search.to_ascii_lowercase();
        self.lines
            .iter()
            .filter(|l| s.is_empty() || l.to_ascii_lowercase().contains(&s))
            .map(String::as_str)
            .collect()
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct InflightOp {
    pub request: OpRequest,
    pub started: Instant,
    pub started_at: Time,
    pub progress: Option<(u32, u32)>,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FinishedOp {
    pub request: OpRequest,
    pub at: Time,
    pub result: Result<String, String>,
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
    /// `--wall`: panes show no selection; the wall's own loop drives the app.
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
    /// Log followers, one per context that has one (independent of the executor).
    pub log_handles: Vec<crate::backends::LogHandle>,
    /// What "add node" launches, per context (`aws.launch`).
    pub launch: HashMap<String, crate::config::LaunchConfig>,
    pub logs: LogView,
    /// Where background lookups (registry tags) report back: the run loop's channel.
    pub self_tx: Option<tokio::sync::mpsc::Sender<BackendMsg>>,
    /// Tags offered for the image in the deploy prompt: (repository, tags).
    pub tags: Option<(String, Vec<String>)>,
    /// Size of the live log when `audit` was last read, to notice other consoles' records.
    audit_len: u64,
    pub should_quit: bool,
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
        let status = (!recovered.is_empty()).then(|| {
            (
                format!(
                    "{} action(s) of an earlier console were left without an outcome: recorded as abandoned (pane 7)",
                    recovered.len()
                ),
                Severity::Warn,
            )
        });
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
            audit_len: 0,
            self_tx: None,
            tags: None,
            log_handles: Vec::new(),
            launch: HashMap::new(),
            logs: LogView::default(),
            should_quit: false,
        }
    }

    /// Re-reads the audit tail if the log grew (another console on this host acted, or a
    /// rotation happened). Returns whether the pane changed.
    pub fn refresh_audit(&mut self) -> bool {
        let Some(log) = self.gate.audit_log() else {
            return false;
        };
        let len = std::fs::metadata(log.path()).map_or(0, |m| m.len());
        if len == self.audit_len {
            return false;
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

    pub fn cluster(&self) -> Option<&store::ClusterState> {
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

    fn status(&mut self, msg: impl Into<String>, sev: Severity) {
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
            } => {
                if cluster != self.cluster_name() || !matches!(self.ui.modal, Some(Modal::Logs)) {
                    return false;
                }
                self.logs.push(lines);
                if ended.is_some() {
                    self.logs.ended = ended;
                }
                true
            }
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

    /// Engine events about a target this console is changing (or just changed) are this
    /// console's; everything else stays external, so the timeline shows who did what.
    fn attribute_events(&self, cluster: &str, changes: &mut [crate::backends::Change]) {
        let recent = chrono::Utc::now() - chrono::Duration::seconds(ATTRIBUTION_SECS);
        let ours = |target: &str| {
            self.inflight
                .values()
                .map(|o| &o.request)
                .chain(
                    self.finished
                        .iter()
                        .filter(|f| f.at >= recent)
                        .map(|f| &f.request),
                )
                .any(|r| r.cluster() == cluster && r.target() == target)
        };
        for c in changes.iter_mut() {
            if let crate::backends::Change::Event(e) = c
                && e.origin == crate::model::Origin::External
                && ours(&e.target)
            {
                e.origin = crate::model::Origin::Console;
            }
        }
    }

    fn on_op_update(&mut self, u: OpUpdate) -> bool {
        let Some(op) = self.inflight.get_mut(&u.op_id) else {
            return false;
        };
        match u.outcome {
            None => {
                let changed = op.progress != u.progress || op.message != u.message;
                op.progress = u.progress;
                op.message = u.message;
                changed
            }
            Some(result) => {
                let Some(op) = self.inflight.remove(&u.op_id) else {
                    return false;
                };
                let elapsed = op.started.elapsed();
                match self.gate.outcome(&u.op_id, &op.request, &result, elapsed) {
                    Ok(rec) => self.push_audit(rec),
                    Err(e) => self.status(e, Severity::Critical),
                }
                let (msg, sev) = match &result {
                    Ok(m) => (
                        format!("✓ {} {}: {m}", op.request.verb(), op.request.target()),
                        Severity::Info,
                    ),
                    Err(m) => (
                        format!(
                            "✗ {} {} failed: {m}",
                            op.request.verb(),
                            op.request.target()
                        ),
                        Severity::Critical,
                    ),
                };
                self.status(msg, sev);
                self.finished.push_front(FinishedOp {
                    request: op.request,
                    at: chrono::Utc::now(),
                    result,
                });
                self.finished.truncate(FINISHED_KEPT);
                true
            }
        }
    }

    fn push_audit(&mut self, rec: AuditRecord) {
        self.audit.push(rec);
        if self.audit.len() > AUDIT_IN_MEMORY {
            self.audit.remove(0);
        }
    }

    /// Number of rows the focused pane lists (for moving the selection).
    pub fn row_count(&self, pane: Pane) -> usize {
        let Some(c) = self.cluster() else { return 0 };
        let f = self.ui.filter(pane);
        let s = self.ui.sort(pane);
        match pane {
            Pane::Nodes => view::node_rows(c, f, s).len(),
            Pane::Services => view::service_rows(c, f, s).len(),
            Pane::Replicas => {
                view::replica_window(c, self.ui.drill.as_ref(), self.ui.history, f, s, |_| (0, 0)).0
            }
            Pane::Instances => view::instance_rows(c, f, s).len(),
            Pane::Events => view::event_rows(c, f).len(),
            Pane::Audit => view::audit_rows(&self.audit, f, chrono::Utc::now()).len(),
            Pane::Quorum => c.etcd.len(),
            Pane::Overview => 0,
        }
    }

    /// The replica under the cursor in the replicas pane.
    fn selected_replica(&self) -> Option<&crate::model::Replica> {
        let c = self.cluster()?;
        let sel = self.ui.selected(Pane::Replicas);
        let (_, _, rows) = view::replica_window(
            c,
            self.ui.drill.as_ref(),
            self.ui.history,
            self.ui.filter(Pane::Replicas),
            self.ui.sort(Pane::Replicas),
            |_| (sel, 1),
        );
        rows.first().copied()
    }

    pub fn selected_service(&self) -> Option<String> {
        let c = self.cluster()?;
        match self.ui.pane {
            Pane::Services => {
                let rows = view::service_rows(
                    c,
                    self.ui.filter(Pane::Services),
                    self.ui.sort(Pane::Services),
                );
                rows.get(self.ui.selected(Pane::Services))
                    .map(|w| w.name.clone())
            }
            Pane::Replicas => self
                .selected_replica()
                .and_then(|r| c.workloads.get(&r.workload_id))
                .map(|w| w.name.clone()),
            _ => None,
        }
    }

    pub fn selected_node(&self) -> Option<String> {
        let c = self.cluster()?;
        match self.ui.pane {
            Pane::Nodes => {
                let rows =
                    view::node_rows(c, self.ui.filter(Pane::Nodes), self.ui.sort(Pane::Nodes));
                rows.get(self.ui.selected(Pane::Nodes))
                    .map(|n| n.hostname.clone())
            }
            Pane::Replicas => self
                .selected_replica()
                .and_then(|r| r.node_id.as_ref())
                .and_then(|n| c.nodes.get(n))
                .map(|n| n.hostname.clone()),
            _ => None,
        }
    }

    /// The instance under the cursor: in the instances pane, or the selected node's.
    pub fn selected_instance(&self) -> Option<String> {
        let c = self.cluster()?;
        match self.ui.pane {
            Pane::Instances => view::instance_rows(
                c,
                self.ui.filter(Pane::Instances),
                self.ui.sort(Pane::Instances),
            )
            .get(self.ui.selected(Pane::Instances))
            .map(|i| i.id.clone()),
            Pane::Nodes => {
                let rows =
                    view::node_rows(c, self.ui.filter(Pane::Nodes), self.ui.sort(Pane::Nodes));
                rows.get(self.ui.selected(Pane::Nodes))
                    .and_then(|n| n.instance_id.clone())
            }
            _ => None,
        }
    }

    /// The current mode for key lookup.
    pub fn mode(&self) -> Mode {
        match self.ui.modal {
            Some(Modal::Help { .. }) | Some(Modal::Logs) => Mode::Help,
            Some(Modal::Confirm { .. }) | Some(Modal::QuitConfirm { .. }) => Mode::Confirm,
            _ => Mode::Normal,
        }
    }

    /// Handles one key press; returns whether a redraw is needed.
    pub fn on_key(&mut self, ev: KeyEvent) -> bool {
        // ctrl-c always gets out, through the same quit path as `q`.
        if ev.code == KeyCode::Char('c') && ev.modifiers.contains(KeyModifiers::CONTROL) {
            self.request_quit(false);
            return true;
        }
        if self.ui.input.is_some() {
            self.on_input_key(ev);
            return true;
        }
        if let Some(Modal::Message { .. } | Modal::Instance { .. }) = self.ui.modal {
            self.ui.modal = None;
            return true;
        }
        let Some(chord) = KeyChord::from_event(&ev) else {
            return false;
        };
        // Typed confirmation takes printable keys as text.
        if let Some(Modal::Confirm {
            pending,
            typed,
            error,
            ..
        }) = &mut self.ui.modal
            && pending.plan().confirm_text.is_some()
        {
            match ev.code {
                KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => {
                    typed.push(c);
                    *error = None;
                    return true;
                }
                KeyCode::Backspace => {
                    typed.pop();
                    return true;
                }
                _ => {}
            }
        }
        if matches!(self.ui.modal, Some(Modal::Logs))
            && self.keymap.action(Mode::Normal, chord) == Some(Action::Filter)
        {
            self.ui.input = Some(Input {
                kind: InputKind::LogSearch,
                text: self.logs.search.clone(),
                error: None,
            });
            return true;
        }
        let mode = self.mode();
        match self.keymap.action(mode, chord) {
            Some(a) => {
                self.dispatch(a);
                true
            }
            None => false,
        }
    }

    fn on_input_key(&mut self, ev: KeyEvent) {
        let Some(input) = self.ui.input.as_mut() else {
            return;
        };
        match ev.code {
            KeyCode::Esc => {
                match input.kind {
                    InputKind::Filter => {
                        self.ui.filters.remove(&self.ui.pane);
                    }
                    InputKind::LogSearch => self.logs.search.clear(),
                    _ => {}
                }
                self.ui.input = None;
            }
            KeyCode::Enter => {
                let input = input.clone();
                self.submit_input(input);
            }
            KeyCode::Tab if matches!(input.kind, InputKind::Prompt(PromptKind::Deploy { .. })) => {
                self.next_tag();
            }
            KeyCode::Backspace => {
                input.text.pop();
                input.error = None;
                self.text_changed();
            }
            KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => {
                input.text.push(c);
                input.error = None;
                self.text_changed();
            }
            _ => {}
        }
    }

    /// Asks the image's registry for its tags in the background; the answer arrives as
    /// `BackendMsg::Tags` through the run loop.
    fn fetch_tags(&mut self, image: &str) {
        self.tags = None;
        let (Some(tx), Ok(rt)) = (self.self_tx.clone(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let image = image.to_string();
        rt.spawn(async move {
            let img = image.clone();
            if let Ok(Ok(tags)) =
                tokio::task::spawn_blocking(move || crate::backends::registry::fetch_tags(&img))
                    .await
            {
                let _ = tx.send(BackendMsg::Tags { image, tags }).await;
            }
        });
    }

    /// Tab in the deploy prompt: the next tag the registry offers, keeping the repository.
    fn next_tag(&mut self) {
        let Some((repo, tags)) = &self.tags else {
            return;
        };
        let Some(input) = self.ui.input.as_mut() else {
            return;
        };
        if tags.is_empty() {
            return;
        }
        let (container, image) = crate::ops::split_container(&input.text);
        let prefix = container.map(|c| format!("{c}=")).unwrap_or_default();
        let (cur_repo, cur_tag, _) = crate::ops::parse_image_ref(image);
        let repo = if cur_repo.is_empty() {
            repo.clone()
        } else {
            cur_repo
        };
        let next = match cur_tag.and_then(|t| tags.iter().position(|x| *x == t)) {
            Some(i) => &tags[(i + 1) % tags.len()],
            None => &tags[0],
        };
        input.text = format!("{prefix}{repo}:{next}");
        input.error = None;
    }

    /// Follows the logs of the selected task or pod (replicas pane) or service / workload.
    fn open_logs(&mut self) {
        let cluster = self.cluster_name();
        let task = (self.ui.pane == Pane::Replicas)
            .then(|| self.selected_replica().map(|r| r.id.clone()))
            .flatten();
        let name = self.selected_service();
        let id = name
            .as_ref()
            .and_then(|n| self.cluster()?.workload_by_name(n))
            .map(|w| w.id.clone());
        // Kubernetes objects are followed by id (a bare pod has no workload); Swarm by name.
        let kube = task
            .as_deref()
            .or(id.as_deref())
            .is_some_and(|t| crate::ops::kube_target(t).is_some());
        let source = if kube {
            SourceKind::Kubernetes
        } else {
            SourceKind::Swarm
        };
        let Some(h) = self
            .log_handles
            .iter()
            .find(|h| h.cluster == cluster && h.source == source)
            .cloned()
        else {
            self.status("logs are not available for this source", Severity::Warn);
            return;
        };
        let (service, title) = match (kube, &task, name) {
            (true, Some(t), _) => (
                id.unwrap_or_default(),
                format!("pod {}", t.strip_prefix("pod/").unwrap_or(t)),
            ),
            (true, None, Some(n)) => (id.unwrap_or_default(), format!("pods of {n}")),
            (false, Some(t), Some(n)) => (
                n.clone(),
                format!("task {} of {n}", t.get(..12).unwrap_or(t)),
            ),
            (false, None, Some(n)) => (n.clone(), format!("service {n}")),
            (_, _, None) => {
                self.status("select a service or a task first", Severity::Warn);
                return;
            }
        };
        if h.tx
            .try_send(crate::backends::LogCommand::Follow { service, task })
            .is_err()
        {
            self.status("the log follower is busy; try again", Severity::Warn);
            return;
        }
        self.logs = LogView {
            title,
            ..LogView::default()
        };
        self.ui.modal = Some(Modal::Logs);
    }

    fn close_logs(&mut self) {
        let cluster = self.cluster_name();
        for h in self.log_handles.iter().filter(|h| h.cluster == cluster) {
            let _ = h.tx.try_send(crate::backends::LogCommand::Stop);
        }
        self.ui.modal = None;
        self.logs = LogView::default();
    }

    /// Inputs that act as you type: the pane filter and the log search.
    fn text_changed(&mut self) {
        let Some(input) = &self.ui.input else { return };
        let text = input.text.clone();
        match input.kind {
            InputKind::Filter => self.set_filter(text),
            InputKind::LogSearch => {
                self.logs.search = text;
                self.logs.scroll = 0;
            }
            _ => {}
        }
    }

    fn set_filter(&mut self, text: String) {
        self.ui.filters.insert(self.ui.pane, text);
        self.ui.selected.insert(self.ui.pane, 0);
    }

    fn submit_input(&mut self, input: Input) {
        let result = match &input.kind {
            InputKind::Filter | InputKind::LogSearch => {
                self.ui.input = None;
                return;
            }
            InputKind::Command => command::parse(&input.text).and_then(|c| self.run_command(c)),
            InputKind::Prompt(PromptKind::Scale { service }) => {
                command::parse_replicas(&input.text).and_then(|n| {
                    self.begin_op(OpRequest::Scale {
                        cluster: self.cluster_name(),
                        service: service.clone(),
                        replicas: n,
                    })
                })
            }
            InputKind::Prompt(PromptKind::AddNodes) => {
                command::parse_count(&input.text, crate::ops::MAX_LAUNCH)
                    .and_then(|count| self.run_command(Command::AddNodes { count }))
            }
            InputKind::Prompt(PromptKind::Deploy { service }) => {
                let image = input.text.trim().to_string();
                if image.is_empty() {
                    Err("enter an image with an explicit tag or digest".into())
                } else {
                    self.begin_op(OpRequest::Deploy {
                        cluster: self.cluster_name(),
                        service: service.clone(),
                        image,
                    })
                }
            }
        };
        match result {
            Ok(()) => {
                if self.ui.input.as_ref() == Some(&input) {
                    self.ui.input = None;
                }
            }
            // Keep what was typed; show why it was not accepted.
            Err(e) => {
                if let Some(i) = self.ui.input.as_mut() {
                    i.error = Some(e);
                }
            }
        }
    }

    fn run_command(&mut self, c: Command) -> Result<(), String> {
        let cluster = self.cluster_name();
        match c {
            Command::Quit { force } => {
                self.ui.input = None;
                self.request_quit(force);
                Ok(())
            }
            Command::Scale { service, replicas } => self.begin_op(OpRequest::Scale {
                cluster,
                service,
                replicas,
            }),
            Command::Availability { node, availability } => {
                self.begin_op(OpRequest::SetAvailability {
                    cluster,
                    node,
                    availability,
                })
            }
            Command::Rollback { service } => self.begin_op(OpRequest::Rollback {
                cluster,
                service,
                from_revision: None,
            }),
            Command::Deploy { service, image } => self.begin_op(OpRequest::Deploy {
                cluster,
                service,
                image,
            }),
            Command::Restart { service } => self.begin_op(OpRequest::Restart { cluster, service }),
            Command::Role { node, role } => self.begin_op(OpRequest::SetRole {
                cluster,
                node,
                role,
            }),
            Command::Instance { instance, action } => self.begin_op(OpRequest::Instance {
                cluster,
                instance,
                action,
            }),
            Command::AddNodes { count } => {
                let launch =
                    self.launch.get(&cluster).cloned().ok_or_else(|| {
                        format!("context {cluster} has no aws.launch in config.toml")
                    })?;
                self.begin_op(OpRequest::AddNodes {
                    cluster,
                    count,
                    launch,
                })
            }
            Command::Theme(name) => self.set_theme(&name),
            Command::Pane(p) => {
                self.ui.input = None;
                self.go_pane(p);
                Ok(())
            }
            Command::Context(name) => match self.store.clusters.iter().position(|c| c.name == name)
            {
                Some(i) => {
                    self.ui.context = i;
                    self.ui.input = None;
                    Ok(())
                }
                None => Err(format!("no context named {name}")),
            },
            Command::Help => {
                self.ui.input = None;
                self.ui.modal = Some(Modal::Help { scroll: 0 });
                Ok(())
            }
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

    /// Called once when the console exits: operations still in flight get an `abandoned`
    /// outcome now rather than at the next start.
    pub fn shutdown(&mut self) {
        let ops = std::mem::take(&mut self.inflight);
        for (id, op) in ops {
            let _ = self.gate.abandon(&id, &op.request, op.started.elapsed());
        }
    }

    fn request_quit(&mut self, force: bool) {
        if force || self.inflight.is_empty() {
            self.should_quit = true;
        } else {
            self.ui.modal = Some(Modal::QuitConfirm { on_quit: false });
        }
    }

    fn in_flight_list(&self) -> Vec<(OpRequest, String)> {
        self.inflight
            .values()
            .map(|o| (o.request.clone(), self.settings.operator.clone()))
            .collect()
    }

    /// Read-only check and plan; on success the confirm modal holds the pending op.
    pub fn begin_op(&mut self, req: OpRequest) -> Result<(), String> {
        let in_flight = self.in_flight_list();
        let cluster = self.store.cluster(req.cluster());
        match self.gate.check(req, cluster, &in_flight) {
            Ok(pending) => {
                self.ui.input = None;
                self.ui.modal = Some(Modal::Confirm {
                    pending,
                    typed: String::new(),
                    on_confirm: false,
                    error: None,
                });
                Ok(())
            }
            Err(reason) => {
                // Refusals of a prompt stay in the prompt; others pop up.
                if self.ui.input.is_none() {
                    self.refuse(reason.clone());
                }
                Err(reason)
            }
        }
    }

    fn refuse(&mut self, reason: String) {
        self.ui.modal = Some(Modal::Message {
            title: "Refused".into(),
            body: reason,
            severity: Severity::Critical,
        });
    }

    fn confirm_pressed(&mut self) {
        let Some(modal) = self.ui.modal.take() else {
            return;
        };
        match modal {
            Modal::Confirm {
                pending,
                typed,
                on_confirm,
                ..
            } => {
                if !on_confirm {
                    self.status("cancelled", Severity::Info);
                    return;
                }
                match pending.confirm(&typed) {
                    Err(refused) => {
                        let (pending, msg) = *refused;
                        self.ui.modal = Some(Modal::Confirm {
                            pending,
                            typed,
                            on_confirm,
                            error: Some(msg),
                        });
                    }
                    Ok(confirmed) => match self.gate.release(confirmed) {
                        Ok(rel) => {
                            let msg =
                                format!("{} {} started", rel.request.verb(), rel.request.target());
                            self.push_audit(rel.intent);
                            self.inflight.insert(
                                rel.op_id,
                                InflightOp {
                                    request: rel.request,
                                    started: Instant::now(),
                                    started_at: chrono::Utc::now(),
                                    progress: None,
                                    message: String::new(),
                                },
                            );
                            self.status(msg, Severity::Info);
                        }
                        Err(reason) => self.refuse(reason),
                    },
                }
            }
            Modal::QuitConfirm { on_quit } => {
                if on_quit {
                    self.should_quit = true;
                }
            }
            other => self.ui.modal = Some(other),
        }
    }

    pub fn go_pane(&mut self, p: Pane) {
        if p != Pane::Replicas {
            self.ui.drill = None;
        }
        self.ui.pane = p;
    }

    fn move_selection(&mut self, delta: isize) {
        let pane = self.ui.pane;
        let n = self.row_count(pane);
        if n == 0 {
            return;
        }
        let cur = self.ui.selected(pane) as isize;
        let next = (cur + delta).clamp(0, n as isize - 1) as usize;
        self.ui.selected.insert(pane, next);
    }

    pub fn dispatch(&mut self, a: Action) {
        if a.is_mutating() && self.read_only_here() {
            let why = if self.gate.is_read_only() {
                "read-only mode".to_string()
            } else {
                format!("context {} is read-only (config)", self.cluster_name())
            };
            self.refuse(format!("{why}: {} is not available", a.name()));
            return;
        }
        match self.mode() {
            Mode::Help if matches!(self.ui.modal, Some(Modal::Logs)) => {
                let n = self.logs.visible().len();
                match a {
                    Action::Up => self.logs.scroll = (self.logs.scroll + 1).min(n),
                    Action::Down => self.logs.scroll = self.logs.scroll.saturating_sub(1),
                    Action::PageUp => self.logs.scroll = (self.logs.scroll + 20).min(n),
                    Action::PageDown => self.logs.scroll = self.logs.scroll.saturating_sub(20),
                    Action::Back => self.close_logs(),
                    _ => {}
                }
                return;
            }
            Mode::Help => {
                if let Some(Modal::Help { scroll }) = &mut self.ui.modal {
                    match a {
                        Action::Up => *scroll = scroll.saturating_sub(1),
                        Action::Down => *scroll = scroll.saturating_add(1),
                        Action::PageUp => *scroll = scroll.saturating_sub(10),
                        Action::PageDown => *scroll = scroll.saturating_add(10),
                        Action::Back => self.ui.modal = None,
                        _ => {}
                    }
                }
                return;
            }
            Mode::Confirm => {
                match a {
                    Action::Cancel => {
                        self.ui.modal = None;
                        self.status("cancelled", Severity::Info);
                    }
                    Action::SwitchButton => match &mut self.ui.modal {
                        Some(Modal::Confirm { on_confirm, .. }) => *on_confirm = !*on_confirm,
                        Some(Modal::QuitConfirm { on_quit }) => *on_quit = !*on_quit,
                        _ => {}
                    },
                    Action::Confirm => self.confirm_pressed(),
                    _ => {}
                }
                return;
            }
            Mode::Normal | Mode::Wall => {}
        }
        let page = 10;
        match a {
            Action::Up => self.move_selection(-1),
            Action::Down => self.move_selection(1),
            Action::PageUp => self.move_selection(-page),
            Action::PageDown => self.move_selection(page),
            Action::Top => {
                self.ui.selected.insert(self.ui.pane, 0);
            }
            Action::Bottom => {
                let n = self.row_count(self.ui.pane);
                self.ui.selected.insert(self.ui.pane, n.saturating_sub(1));
            }
            Action::NextPane | Action::PrevPane => {
                let all = Pane::ALL;
                let i = all.iter().position(|p| *p == self.ui.pane).unwrap_or(0);
                let n = all.len();
                let next = if a == Action::NextPane {
                    (i + 1) % n
                } else {
                    (i + n - 1) % n
                };
                self.go_pane(all[next]);
            }
            Action::GoPane(p) => self.go_pane(p),
            Action::Drill => self.drill(),
            Action::Back => {
                if let Some((pane, drill)) = self.ui.back.pop() {
                    self.ui.pane = pane;
                    self.ui.drill = drill;
                } else if self.ui.filters.remove(&self.ui.pane).is_none() {
                    self.ui.drill = None;
                }
            }
            Action::Filter => {
                let text = self.ui.filter(self.ui.pane).to_string();
                self.ui.input = Some(Input {
                    kind: InputKind::Filter,
                    text,
                    error: None,
                });
            }
            Action::Command => {
                self.ui.input = Some(Input {
                    kind: InputKind::Command,
                    text: String::new(),
                    error: None,
                });
            }
            Action::Help => self.ui.modal = Some(Modal::Help { scroll: 0 }),
            Action::Quit => self.request_quit(false),
            Action::Sort => {
                let cols = view::sort_columns(self.ui.pane).len();
                let s = self.ui.sort.entry(self.ui.pane).or_default();
                s.column = (s.column + 1) % cols;
                let name = view::sort_columns(self.ui.pane)[s.column];
                self.status(format!("sorted by {name}"), Severity::Info);
            }
            Action::SortReverse => {
                let s = self.ui.sort.entry(self.ui.pane).or_default();
                s.reverse = !s.reverse;
            }
            Action::History => {
                self.ui.history = !self.ui.history;
                let msg = if self.ui.history {
                    "showing task history"
                } else {
                    "hiding task history"
                };
                self.status(msg, Severity::Info);
            }
            Action::NextContext => {
                let n = self.store.clusters.len().max(1);
                self.ui.context = (self.ui.context + 1) % n;
            }
            Action::Theme => {
                let names = crate::theme::Theme::builtin_names();
                let i = names
                    .iter()
                    .position(|n| *n == self.theme.name)
                    .map_or(0, |i| (i + 1) % names.len());
                let _ = self.set_theme(names[i]);
            }
            Action::Scale => match self.selected_service() {
                Some(service) => {
                    let current = self
                        .cluster()
                        .and_then(|c| c.workload_by_name(&service))
                        .map(|w| w.desired.to_string())
                        .unwrap_or_default();
                    self.ui.input = Some(Input {
                        kind: InputKind::Prompt(PromptKind::Scale { service }),
                        text: current,
                        error: None,
                    });
                }
                None => self.status("select a service to scale (pane 3)", Severity::Warn),
            },
            Action::Deploy => match self.selected_service() {
                Some(service) => {
                    let w = self.cluster().and_then(|c| c.workload_by_name(&service));
                    let image = w.map(|w| w.image.clone()).unwrap_or_default();
                    // A pod of several containers: start from the first one, by name.
                    let current = match w.map(|w| w.containers.as_slice()) {
                        Some([(name, _), _, ..]) => format!("{name}={image}"),
                        _ => image.clone(),
                    };
                    self.fetch_tags(&image);
                    self.ui.input = Some(Input {
                        kind: InputKind::Prompt(PromptKind::Deploy { service }),
                        text: current,
                        error: None,
                    });
                }
                None => self.status("select a service to deploy (pane 3)", Severity::Warn),
            },
            Action::Rollback | Action::Restart => match self.selected_service() {
                Some(service) => {
                    let cluster = self.cluster_name();
                    let req = if a == Action::Rollback {
                        OpRequest::Rollback {
                            cluster,
                            service,
                            from_revision: None,
                        }
                    } else {
                        OpRequest::Restart { cluster, service }
                    };
                    let _ = self.begin_op(req);
                }
                None => self.status("select a service first (pane 3)", Severity::Warn),
            },
            Action::Promote | Action::Demote => match self.selected_node() {
                Some(node) => {
                    let role = if a == Action::Promote {
                        crate::model::NodeRole::Manager
                    } else {
                        crate::model::NodeRole::Worker
                    };
                    let _ = self.begin_op(OpRequest::SetRole {
                        cluster: self.cluster_name(),
                        node,
                        role,
                    });
                }
                None => self.status("select a node first (pane 2)", Severity::Warn),
            },
            Action::Drain | Action::Pause | Action::Activate => match self.selected_node() {
                Some(node) => {
                    let availability = match a {
                        Action::Drain => Availability::Drain,
                        Action::Pause => Availability::Pause,
                        _ => Availability::Active,
                    };
                    let _ = self.begin_op(OpRequest::SetAvailability {
                        cluster: self.cluster_name(),
                        node,
                        availability,
                    });
                }
                None => self.status("select a node first (pane 2)", Severity::Warn),
            },
            Action::StartInstance
            | Action::StopInstance
            | Action::RebootInstance
            | Action::TerminateInstance => match self.selected_instance() {
                Some(instance) => {
                    let action = match a {
                        Action::StartInstance => InstanceAction::Start,
                        Action::StopInstance => InstanceAction::Stop,
                        Action::RebootInstance => InstanceAction::Reboot,
                        _ => InstanceAction::Terminate,
                    };
                    let _ = self.begin_op(OpRequest::Instance {
                        cluster: self.cluster_name(),
                        instance,
                        action,
                    });
                }
                None => self.status(
                    "select an instance (pane 5) or a node that runs on one (pane 2)",
                    Severity::Warn,
                ),
            },
            Action::AddNodes => {
                if self.launch.contains_key(&self.cluster_name()) {
                    self.ui.input = Some(Input {
                        kind: InputKind::Prompt(PromptKind::AddNodes),
                        text: "1".into(),
                        error: None,
                    });
                } else {
                    self.status(
                        format!(
                            "add nodes: context {} has no aws.launch (ami or template) in config.toml",
                            self.cluster_name()
                        ),
                        Severity::Warn,
                    );
                }
            }
            Action::Logs => self.open_logs(),
            Action::Confirm | Action::Cancel | Action::SwitchButton | Action::PauseRotation => {}
        }
    }

    fn drill(&mut self) {
        let Some(c) = self.cluster() else { return };
        let target = match self.ui.pane {
            Pane::Services => view::service_rows(
                c,
                self.ui.filter(Pane::Services),
                self.ui.sort(Pane::Services),
            )
            .get(self.ui.selected(Pane::Services))
            .map(|w| Drill::Service(w.id.clone())),
            Pane::Nodes => {
                view::node_rows(c, self.ui.filter(Pane::Nodes), self.ui.sort(Pane::Nodes))
                    .get(self.ui.selected(Pane::Nodes))
                    .map(|n| Drill::Node(n.id.clone()))
            }
            Pane::Instances => {
                if let Some(id) = self.selected_instance() {
                    self.ui.modal = Some(Modal::Instance { id });
                }
                None
            }
            _ => None,
        };
        if let Some(d) = target {
            self.ui.back.push((self.ui.pane, self.ui.drill.take()));
            self.ui.pane = Pane::Replicas;
            self.ui.drill = Some(d);
            self.ui.selected.insert(Pane::Replicas, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_view_is_a_bounded_sanitised_ring_with_search() {
        let mut v = LogView::default();
        v.push(
            (0..LOG_LINES + 250)
                .map(|i| format!("line {i}\x1b[31m red"))
                .collect(),
        );
        assert_eq!(v.lines.len(), LOG_LINES);
        assert_eq!(v.dropped, 250);
        assert_eq!(v.lines.front().map(String::as_str), Some("line 250 red"));
        assert!(v.lines.iter().all(|l| !l.contains('\x1b')));
        v.search = "LINE 52".into();
        assert!(v.visible().iter().all(|l| l.contains("line 52")));
        // Lines 250..5249 are kept: "line 52" matches 520–529 and 5200–5249.
        assert_eq!(v.visible().len(), 60);
    }
}
