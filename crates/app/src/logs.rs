//! The log view: following the selected service's, task's, workload's or pod's logs into a
//! bounded ring of sanitised lines, with a search and a scroll position.

use std::collections::VecDeque;

use crate::backends::LogCommand;
use crate::input::{Action, Pane};
use crate::model::{Severity, SourceKind};
use crate::state::{App, Modal};

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
    /// What is followed (source, workload, task or pod), to follow it again.
    pub target: Option<(SourceKind, String, Option<String>)>,
    /// The previous container's lines instead of the running one's.
    pub previous: bool,
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

    /// Scrolling keys; false for any other action.
    fn key(&mut self, a: Action) -> bool {
        let n = self.visible().len();
        match a {
            Action::Up => self.scroll = (self.scroll + 1).min(n),
            Action::Down => self.scroll = self.scroll.saturating_sub(1),
            Action::PageUp => self.scroll = (self.scroll + 20).min(n),
            Action::PageDown => self.scroll = self.scroll.saturating_sub(20),
            _ => return false,
        }
        true
    }
}

impl App {
    /// Lines for the log view, if it is open on that context.
    pub(crate) fn on_log_lines(
        &mut self,
        cluster: &str,
        lines: Vec<String>,
        ended: Option<String>,
    ) -> bool {
        if cluster != self.cluster_name() || !matches!(self.ui.modal, Some(Modal::Logs)) {
            return false;
        }
        self.logs.push(lines);
        if ended.is_some() {
            self.logs.ended = ended;
        }
        true
    }

    /// A key while the log view is open.
    pub(crate) fn log_key(&mut self, a: Action) {
        if self.logs.key(a) {
            return;
        }
        match a {
            Action::Back => self.close_logs(),
            Action::Save => self.save_logs(),
            Action::Previous => self.toggle_previous(),
            _ => {}
        }
    }

    /// A pod's previous container (what it left before its last restart), or back to the
    /// running one.
    fn toggle_previous(&mut self) {
        let Some((SourceKind::Kubernetes, service, Some(pod))) = self.logs.target.clone() else {
            return self.status(
                "previous logs are a pod's (a Swarm task that ends is replaced by a new task)",
                Severity::Info,
            );
        };
        let previous = !self.logs.previous;
        let title = self
            .logs
            .title
            .trim_end_matches(" · previous container")
            .to_string();
        let title = if previous {
            format!("{title} · previous container")
        } else {
            title
        };
        let cluster = self.cluster_name();
        self.follow_with(
            &cluster,
            SourceKind::Kubernetes,
            service,
            Some(pod),
            title,
            previous,
        );
    }

    /// Writes the lines shown (the search applied, already sanitised) to the current directory.
    fn save_logs(&mut self) {
        let name = format!(
            "logs-{}-{}",
            self.logs.title,
            chrono::Utc::now().format("%Y%m%dT%H%M%SZ")
        );
        let mut text = self.logs.visible().join("\n");
        text.push('\n');
        let lines = self.logs.visible().len();
        match crate::save::write_here(&name, "log", &text) {
            Ok(shown) => self.status(format!("{lines} lines written to {shown}"), Severity::Info),
            Err(e) => self.status(e, Severity::Critical),
        }
    }

    /// Follows the logs of the selected task or pod (replicas pane) or service / workload.
    pub(crate) fn open_logs(&mut self) {
        let cluster = self.cluster_name();
        let replica = (self.ui.pane == Pane::Replicas)
            .then(|| self.selected_replica())
            .flatten();
        let task = replica.map(|r| r.id.clone());
        let Some(w) = self.selected_workload() else {
            // A bare pod has no workload: follow the pod itself.
            match replica {
                Some(r) if r.kind == crate::model::ObjectKind::Pod => {
                    let (id, title) = (r.id.clone(), r.id.trim_start_matches("pod/").to_string());
                    return self.follow(
                        &cluster,
                        SourceKind::Kubernetes,
                        String::new(),
                        Some(id),
                        format!("pod {title}"),
                    );
                }
                _ => return self.status("select a service or a task first", Severity::Warn),
            }
        };
        let source = w.target().source().unwrap_or(SourceKind::Swarm);
        // Kubernetes objects are followed by id (a bare pod has no workload); Swarm by name.
        let (service, title) = match (source, &task) {
            (SourceKind::Kubernetes, Some(t)) => (
                w.id.clone(),
                format!("pod {}", t.strip_prefix("pod/").unwrap_or(t)),
            ),
            (SourceKind::Kubernetes, None) => (w.id.clone(), format!("pods of {}", w.name)),
            (_, Some(t)) => (
                w.name.clone(),
                format!("task {} of {}", t.get(..12).unwrap_or(t), w.name),
            ),
            (_, None) => (w.name.clone(), format!("service {}", w.name)),
        };
        // A task or pod that ended: how, beside its logs (the exit code is in Swarm's error).
        let ended = replica
            .filter(|r| r.state.is_terminal() || !r.is_current())
            .map(|r| match &r.error {
                Some(e) => format!(" · {}: {e}", r.state.label()),
                None => format!(" · {}", r.state.label()),
            })
            .unwrap_or_default();
        self.follow(&cluster, source, service, task, format!("{title}{ended}"));
    }

    fn follow(
        &mut self,
        cluster: &str,
        source: SourceKind,
        service: String,
        task: Option<String>,
        title: String,
    ) {
        self.follow_with(cluster, source, service, task, title, false);
    }

    fn follow_with(
        &mut self,
        cluster: &str,
        source: SourceKind,
        service: String,
        task: Option<String>,
        title: String,
        previous: bool,
    ) {
        let Some(h) = self
            .log_handles
            .iter()
            .find(|h| h.cluster == cluster && h.source == source)
        else {
            self.status("logs are not available for this source", Severity::Warn);
            return;
        };
        let cmd = LogCommand::Follow {
            service: service.clone(),
            task: task.clone(),
            previous,
        };
        if h.tx.try_send(cmd).is_err() {
            self.status("the log follower is busy; try again", Severity::Warn);
            return;
        }
        self.logs = LogView {
            title,
            target: Some((source, service, task)),
            previous,
            ..LogView::default()
        };
        self.ui.modal = Some(Modal::Logs);
    }

    pub(crate) fn close_logs(&mut self) {
        let cluster = self.cluster_name();
        for h in self.log_handles.iter().filter(|h| h.cluster == cluster) {
            let _ = h.tx.try_send(LogCommand::Stop);
        }
        self.ui.modal = None;
        let view = std::mem::take(&mut self.logs);
        // A job's output is kept (and goes on filling) for `:output`.
        if let Some(job) = self.jobs.shown.take() {
            self.jobs.last = Some((job, view));
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
