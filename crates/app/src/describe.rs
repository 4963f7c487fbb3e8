//! The describe view: the selected object as the engine reports it (raw JSON, so nothing the
//! typed models drop is lost), YAML by default or JSON, with a short summary on top, secrets
//! redacted by the audit log's rules and every environment value hidden; scrolled, searched
//! with `/`, and written to a file on request.

use serde_json::Value;

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

/// A few lines for people, before the full object.
pub fn summary(v: &Value) -> Vec<String> {
    let s = |p: &[&str]| -> Option<String> {
        let mut cur = v;
        for k in p {
            cur = cur.get(*k)?;
        }
        match cur {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    };
    let mut out = Vec::new();
    let mut push = |label: &str, val: Option<String>| {
        if let Some(v) = val.filter(|v| !v.is_empty() && v != "[]" && v != "{}") {
            out.push(format!("{label:<12} {v}"));
        }
    };
    if let Some(kind) = v.get("kind").and_then(Value::as_str) {
        kube_summary(kind, v, &mut push);
    } else if v
        .get("Spec")
        .and_then(|sp| sp.get("TaskTemplate"))
        .is_some()
        && v.get("ServiceID").is_none()
    {
        // A Swarm service.
        let spec = &v["Spec"];
        let mode = match spec["Mode"]["Replicated"]["Replicas"].as_u64() {
            Some(n) => format!("replicated, {n} replicas"),
            None if spec["Mode"].get("Global").is_some() => "global".into(),
            None => spec["Mode"].to_string(),
        };
        push("mode", Some(mode));
        push(
            "image",
            s(&["Spec", "TaskTemplate", "ContainerSpec", "Image"]),
        );
        for (label, key) in [("update", "UpdateConfig"), ("rollback", "RollbackConfig")] {
            let c = &spec[key];
            if c.is_object() {
                push(
                    label,
                    Some(format!(
                        "parallelism {}, delay {}s, on failure {}, order {}",
                        c["Parallelism"].as_u64().unwrap_or(1),
                        c["Delay"].as_u64().unwrap_or(0) / 1_000_000_000,
                        c["FailureAction"].as_str().unwrap_or("pause"),
                        c["Order"].as_str().unwrap_or("stop-first")
                    )),
                );
            }
        }
        push(
            "constraints",
            s(&["Spec", "TaskTemplate", "Placement", "Constraints"]),
        );
        push(
            "preferences",
            s(&["Spec", "TaskTemplate", "Placement", "Preferences"]),
        );
        let ports: Vec<String> = spec["EndpointSpec"]["Ports"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|p| {
                format!(
                    "{}:{}/{} ({})",
                    p["PublishedPort"],
                    p["TargetPort"],
                    p["Protocol"].as_str().unwrap_or("tcp"),
                    p["PublishMode"].as_str().unwrap_or("ingress")
                )
            })
            .collect();
        push("ports", Some(ports.join(", ")));
        let names = |key: &str, field: &str| -> String {
            spec["TaskTemplate"]["ContainerSpec"][key]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter_map(|x| x[field].as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        push("networks", s(&["Spec", "TaskTemplate", "Networks"]));
        push("mounts", Some(names("Mounts", "Target")));
        push("secrets", Some(names("Secrets", "SecretName")));
        push("configs", Some(names("Configs", "ConfigName")));
        push(
            "healthcheck",
            s(&[
                "Spec",
                "TaskTemplate",
                "ContainerSpec",
                "Healthcheck",
                "Test",
            ]),
        );
        push(
            "limits",
            s(&["Spec", "TaskTemplate", "Resources", "Limits"]),
        );
        push("labels", s(&["Spec", "Labels"]));
    } else if v.get("ServiceID").is_some() {
        // A Swarm task.
        push("state", s(&["Status", "State"]));
        push("desired", s(&["DesiredState"]));
        push("exit code", s(&["Status", "ContainerStatus", "ExitCode"]));
        push("error", s(&["Status", "Err"]));
        push("message", s(&["Status", "Message"]));
        push(
            "container",
            s(&["Status", "ContainerStatus", "ContainerID"]),
        );
        push("node", s(&["NodeID"]));
        push("ports", s(&["Status", "PortStatus", "Ports"]));
        push("image", s(&["Spec", "ContainerSpec", "Image"]));
    } else if v.get("Description").is_some() {
        // A Swarm node.
        push("hostname", s(&["Description", "Hostname"]));
        push("role", s(&["Spec", "Role"]));
        push("availability", s(&["Spec", "Availability"]));
        push("state", s(&["Status", "State"]));
        push("address", s(&["Status", "Addr"]));
        push("manager", s(&["ManagerStatus", "Reachability"]));
        push("engine", s(&["Description", "Engine", "EngineVersion"]));
        push("labels", s(&["Spec", "Labels"]));
    }
    out
}

/// A Kubernetes object's few lines: what `kubectl describe` puts first.
fn kube_summary(kind: &str, v: &Value, push: &mut impl FnMut(&str, Option<String>)) {
    let text = |x: &Value| match x {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    };
    let containers = |spec: &Value| -> Vec<String> {
        spec["containers"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .map(|c| {
                format!(
                    "{}={}",
                    c["name"].as_str().unwrap_or("?"),
                    c["image"].as_str().unwrap_or("?")
                )
            })
            .collect()
    };
    push("kind", Some(kind.to_string()));
    match kind {
        "Deployment" | "StatefulSet" | "DaemonSet" => {
            push(
                "replicas",
                Some(format!(
                    "{} desired, {} ready, {} updated",
                    text(&v["spec"]["replicas"]).unwrap_or_else(|| "-".into()),
                    text(&v["status"]["readyReplicas"]).unwrap_or_else(|| "0".into()),
                    text(&v["status"]["updatedReplicas"]).unwrap_or_else(|| "0".into())
                )),
            );
            push("strategy", text(&v["spec"]["strategy"]));
            push(
                "images",
                Some(containers(&v["spec"]["template"]["spec"]).join(", ")),
            );
            push("selector", text(&v["spec"]["selector"]["matchLabels"]));
            push(
                "revision",
                text(&v["metadata"]["annotations"]["deployment.kubernetes.io/revision"]),
            );
        }
        "Pod" => {
            push("phase", text(&v["status"]["phase"]));
            push("node", text(&v["spec"]["nodeName"]));
            push("images", Some(containers(&v["spec"]).join(", ")));
            for c in v["status"]["containerStatuses"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                let name = c["name"].as_str().unwrap_or("?");
                let last = &c["lastState"]["terminated"];
                let mut s = format!("restarts {}", c["restartCount"]);
                if last.is_object() {
                    s.push_str(&format!(
                        ", last exit {} ({})",
                        last["exitCode"],
                        last["reason"].as_str().unwrap_or("")
                    ));
                }
                push(&format!("container {name}"), Some(s));
            }
        }
        "Node" => {
            let ready = v["status"]["conditions"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .find(|c| c["type"] == "Ready")
                .and_then(|c| c["status"].as_str())
                .map(str::to_string);
            push("ready", ready);
            push("unschedulable", text(&v["spec"]["unschedulable"]));
            push("kubelet", text(&v["status"]["nodeInfo"]["kubeletVersion"]));
            push("taints", text(&v["spec"]["taints"]));
        }
        _ => {}
    }
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
            _ => None,
        };
        let Some((source, kind, id, name)) = target else {
            return self.status(
                "select a node, a service or a task to describe",
                Severity::Warn,
            );
        };
        let Some(h) = self
            .readers
            .iter()
            .find(|h| h.cluster == cluster && h.source == source)
        else {
            return self.status(
                format!(
                    "describe reads Swarm objects so far; not a {}",
                    kind.label()
                ),
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
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn env_values_and_secrets_are_redacted_everywhere() {
        let v = json!({
            "Spec": {"TaskTemplate": {"ContainerSpec": {
                "Image": "app:1",
                "Env": ["MODE=prod", "DB_PASSWORD=hunter2"],
            }}, "Labels": {"api_token": "abc"}},
            "containers": [{"env": [{"name": "X", "value": "y"}, {"name": "Z", "valueFrom": {}}]}],
            "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration":
                "{\"spec\":{\"containers\":[{\"env\":[{\"name\":\"P\",\"value\":\"s3cret\"}]}]}}"}}
        });
        let r = redact(&v);
        let text = r.to_string();
        assert!(
            !text.contains("hunter2")
                && !text.contains("\"y\"")
                && !text.contains("abc")
                && !text.contains("s3cret"),
            "{text}"
        );
        assert_eq!(
            r["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"][0],
            "MODE=[redacted]"
        );
        assert_eq!(r["containers"][0]["env"][1]["name"], "Z");
    }

    #[test]
    fn yaml_by_default_json_on_toggle_and_search_with_line_numbers() {
        let mut d = DescribeView {
            json: Some(
                json!({"ID": "s1", "Spec": {"Name": "web", "TaskTemplate": {"ContainerSpec": {"Image": "app:1"}},
                "Mode": {"Replicated": {"Replicas": 3}}}}),
            ),
            ..DescribeView::default()
        };
        let lines = d.lines();
        assert!(
            lines[0].starts_with("mode") && lines[0].contains("replicated, 3 replicas"),
            "{lines:?}"
        );
        assert!(
            lines.iter().any(|l| l.trim() == "Image: app:1"),
            "{lines:?}"
        );
        d.key(Action::ToggleFormat);
        assert!(d.lines().iter().any(|l| l.contains("\"Image\": \"app:1\"")));
        d.search = "image".into();
        let found = d.lines();
        assert!(
            found
                .iter()
                .all(|l| l.to_ascii_lowercase().contains("image")),
            "{found:?}"
        );
        assert!(
            found[0].trim_start().starts_with(char::is_numeric),
            "{found:?}"
        );
    }
}
