//! The Compose file format as `docker stack deploy` reads it: YAML parsed with each value's
//! line, variables interpolated on the parsed tree (so `replicas: ${N:-3}` works and an error
//! names its line), then typed into [`model::ComposeFile`]. This crate knows no cluster;
//! the Swarm backend turns the model into services.

pub mod image;
pub mod interpolate;
pub mod lenient;
pub mod model;
pub mod tree;

use std::collections::BTreeMap;

pub use interpolate::{Lookup, Problem, Used};
pub use model::ComposeFile;
use tree::{Node, Raw};

/// A compose file that cannot be used: where and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The file as the operator named it.
    pub file: String,
    /// 1-based; `None` when the reader could not tell.
    pub line: Option<u64>,
    /// The key's path (`services.web.deploy.replicas`), when known.
    pub key: Option<String>,
    pub reason: String,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        match &self.key {
            Some(k) => write!(f, ": {k}: {}", self.reason),
            None => write!(f, ": {}", self.reason),
        }
    }
}

impl std::error::Error for Error {}

/// A file ready to deploy.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub file: ComposeFile,
    /// Every variable the file referred to, with its value (`None`: unset, a default applied).
    pub used: Used,
    /// Keys that were read and are ignored, as `docker stack deploy` ignores them.
    pub ignored: Vec<String>,
}

/// Service keys `docker stack deploy` reads and ignores ("Ignoring unsupported options").
const IGNORED_BY_STACK: &[&str] = &[
    "build",
    "cgroup_parent",
    "container_name",
    "depends_on",
    "devices",
    "external_links",
    "links",
    "network_mode",
    "privileged",
    "security_opt",
    "shm_size",
    "userns_mode",
    "env_file",
];

/// Reads, interpolates and types a compose file.
pub fn load(file: &str, text: &str, vars: &dyn Lookup) -> Result<Loaded, Error> {
    let err = |line: Option<u64>, key: Option<String>, reason: String| Error {
        file: file.to_string(),
        line,
        key,
        reason,
    };
    let mut root: Node = serde_saphyr::from_str(text)
        .map_err(|e| err(e.location().map(|l| l.line()), None, syntax_reason(&e)))?;
    if !matches!(root.value, Raw::Map(_)) {
        return Err(err(
            Some(root.line),
            None,
            "a compose file is a mapping with `services:`".into(),
        ));
    }
    let mut used = Used::new();
    interpolate_tree(&mut root, &mut Vec::new(), vars, &mut used)
        .map_err(|(line, key, p)| err(Some(line), Some(key), p.to_string()))?;
    let json = root.to_json();
    let typed: ComposeFile = serde_path_to_error::deserialize(json).map_err(|e| {
        let line = root.line_of(e.path());
        let key = e.path().to_string();
        err(Some(line), Some(key), e.into_inner().to_string())
    })?;
    let ignored =
        check_keys(&typed, &root).map_err(|(line, key, why)| err(line, Some(key), why))?;
    if typed.services.is_empty() {
        return Err(err(
            None,
            Some("services".into()),
            "no services to deploy".into(),
        ));
    }
    for (name, svc) in &typed.services {
        if svc.image.as_deref().is_none_or(str::is_empty) {
            let line = root
                .get("services")
                .and_then(|s| s.get(name))
                .map(|n| n.line);
            return Err(err(
                line,
                Some(format!("services.{name}.image")),
                "a stack's service needs an image (Swarm does not build)".into(),
            ));
        }
    }
    Ok(Loaded {
        file: typed,
        used,
        ignored,
    })
}

/// The parser's reason on one line, without its rendered snippet or its position (the
/// error's line says that).
fn syntax_reason(e: &serde_saphyr::Error) -> String {
    let text = e.to_string();
    let mut first = text.lines().next().unwrap_or("not valid YAML").trim();
    first = first.strip_prefix("error:").unwrap_or(first).trim();
    if first.starts_with("line ")
        && let Some((_, rest)) = first.split_once(": ")
    {
        first = rest;
    }
    // The parser's advice to a Rust programmer ("set DuplicateKeyPolicy in Options") is
    // not for the operator.
    for cut in [" at line ", ", set ", ", use "] {
        if let Some(i) = first.find(cut) {
            first = &first[..i];
        }
    }
    first.to_string()
}

