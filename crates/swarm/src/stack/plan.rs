//! The plan of a stack deploy: each service's spec as it would be sent, compared field by
//! field with what runs (create / update / unchanged / remove), and the networks, secrets and
//! configs to create. Pure: a function of the desired objects, the engine's current ones and
//! the image digests, so it is measured and tested without an engine.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use clusterdeck_ops::audit::redact::redact_text;

use super::convert::{self, Desired, FileSource};

/// A service of the stack as the engine has it.
#[derive(Debug, Clone)]
pub struct Running {
    pub id: String,
    pub version: u64,
    pub spec: Value,
}

/// What the engine has of the stack and around it, by name.
#[derive(Debug, Clone, Default)]
pub struct Current {
    /// The stack's services (label `com.docker.stack.namespace`), by full name.
    pub services: BTreeMap<String, Running>,
    /// Every network, secret and config by name → id.
    pub networks: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
    pub configs: BTreeMap<String, String>,
}

/// An image resolved at its registry: the digest and the platforms it offers.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved {
    pub digest: String,
    pub platforms: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub path: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Create,
    Update(Vec<FieldChange>),
    Unchanged,
    Remove,
}

impl Change {
    pub fn label(&self) -> &'static str {
        match self {
            Change::Create => "create",
            Change::Update(_) => "update",
            Change::Unchanged => "unchanged",
            Change::Remove => "remove",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServicePlan {
    pub name: String,
    pub change: Change,
    /// The spec to send (Engine API JSON), ids and pinned image filled in.
    pub spec: Value,
    /// The service as planned against: (id, version), for the version check at apply.
    pub current: Option<(String, u64)>,
    pub image_before: Option<String>,
    pub image_after: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct StackPlan {
    pub stack: String,
    pub services: Vec<ServicePlan>,
    /// Networks to create: name → create request.
    pub networks: BTreeMap<String, Value>,
    /// Secrets and configs to create (name → labels and file), and kept as they are.
    pub secrets: BTreeMap<String, FileSource>,
    pub configs: BTreeMap<String, FileSource>,
    pub kept: Vec<String>,
    pub warnings: Vec<String>,
}

impl StackPlan {
    /// Whether confirming it would send anything.
    pub fn sends_nothing(&self) -> bool {
        self.networks.is_empty()
            && self.secrets.is_empty()
            && self.configs.is_empty()
            && self.services.iter().all(|s| s.change == Change::Unchanged)
    }

    pub fn count(&self, label: &str) -> usize {
        self.services
            .iter()
            .filter(|s| s.change.label() == label)
            .count()
    }
}

/// Compares what the file asks for with what runs. `digests` maps each image as written to
/// its registry's answer (an error: not pinned, said in the warnings).
pub fn plan(
    stack: &str,
    desired: Desired,
    current: &Current,
    digests: &BTreeMap<String, Result<Resolved, String>>,
    prune: bool,
) -> Result<StackPlan, String> {
    let mut p = StackPlan {
        stack: stack.to_string(),
        ..StackPlan::default()
    };
    for (name, req) in &desired.networks {
        match (req, current.networks.contains_key(name)) {
            (_, true) => {}
            (Some(req), false) => {
                p.networks.insert(name.clone(), req.clone());
            }
            (None, false) => return Err(format!("external network {name} does not exist")),
        }
    }
    for (what, want, have, out) in [
        ("secret", &desired.secrets, &current.secrets, &mut p.secrets),
        ("config", &desired.configs, &current.configs, &mut p.configs),
    ] {
        for (name, src) in want {
            match (src, have.contains_key(name)) {
                (_, true) => p.kept.push(format!("{what} {name} exists: kept (its content cannot be read back; rename it to change it)")),
                (Some(src), false) => {
                    out.insert(name.clone(), src.clone());
                }
                (None, false) => return Err(format!("external {what} {name} does not exist")),
            }
        }
    }
    let mut warned = std::collections::BTreeSet::new();
    for (name, mut spec) in desired.services {
        let running = current.services.get(&name);
        let image = spec["TaskTemplate"]["ContainerSpec"]["Image"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        match digests.get(&image) {
            Some(Ok(r)) => pin(&mut spec, &image, r),
            Some(Err(e)) => {
                if warned.insert(image.clone()) {
                    p.warnings.push(format!(
                        "{image}: not pinned to a digest ({e}); each node resolves the tag itself"
                    ));
                }
                keep_running_pin(&mut spec, &image, running);
            }
            None => {}
        }
        p.services.push(compare(name, spec, running, current));
    }
    let wanted: std::collections::BTreeSet<String> =
        p.services.iter().map(|s| s.name.clone()).collect();
    for (name, r) in &current.services {
        if wanted.contains(name) {
            continue;
        }
        if prune {
            p.services.push(ServicePlan {
                name: name.clone(),
                change: Change::Remove,
                spec: Value::Null,
                current: Some((r.id.clone(), r.version)),
                image_before: r.spec["TaskTemplate"]["ContainerSpec"]["Image"]
                    .as_str()
                    .map(str::to_string),
                image_after: None,
            });
        } else {
            p.warnings.push(format!(
                "{name} runs in the stack but is not in the file: kept (deploy with prune to remove it)"
            ));
        }
    }
    p.services.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(p)
}

/// One service's spec (image pinned) against the one running: create, update (the fields
/// that differ), or unchanged.
fn compare(
    name: String,
    mut spec: Value,
    running: Option<&Running>,
    current: &Current,
) -> ServicePlan {
    resolve_ids(&mut spec, current);
    if let Some(r) = running {
        // As `docker stack deploy`: a redeploy keeps the service's force-update counter.
        spec["TaskTemplate"]["ForceUpdate"] = r.spec["TaskTemplate"]["ForceUpdate"].clone();
    }
    let image_after = spec["TaskTemplate"]["ContainerSpec"]["Image"]
        .as_str()
        .map(str::to_string);
    let (change, current_id, image_before) = match running {
        None => (Change::Create, None, None),
        Some(r) => {
            let fields = diff(&r.spec, &spec);
            let before = r.spec["TaskTemplate"]["ContainerSpec"]["Image"]
                .as_str()
                .map(str::to_string);
            let change = if fields.is_empty() {
                Change::Unchanged
            } else {
                Change::Update(fields)
            };
            (change, Some((r.id.clone(), r.version)), before)
        }
    };
    ServicePlan {
        name,
        change,
        spec,
        current: current_id,
        image_before,
        image_after,
    }
}

/// `name:tag@digest` and the registry's platforms, as the docker CLI pins an image.
fn pin(spec: &mut Value, image: &str, r: &Resolved) {
    if image.contains('@') {
        return;
    }
    spec["TaskTemplate"]["ContainerSpec"]["Image"] = json!(format!("{image}@{}", r.digest));
    if !r.platforms.is_empty() {
        let platforms: Vec<Value> = r
            .platforms
            .iter()
            .map(|(arch, os)| json!({"Architecture": arch, "OS": os}))
            .collect();
        spec["TaskTemplate"]["Placement"]["Platforms"] = json!(platforms);
    }
}

/// An image that could not be resolved now: a service already running that tag keeps its
/// pinned digest and platforms instead of showing (and sending) an unpinned change.
fn keep_running_pin(spec: &mut Value, image: &str, running: Option<&Running>) {
    let Some(r) = running else { return };
    let cs = &r.spec["TaskTemplate"]["ContainerSpec"]["Image"];
    if let Some(have) = cs.as_str()
        && clusterdeck_compose::image::without_digest(have) == image
    {
        spec["TaskTemplate"]["ContainerSpec"]["Image"] = json!(have);
        let platforms = r.spec["TaskTemplate"]["Placement"]["Platforms"].clone();
        if !platforms.is_null() {
            spec["TaskTemplate"]["Placement"]["Platforms"] = platforms;
        }
    }
}

/// Network targets and secret/config ids as the engine knows them (names until created).
fn resolve_ids(spec: &mut Value, current: &Current) {
    if let Some(nets) = spec["TaskTemplate"]["Networks"].as_array_mut() {
        for n in nets {
            if let Some(id) = n["Target"].as_str().and_then(|t| current.networks.get(t)) {
                n["Target"] = json!(id);
            }
        }
    }
    let cs = &mut spec["TaskTemplate"]["ContainerSpec"];
    for (list, id_key, name_key, ids) in [
        ("Secrets", "SecretID", "SecretName", &current.secrets),
        ("Configs", "ConfigID", "ConfigName", &current.configs),
    ] {
        if let Some(refs) = cs[list].as_array_mut() {
            for r in refs {
                if let Some(id) = r[name_key].as_str().and_then(|n| ids.get(n)) {
                    r[id_key] = json!(id);
                }
            }
        }
    }
}

/// Fills in ids of networks, secrets and configs created by the apply.
pub fn fill_ids(spec: &mut Value, current: &Current) {
    resolve_ids(spec, current)
}

/// The fields that differ, by path, on the specs as the engine reports them (values the
/// engine fills in itself, and empty ones, count as absent).
pub fn diff(before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut a = BTreeMap::new();
    let mut b = BTreeMap::new();
    flatten("", &canon(before), &mut a);
    flatten("", &canon(after), &mut b);
    let mut out = Vec::new();
    for (path, old) in &a {
        match b.get(path) {
            Some(new) if new == old => {}
            new => out.push(FieldChange {
                path: path.clone(),
                before: Some(old.clone()),
                after: new.cloned(),
            }),
        }
    }
    for (path, new) in &b {
        if !a.contains_key(path) {
            out.push(FieldChange {
                path: path.clone(),
                before: None,
                after: Some(new.clone()),
            });
        }
    }
    out.sort_by(|x, y| x.path.cmp(&y.path));
    out.into_iter().map(shown).collect()
}

/// A change as the plan shows it: the environment by names only (values are not shown, as
/// the rollback diff does not show them), other values redacted as the audit log redacts.
fn shown(mut c: FieldChange) -> FieldChange {
    if c.path.ends_with("ContainerSpec.Env") {
        let vars = |v: &Option<String>| -> BTreeMap<String, String> {
            v.as_deref()
                .and_then(|t| serde_json::from_str::<Vec<String>>(t).ok())
                .unwrap_or_default()
                .into_iter()
                .map(|e| match e.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (e, String::new()),
                })
                .collect()
        };
        let (b, a) = (vars(&c.before), vars(&c.after));
        let mut what: Vec<String> = Vec::new();
        for (k, v) in &a {
            match b.get(k) {
                None => what.push(format!("{k} added")),
                Some(old) if old != v => what.push(format!("{k} changed")),
                _ => {}
            }
        }
        what.extend(
            b.keys()
                .filter(|k| !a.contains_key(*k))
                .map(|k| format!("{k} removed")),
        );
        c.before = (!b.is_empty()).then(|| format!("{} variables", b.len()));
        c.after = Some(what.join(", "));
        return c;
    }
    let redact = |v: Option<String>| v.map(|t| redact_text(&t));
    c.before = redact(c.before);
    c.after = redact(c.after);
    c
}

/// Drops nulls, empty objects and lists, and what the engine fills in on its own.
fn canon(v: &Value) -> Value {
    let mut v = strip(v);
    if let Some(task) = v.get_mut("TaskTemplate").and_then(Value::as_object_mut) {
        if task.get("ForceUpdate") == Some(&json!(0)) {
            task.remove("ForceUpdate");
        }
        if task.get("Runtime") == Some(&json!("container")) {
            task.remove("Runtime");
        }
        if let Some(cs) = task.get_mut("ContainerSpec").and_then(Value::as_object_mut) {
            drop_if(cs, "Isolation", json!("default"));
            if let Some(p) = cs.get_mut("Privileges").and_then(Value::as_object_mut) {
                drop_if(p, "NoNewPrivileges", json!(false));
            }
        }
    }
    // An update config's enums and ratio read back as their zero values when not set.
    for key in ["UpdateConfig", "RollbackConfig"] {
        if let Some(u) = v.get_mut(key).and_then(Value::as_object_mut) {
            drop_if(u, "FailureAction", json!("pause"));
            drop_if(u, "Order", json!("stop-first"));
            if u.get("MaxFailureRatio").and_then(Value::as_f64) == Some(0.0) {
                u.remove("MaxFailureRatio");
            }
        }
    }
    strip(&v)
}

fn drop_if(m: &mut Map<String, Value>, key: &str, default: Value) {
    if m.get(key) == Some(&default) {
        m.remove(key);
    }
}

fn strip(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let out: Map<String, Value> = m
                .iter()
                .map(|(k, v)| (k.clone(), strip(v)))
                .filter(|(_, v)| !empty(v))
                .collect();
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(strip).collect()),
        other => other.clone(),
    }
}

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Leaves by dotted path; lists of scalars are one leaf (`Env`), lists of objects by index.
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                flatten(&join(k), v, out);
            }
        }
        Value::Array(items) if items.iter().any(Value::is_object) => {
            for (i, item) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), item, out);
            }
        }
        Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// The stack's name scope: what `docker stack` lists objects by.
