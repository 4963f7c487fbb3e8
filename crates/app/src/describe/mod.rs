//! The describe view: the selected object as the engine reports it (raw JSON, so nothing the
//! typed models drop is lost), YAML by default or JSON, with a short summary on top, secrets
//! redacted by the audit log's rules and every environment value hidden; scrolled, searched
//! with `/`, and written to a file on request.

mod revisions;
pub use revisions::revision_diff;
mod summary;

use serde_json::Value;

pub use summary::summary;

use crate::input::{Action, Pane};
use crate::model::{ObjectKind, Severity, SourceKind};
use crate::ops::audit::redact::{REDACTED, redact_value};
use crate::state::{App, Modal};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct DescribeView {
    pub title: String,
    pub kind: Option<ObjectKind>,
    pub id: String,
    /// The object, redacted; None while it is read.
    pub json: Option<Value>,
    pub error: Option<String>,
    /// JSON instead of YAML.
    pub as_json: bool,
    pub search: String,
    /// First line shown.
    pub scroll: usize,
    /// Where the last save went.
    pub saved: Option<String>,
}

impl DescribeView {
    /// The object's text in the chosen format.
    pub fn body(&self) -> String {
        let Some(v) = &self.json else {
            return String::new();
        };
        if self.as_json {
            serde_json::to_string_pretty(v).unwrap_or_default()
        } else {
            serde_saphyr::to_string(v).unwrap_or_else(|e| format!("(YAML: {e})"))
        }
    }

    /// Summary, a blank line, then the body; only lines with the search when there is one
    /// (with their line numbers, so the place is known).
    pub fn lines(&self) -> Vec<String> {
        let mut all = self.json.as_ref().map(summary).unwrap_or_default();
        if !all.is_empty() {
            all.push(String::new());
        }
        all.extend(self.body().lines().map(str::to_string));
        let s = self.search.to_ascii_lowercase();
        if s.is_empty() {
            return all;
        }
        all.into_iter()
            .enumerate()
            .filter(|(_, l)| l.to_ascii_lowercase().contains(&s))
            .map(|(i, l)| format!("{:>5}  {l}", i + 1))
            .collect()
    }

    fn key(&mut self, a: Action) -> bool {
        let n = self.lines().len();
        match a {
            Action::Down => self.scroll = (self.scroll + 1).min(n.saturating_sub(1)),
            Action::Up => self.scroll = self.scroll.saturating_sub(1),
            Action::PageDown => self.scroll = (self.scroll + 20).min(n.saturating_sub(1)),
            Action::PageUp => self.scroll = self.scroll.saturating_sub(20),
            Action::ToggleFormat => {
                self.as_json = !self.as_json;
                self.scroll = 0;
            }
            _ => return false,
        }
        true
    }
}

/// The engine's JSON with secrets out: the audit log's rules, and every environment value
/// (`Env: ["KEY=value"]` in Docker, `env: [{name, value}]` in Kubernetes).
pub fn redact(v: &Value) -> Value {
    fn env(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if k == "Env" || k == "env" {
                        if let Value::Array(items) = x {
                            for it in items.iter_mut() {
                                match it {
                                    Value::String(s) => {
                                        let key = s.split('=').next().unwrap_or_default();
                                        *s = format!("{key}={REDACTED}");
                                    }
                                    Value::Object(o) if o.contains_key("value") => {
                                        o.insert("value".into(), REDACTED.into());
                                    }
                                    _ => {}
                                }
                            }
                        }
                    } else if let Value::String(text) = x {
                        // JSON inside a string (kubectl's last-applied-configuration holds the
                        // whole object again, environment values included).
                        if text.starts_with('{')
                            && let Ok(mut inner) = serde_json::from_str::<Value>(text)
                        {
                            env(&mut inner);
                            *text = inner.to_string();
                        }
                    } else {
                        env(x);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(env),
            _ => {}
        }
    }
    let mut out = redact_value(v);
    env(&mut out);
    out
}