type TreeError = (u64, String, Problem);

/// Interpolates every scalar text of the tree in place (values, not keys).
fn interpolate_tree(
    node: &mut Node,
    path: &mut Vec<String>,
    vars: &dyn Lookup,
    used: &mut Used,
) -> Result<(), TreeError> {
    let line = node.line;
    match &mut node.value {
        Raw::Str(s) if s.contains('$') => {
            *s = interpolate::interpolate(s, vars, used).map_err(|p| (line, path.join("."), p))?;
        }
        Raw::Seq(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                // serde's spelling of an index, as typing errors name it: `ports[0]`.
                let last = path.pop().unwrap_or_default();
                path.push(format!("{last}[{i}]"));
                interpolate_tree(item, path, vars, used)?;
                path.pop();
                path.push(last);
            }
        }
        Raw::Map(entries) => {
            for (k, v) in entries.iter_mut() {
                path.push(k.clone());
                interpolate_tree(v, path, vars, used)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

type KeyError = (Option<u64>, String, String);

/// Unknown keys: ignored with a word when `docker stack deploy` ignores them too, refused
/// otherwise (a key this reader does not apply must not pass silently).
fn check_keys(file: &ComposeFile, root: &Node) -> Result<Vec<String>, KeyError> {
    let line_of = |path: &[&str]| {
        let mut n = Some(root);
        for p in path {
            n = n.and_then(|x| x.get(p));
        }
        n.map(|n| n.line)
    };
    let mut ignored = Vec::new();
    for key in file.extra.keys() {
        if key.starts_with("x-") {
            continue;
        }
        if key == "name" {
            ignored.push("name (the stack's name is chosen when deploying)".into());
            continue;
        }
        return Err((
            line_of(&[key]),
            key.clone(),
            "not a top-level key of a compose file".into(),
        ));
    }
    for (name, svc) in &file.services {
        for key in svc.extra.keys() {
            if key.starts_with("x-") {
                continue;
            }
            let path = format!("services.{name}.{key}");
            if IGNORED_BY_STACK.contains(&key.as_str()) {
                ignored.push(path);
                continue;
            }
            return Err((
                line_of(&["services", name, key]),
                path,
                "not supported by clusterdeck's stack deploy".into(),
            ));
        }
        if let Some(deploy) = &svc.deploy
            && let Some(key) = deploy.extra.keys().find(|k| !k.starts_with("x-"))
        {
            return Err((
                line_of(&["services", name, "deploy", key]),
                format!("services.{name}.deploy.{key}"),
                "not supported by clusterdeck's stack deploy".into(),
            ));
        }
    }
    for (name, net) in &file.networks {
        if let Some(key) = net.extra.keys().find(|k| !k.starts_with("x-")) {
            return Err((
                line_of(&["networks", name, key]),
                format!("networks.{name}.{key}"),
                "not supported by clusterdeck's stack deploy".into(),
            ));
        }
    }
    Ok(ignored)
}

/// The variables as the audit keeps them: values of names that look secret are replaced.
pub fn redacted(used: &Used) -> BTreeMap<String, String> {
    used.iter()
        .map(|(k, v)| {
            let upper = k.to_ascii_uppercase();
            let secret = [
                "PASSWORD",
                "PASSWD",
                "SECRET",
                "TOKEN",
                "KEY",
                "CREDENTIAL",
                "AUTH",
            ]
            .iter()
            .any(|w| upper.contains(w));
            let shown = match v {
                None => "(unset)".to_string(),
                Some(_) if secret => "***".to_string(),
                Some(v) => v.clone(),
            };
            (k.clone(), shown)
        })
        .collect()
}