pub fn stack_filter(stack: &str) -> String {
    format!("{}={stack}", convert::NAMESPACE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_changes_are_named_and_values_never_shown() {
        let before = json!({"TaskTemplate": {"ContainerSpec": {"Env": ["A=1", "PASSWORD=old"]}}});
        let after =
            json!({"TaskTemplate": {"ContainerSpec": {"Env": ["A=1", "B=2", "PASSWORD=new"]}}});
        let d = diff(&before, &after);
        assert_eq!(d.len(), 1, "{d:?}");
        assert_eq!(d[0].before.as_deref(), Some("2 variables"));
        assert_eq!(d[0].after.as_deref(), Some("B added, PASSWORD changed"));
        let text = format!("{d:?}");
        assert!(!text.contains("old") && !text.contains("=new"), "{text}");
        // A value-only change is still a change (it is sent), though not shown.
        let same_names =
            json!({"TaskTemplate": {"ContainerSpec": {"Env": ["A=9", "PASSWORD=old"]}}});
        assert_eq!(
            diff(&before, &same_names)[0].after.as_deref(),
            Some("A changed")
        );
    }

    #[test]
    fn engine_filled_values_and_empty_ones_count_as_absent() {
        let engine = json!({"Labels": {}, "TaskTemplate": {"ForceUpdate": 0, "Runtime": "container",
            "ContainerSpec": {"Image": "a:1", "Isolation": "default", "Privileges": {"CredentialSpec": null, "SELinuxContext": null}}},
            "UpdateConfig": {"Parallelism": 1, "FailureAction": "pause", "MaxFailureRatio": 0, "Order": "stop-first"}});
        let sent = json!({"TaskTemplate": {"ContainerSpec": {"Image": "a:1", "Privileges": {}}},
            "UpdateConfig": {"Parallelism": 1}});
        assert_eq!(diff(&engine, &sent), Vec::new());
        let other = json!({"TaskTemplate": {"ContainerSpec": {"Image": "a:2"}}, "UpdateConfig": {"Parallelism": 1}});
        let d = diff(&engine, &other);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].path, "TaskTemplate.ContainerSpec.Image");
    }
}