impl App {
    /// Opens the describe view on the selected node, service or task.
    pub(crate) fn open_describe(&mut self) {
        let cluster = self.cluster_name();
        let target = match self.ui.pane {
            Pane::Nodes => self
                .selected_node()
                .map(|n| (n.source, ObjectKind::Node, n.id.clone(), n.hostname.clone())),
            Pane::Services => self.selected_workload().map(|w| {
                let source = w.target().source().unwrap_or(SourceKind::Swarm);
                (source, w.kind, w.id.clone(), w.name.clone())
            }),
            Pane::Replicas => self.selected_replica().map(|r| {
                let source = if r.kind == ObjectKind::Task {
                    SourceKind::Swarm
                } else {
                    SourceKind::Kubernetes
                };
                (source, r.kind, r.id.clone(), r.id.clone())
            }),
            Pane::Instances => self.selected_instance().map(|i| {
                let name = if i.name.is_empty() { &i.id } else { &i.name };
                (
                    SourceKind::Ec2,
                    ObjectKind::Instance,
                    i.id.clone(),
                    name.clone(),
                )
            }),
            Pane::Quorum => self.cluster().and_then(|c| {
                let m = crate::view::etcd_rows(&c.etcd)
                    .get(self.ui.selected(Pane::Quorum))
                    .copied()?;
                Some((
                    SourceKind::Etcd,
                    ObjectKind::Member,
                    m.id.clone(),
                    m.name.clone(),
                ))
            }),
            _ => None,
        };
        let Some((source, kind, id, name)) = target else {
            return self.status(
                "select a node, service, task, pod, instance or etcd member to describe",
                Severity::Warn,
            );
        };
        let Some(h) = self
            .readers
            .iter()
            .find(|h| h.cluster == cluster && h.source == source)
        else {
            return self.status(
                format!("no {} reader for this context", source.label()),
                Severity::Warn,
            );
        };
        if h.tx.try_send((kind, id.clone())).is_err() {
            return self.status("the reader is busy; try again", Severity::Warn);
        }
        self.describe = DescribeView {
            title: format!("{} {name}", kind.label()),
            kind: Some(kind),
            id,
            ..DescribeView::default()
        };
        self.ui.modal = Some(Modal::Describe);
    }

    /// The object read, for the open view.
    pub(crate) fn on_described(
        &mut self,
        cluster: &str,
        id: &str,
        json: Result<String, String>,
    ) -> bool {
        if cluster != self.cluster_name()
            || id != self.describe.id
            || !matches!(self.ui.modal, Some(Modal::Describe))
        {
            return false;
        }
        match json.and_then(|t| serde_json::from_str::<Value>(&t).map_err(|e| e.to_string())) {
            Ok(v) => self.describe.json = Some(redact(&v)),
            Err(e) => self.describe.error = Some(e),
        }
        true
    }

    pub(crate) fn describe_key(&mut self, a: Action) {
        if self.describe.key(a) {
            return;
        }
        match a {
            Action::Back => self.ui.modal = None,
            Action::Save => self.save_describe(),
            _ => {}
        }
    }

    /// Writes the view's object (redacted, in the format shown) to the current directory.
    fn save_describe(&mut self) {
        let d = &self.describe;
        let Some(kind) = d.kind.filter(|_| d.json.is_some()) else {
            return;
        };
        let ext = if d.as_json { "json" } else { "yaml" };
        // The kind is in the name, and `-` separates it from the id (`service-<id>`).
        let name = format!("{}-{}", kind.label(), d.id);
        match crate::save::write_here(&name, ext, &d.body()) {
            Ok(shown) => {
                self.status(format!("written to {shown}"), Severity::Info);
                self.describe.saved = Some(shown);
            }
            Err(e) => self.status(e, Severity::Critical),
        }
    }
}

#[cfg(test)]
mod tests;
