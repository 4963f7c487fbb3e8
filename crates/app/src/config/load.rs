//! Reading, merging and validating config files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::locate::{clean_message, locate_error, locate_path};
use super::response;
use super::sources::{aws, docker, etcd};
use super::{
    AuditConfig, Config, ConfigError, ContextConfig, KeySpec, MODES, Paths, WallConfig, WallSet,
};

const DEFAULT_TOML: &str = include_str!("default.toml");

/// The user's file as written: every field optional so that only what is present overrides the
/// defaults, and unknown keys rejected so typos are reported instead of silently ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialConfig {
    theme: Option<String>,
    read_only: Option<bool>,
    refresh: Option<PartialRefresh>,
    audit: Option<PartialAudit>,
    wall: Option<PartialWall>,
    keys: Option<BTreeMap<String, BTreeMap<String, KeySpec>>>,
    contexts: Option<Vec<ContextConfig>>,
    incidents: Option<response::PartialIncidents>,
    timeline: Option<response::PartialTimeline>,
    notify: Option<response::PartialNotify>,
    actions: Option<response::PartialActions>,
    ssh: Option<super::ssh::SshConfig>,
    hooks: Option<BTreeMap<String, super::pipelines::HookConfig>>,
    stacks: Option<BTreeMap<String, super::pipelines::StackConfig>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialRefresh {
    reconcile_secs: Option<u64>,
    fps: Option<u32>,
    ec2_poll_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialWall {
    rotate_secs: Option<u64>,
    theme: Option<String>,
    sets: Option<Vec<WallSet>>,
    pin: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialAudit {
    path: Option<PathBuf>,
    rotate_bytes: Option<u64>,
    group: Option<String>,
    syslog: Option<String>,
}

/// A validation failure: the dotted key, the message, and whether to point at the key's name
/// (unknown names) rather than its value (bad values).
pub(crate) struct Invalid {
    path: String,
    message: String,
    at_key: bool,
}

impl Invalid {
    pub(crate) fn value(path: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid {
            path: path.into(),
            message: message.into(),
            at_key: false,
        }
    }
    fn key(path: impl Into<String>, message: impl Into<String>) -> Self {
        Invalid {
            path: path.into(),
            message: message.into(),
            at_key: true,
        }
    }
}

pub(super) fn embedded() -> Config {
    match parse_partial(DEFAULT_TOML) {
        Ok(p) => overlay(Config::default(), p),
        Err(_) => {
            debug_assert!(false, "embedded default.toml does not parse");
            Config::default()
        }
    }
}

fn parse_partial(text: &str) -> Result<PartialConfig, toml::de::Error> {
    toml::from_str(text)
}

pub(super) fn load_from(
    explicit: Option<&Path>,
    env: Option<&Path>,
    paths: &Paths,
) -> Result<(Config, Option<PathBuf>), ConfigError> {
    let (path, origin) = match (explicit, env, &paths.config_file) {
        (Some(p), _, _) => (p, Some("given with --config")),
        (None, Some(p), _) => (p, Some("named by $CLUSTERDECK_CONFIG")),
        (None, None, Some(p)) => (p.as_path(), None),
        (None, None, None) => return Ok((embedded(), None)),
    };
    match std::fs::read_to_string(path) {
        Ok(text) => from_user_str(&text, path).map(|c| (c, Some(path.to_path_buf()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && origin.is_none() => {
            Ok((embedded(), None))
        }
        Err(e) => Err(ConfigError {
            file: path.to_path_buf(),
            line: None,
            column: None,
            key: None,
            message: match origin {
                Some(o) => format!("cannot read the config file ({o}): {e}"),
                None => format!("cannot read the config file: {e}"),
            },
        }),
    }
}

pub(super) fn from_user_str(text: &str, file: &Path) -> Result<Config, ConfigError> {
    let partial = parse_partial(text).map_err(|e| {
        let loc = locate_error(text, &e);
        ConfigError {
            file: file.to_path_buf(),
            line: loc.line,
            column: loc.column,
            key: loc.key,
            message: friendly(&clean_message(&e)),
        }
    })?;
    let defaults = embedded();
    validate(&partial, &defaults).map_err(|inv| {
        let loc = locate_path(text, &inv.path, inv.at_key);
        ConfigError {
            file: file.to_path_buf(),
            line: loc.line,
            column: loc.column,
            key: loc.key,
            message: inv.message,
        }
    })?;
    let mut config = overlay(defaults, partial);
    expand_tildes(&mut config);
    Ok(config)
}

/// serde's wording for a failed untagged enum says nothing about what was expected.
fn friendly(message: &str) -> String {
    if message.contains("untagged enum KeySpec") {
        return "expected a key (\"q\") or a list of keys ([\"q\", \"ctrl-c\"])".to_owned();
    }
    // Internal type names ("struct PartialRefresh") mean nothing to the reader.
    match message.find("expected struct ") {
        Some(i) => format!("{}expected a table", &message[..i]),
        None => message.to_owned(),
    }
}

fn overlay(mut base: Config, p: PartialConfig) -> Config {
    if let Some(theme) = p.theme {
        base.theme = theme;
    }
    if let Some(ro) = p.read_only {
        base.read_only = ro;
    }
    if let Some(r) = p.refresh {
        if let Some(v) = r.reconcile_secs {
            base.refresh.reconcile_secs = v;
        }
        if let Some(v) = r.fps {
            base.refresh.fps = v;
        }
        if let Some(v) = r.ec2_poll_secs {
            base.refresh.ec2_poll_secs = v;
        }
    }
    if let Some(a) = p.audit {
        base.audit = AuditConfig {
            path: a.path.or(base.audit.path),
            rotate_bytes: a.rotate_bytes.or(base.audit.rotate_bytes),
            group: a.group.or(base.audit.group),
            syslog: a.syslog.or(base.audit.syslog),
        };
    }
    if let Some(w) = p.wall {
        base.wall = WallConfig {
            rotate_secs: w.rotate_secs.unwrap_or(base.wall.rotate_secs),
            theme: w.theme.unwrap_or(base.wall.theme),
            sets: w.sets.unwrap_or(base.wall.sets),
            pin: w.pin.or(base.wall.pin),
        };
    }
    if let Some(keys) = p.keys {
        for (mode, actions) in keys {
            base.keys.entry(mode).or_default().extend(actions);
        }
    }
    if let Some(contexts) = p.contexts {
        base.contexts = contexts;
    }
    response::overlay(&mut base, p.incidents, p.timeline, p.notify, p.actions);
    if let Some(ssh) = p.ssh {
        base.ssh = ssh;
    }
    if let Some(hooks) = p.hooks {
        base.hooks = hooks;
    }
    if let Some(stacks) = p.stacks {
        base.stacks = stacks;
    }
    base
}

fn validate(p: &PartialConfig, defaults: &Config) -> Result<(), Invalid> {
    if let Some(theme) = &p.theme
        && (theme.trim().is_empty() || theme.contains(['/', '\\']) || theme.starts_with('.'))
    {
        return Err(Invalid::value(
            "theme",
            "expected a theme name such as \"dark\" (built-in or <config dir>/themes/NAME.toml)",
        ));
    }
    if let Some(r) = &p.refresh {
        if let Some(fps) = r.fps
            && !(1..=60).contains(&fps)
        {
            return Err(Invalid::value(
                "refresh.fps",
                format!("{fps} is out of range, expected 1 to 60"),
            ));
        }
        if r.reconcile_secs == Some(0) {
            return Err(Invalid::value(
                "refresh.reconcile_secs",
                "must be at least 1 second",
            ));
        }
        if r.ec2_poll_secs == Some(0) {
            return Err(Invalid::value(
                "refresh.ec2_poll_secs",
                "must be at least 1 second (EC2 throttles callers that poll too fast)",
            ));
        }
    }
    if let Some(w) = &p.wall {
        validate_wall(w, defaults)?;
    }
    if let Some(a) = &p.audit
        && a.path.as_ref().is_some_and(|p| p.as_os_str().is_empty())
    {
        return Err(Invalid::value(
            "audit.path",
            "is empty; remove it to use the default",
        ));
    }
    if let Some(s) = p.audit.as_ref().and_then(|a| a.syslog.as_ref())
        && !["unix://", "udp://", "tcp://"]
            .iter()
            .any(|pre| s.starts_with(pre))
    {
        return Err(Invalid::value(
            "audit.syslog",
            "must start with unix://, udp:// or tcp:// (e.g. \"udp://127.0.0.1:514\")",
        ));
    }
    if let Some(keys) = &p.keys {
        validate_keys(keys, defaults)?;
    }
    if let Some(contexts) = &p.contexts {
        validate_contexts(contexts)?;
    }
    if let Some(ssh) = &p.ssh {
        super::ssh::validate(ssh)?;
    }
    super::pipelines::validate(
        p.hooks.as_ref().unwrap_or(&BTreeMap::new()),
        p.stacks.as_ref().unwrap_or(&BTreeMap::new()),
    )?;
    response::validate(&response::Response {
        incidents: p.incidents.as_ref(),
        timeline: p.timeline.as_ref(),
        notify: p.notify.as_ref(),
        actions: p.actions.as_ref(),
    })
}

/// Panes the wall may show; the audit pane is not one of them (it is the operators' record,
/// and the wall never reads the audit log).
pub const WALL_PANES: &[&str] = &[
    "overview",
    "nodes",
    "services",
    "replicas",
    "instances",
    "events",
];

fn validate_wall(w: &PartialWall, defaults: &Config) -> Result<(), Invalid> {
    if w.rotate_secs == Some(0) {
        return Err(Invalid::value(
            "wall.rotate_secs",
            "must be at least 1 second",
        ));
    }
    if let Some(theme) = &w.theme
        && (theme.trim().is_empty() || theme.contains(['/', '\\']) || theme.starts_with('.'))
    {
        return Err(Invalid::value(
            "wall.theme",
            "expected a theme name such as \"wall\"",
        ));
    }
    let sets = w.sets.as_ref().unwrap_or(&defaults.wall.sets);
    if sets.is_empty() {
        return Err(Invalid::value("wall.sets", "needs at least one pane set"));
    }
    let mut seen = BTreeSet::new();
    for (i, set) in sets.iter().enumerate() {
        if set.name.trim().is_empty() {
            return Err(Invalid::value(
                format!("wall.sets[{i}].name"),
                "must not be empty",
            ));
        }
        if !seen.insert(set.name.as_str()) {
            return Err(Invalid::value(
                format!("wall.sets[{i}].name"),
                format!("duplicate set name `{}`", set.name),
            ));
        }
        if set.panes.is_empty() {
            return Err(Invalid::value(
                format!("wall.sets[{i}].panes"),
                "needs at least one pane",
            ));
        }
        if let Some(j) = set
            .panes
            .iter()
            .position(|p| !WALL_PANES.contains(&p.as_str()))
        {
            return Err(Invalid::value(
                format!("wall.sets[{i}].panes[{j}]"),
                format!(
                    "`{}` is not a wall pane, expected one of {}",
                    set.panes[j],
                    WALL_PANES.join(", ")
                ),
            ));
        }
    }
    if let Some(pin) = &w.pin
        && !sets.iter().any(|s| &s.name == pin)
    {
        let names: Vec<&str> = sets.iter().map(|s| s.name.as_str()).collect();
        return Err(Invalid::value(
            "wall.pin",
            format!(
                "no pane set named `{pin}`, expected one of {}",
                names.join(", ")
            ),
        ));
    }
    Ok(())
}

fn validate_keys(
    keys: &BTreeMap<String, BTreeMap<String, KeySpec>>,
    defaults: &Config,
) -> Result<(), Invalid> {
    for (mode, actions) in keys {
        let mode_path = format!("keys.{mode}");
        if !MODES.contains(&mode.as_str()) {
            return Err(Invalid::key(
                mode_path,
                format!(
                    "unknown mode `{mode}`, expected one of {}",
                    MODES.join(", ")
                ),
            ));
        }
        let known = defaults.keys.get(mode);
        for (action, spec) in actions {
            let path = format!("{mode_path}.{action}");
            if !known.is_some_and(|k| k.contains_key(action)) {
                let names: Vec<&str> = known
                    .map(|k| k.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                return Err(Invalid::key(
                    path,
                    format!(
                        "unknown action `{action}` in mode `{mode}`, expected one of {}",
                        names.join(", ")
                    ),
                ));
            }
            if spec.keys().iter().any(|k| k.trim().is_empty()) {
                return Err(Invalid::value(
                    path,
                    "empty key; use [] to unbind the action",
                ));
            }
        }
    }
    Ok(())
}

fn validate_contexts(contexts: &[ContextConfig]) -> Result<(), Invalid> {
    let mut seen = BTreeSet::new();
    for (i, ctx) in contexts.iter().enumerate() {
        let base = format!("contexts[{i}]");
        if ctx.name.trim().is_empty() {
            return Err(Invalid::value(format!("{base}.name"), "must not be empty"));
        }
        if !seen.insert(ctx.name.as_str()) {
            return Err(Invalid::value(
                format!("{base}.name"),
                format!("duplicate context name `{}`", ctx.name),
            ));
        }
        if let Some(d) = &ctx.docker {
            docker::validate(d, &base)?;
        }
        if let Some(a) = &ctx.aws {
            aws::validate(a, &base)?;
        }
        if let Some(e) = &ctx.etcd {
            etcd::validate(e, &base)?;
        }
    }
    Ok(())
}

/// `~/` in paths is what people write; the OS does not expand it for us.
fn expand_tildes(config: &mut Config) {
    let Some(home) = directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()) else {
        return;
    };
    let expand = |p: &mut PathBuf| {
        if let Ok(rest) = p.strip_prefix("~") {
            *p = home.join(rest);
        }
    };
    if let Some(p) = config.audit.path.as_mut() {
        expand(p);
    }
    for ctx in &mut config.contexts {
        if let Some(p) = ctx.kube.as_mut().and_then(|k| k.kubeconfig.as_mut()) {
            expand(p);
        }
        if let Some(e) = ctx.etcd.as_mut() {
            for p in [&mut e.ca, &mut e.cert, &mut e.key].into_iter().flatten() {
                expand(p);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(text: &str) -> Result<Config, ConfigError> {
        from_user_str(text, Path::new("/home/op/.config/clusterdeck/config.toml"))
    }

    fn err(text: &str) -> ConfigError {
        match user(text) {
            Ok(c) => panic!("expected an error, got {c:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn embedded_defaults_parse() {
        let p = parse_partial(DEFAULT_TOML).expect("default.toml must parse");
        let defaults = overlay(Config::default(), p);
        assert_eq!(defaults.theme, "dark");
        assert!(!defaults.read_only);
        assert_eq!(defaults.refresh.fps, 30);
        assert_eq!(defaults.refresh.reconcile_secs, 30);
        assert_eq!(defaults.wall.rotate_secs, 15);
        assert_eq!(defaults.wall.sets.len(), 3);
        assert_eq!(defaults.audit.path, None);
        assert!(defaults.contexts.is_empty());
        for mode in MODES {
            assert!(
                defaults.keys.get(*mode).is_some_and(|m| !m.is_empty()),
                "mode {mode} has no default keys"
            );
        }
        assert_eq!(defaults.keys.len(), MODES.len());
        assert_eq!(Config::default_embedded(), defaults);
    }

    #[test]
    fn embedded_defaults_pass_validation() {
        let p = parse_partial(DEFAULT_TOML).expect("parse");
        assert!(validate(&p, &embedded()).is_ok());
    }

    #[test]
    fn empty_file_gives_defaults() {
        assert_eq!(user("").expect("empty"), Config::default_embedded());
        assert_eq!(
            user("# only a comment\n\n").expect("comment"),
            Config::default_embedded()
        );
    }

    #[test]
    fn unknown_top_level_key_names_line_and_key() {
        let e = err("theme = \"light\"\nthme = \"dark\"\n");
        assert_eq!(e.line, Some(2));
        assert_eq!(e.column, Some(1));
        assert_eq!(e.key.as_deref(), Some("thme"));
        assert!(e.message.contains("unknown field"), "{}", e.message);
    }

    #[test]
    fn unknown_nested_key_names_full_path() {
        let e = err("[refresh]\nfps = 20\nfsp = 10\n");
        assert_eq!(e.line, Some(3));
        assert_eq!(e.key.as_deref(), Some("refresh.fsp"));

        let e = err(
            "[[contexts]]\nname = \"a\"\n[[contexts]]\nname = \"b\"\ndocker = { hostz = [] }\n",
        );
        assert_eq!(e.line, Some(5));
        assert_eq!(e.key.as_deref(), Some("contexts[1].docker.hostz"));
    }

    #[test]
    fn wrong_type_names_line_column_and_key() {
        let e = err("read_only = false\n[refresh]\nfps = \"fast\"\n");
        assert_eq!(e.line, Some(3));
        assert_eq!(e.column, Some(7));
        assert_eq!(e.key.as_deref(), Some("refresh.fps"));
        assert!(e.message.contains("invalid type"), "{}", e.message);
        let shown = e.to_string();
        assert!(
            shown.starts_with(
                "config error in /home/op/.config/clusterdeck/config.toml:3:7 at key `refresh.fps`: "
            ),
            "{shown}"
        );
    }

    #[test]
    fn wrong_type_for_keyspec_is_explained() {
        let e = err("[keys.normal]\nquit = 5\n");
        assert_eq!(e.line, Some(2));
        assert_eq!(e.key.as_deref(), Some("keys.normal.quit"));
        assert!(e.message.contains("list of keys"), "{}", e.message);
    }

    #[test]
    fn syntax_error_names_line_and_key() {
        let e = err("theme = \"dark\"\n[refresh]\nfps = \n");
        assert_eq!(e.line, Some(3));
        assert_eq!(e.key.as_deref(), Some("refresh.fps"));

        let e = err("theme = \"dark\nread_only = true\n");
        assert_eq!(e.line, Some(1));
        assert_eq!(e.key.as_deref(), Some("theme"));
    }

    #[test]
    fn out_of_range_values_are_rejected_with_key() {
        let e = err("[refresh]\nfps = 0\n");
        assert_eq!((e.line, e.column), (Some(2), Some(7)));
        assert_eq!(e.key.as_deref(), Some("refresh.fps"));
        assert!(e.message.contains("1 to 60"));

        let e = err("refresh = { fps = 61 }\n");
        assert_eq!(e.key.as_deref(), Some("refresh.fps"));
        assert_eq!(e.line, Some(1));

        let e = err("[refresh]\nreconcile_secs = 0\n");
        assert_eq!(e.key.as_deref(), Some("refresh.reconcile_secs"));
        assert_eq!(e.line, Some(2));

        let e = err("[refresh]\nreconcile_secs = -5\n");
        assert_eq!(e.key.as_deref(), Some("refresh.reconcile_secs"));
    }

    #[test]
    fn keys_override_only_the_named_action() {
        let defaults = Config::default_embedded();
        let c = user("[keys.normal]\nquit = \"Q\"\n").expect("valid");
        assert_eq!(c.keys_for("normal", "quit"), vec!["Q".to_owned()]);
        assert_eq!(
            c.keys_for("normal", "help"),
            defaults.keys_for("normal", "help")
        );
        assert_eq!(c.keys["help"], defaults.keys["help"]);
        assert_eq!(
            c.keys["normal"].len(),
            defaults.keys["normal"].len(),
            "no action added or lost"
        );
        let c = user("[keys.normal]\nquit = [\"Q\", \"ctrl-q\"]\ntheme = []\n").expect("valid");
        assert_eq!(c.keys_for("normal", "quit"), vec!["Q", "ctrl-q"]);
        assert!(c.keys_for("normal", "theme").is_empty());
    }

    #[test]
    fn unknown_mode_or_action_is_rejected_at_its_name() {
        let e = err("[keys.nromal]\nquit = \"Q\"\n");
        assert_eq!(e.key.as_deref(), Some("keys.nromal"));
        assert_eq!(e.line, Some(1));
        assert!(e.message.contains("unknown mode"));

        let e = err("[keys.normal]\nquit = \"Q\"\nqiut = \"x\"\n");
        assert_eq!(e.key.as_deref(), Some("keys.normal.qiut"));
        assert_eq!((e.line, e.column), (Some(3), Some(1)));

        let e = err("[keys.normal]\nquit = \"\"\n");
        assert_eq!(e.key.as_deref(), Some("keys.normal.quit"));
    }

    #[test]
    fn contexts_parse_and_replace_defaults() {
        let text = r#"
theme = "mono"
read_only = true
[audit]
path = "/var/log/cd/audit.jsonl"

[[contexts]]
name = "prod-eu"
production = true
docker = { hosts = ["ssh://ops@mgr1", "ssh://ops@mgr2"] }
kube = { kubeconfig = "/etc/kube/prod", context = "prod" }
aws = { profile = "prod", regions = ["eu-west-1"], filters = { "tag:Role" = ["swarm-manager"] } }
etcd = { endpoints = ["http://10.0.0.5:2379"] }

[[contexts]]
name = "staging"
read_only = true
docker = {}
"#;
        let c = user(text).expect("valid");
        assert_eq!(c.theme, "mono");
        assert!(c.read_only);
        assert_eq!(
            c.audit.path.as_deref(),
            Some(Path::new("/var/log/cd/audit.jsonl"))
        );
        assert_eq!(c.contexts.len(), 2);
        let prod = &c.contexts[0];
        assert!(prod.production);
        assert_eq!(
            prod.docker.as_ref().map(|d| d.hosts.len()),
            Some(2),
            "both managers kept for failover"
        );
        let aws = prod.aws.as_ref().expect("aws");
        assert_eq!(aws.filters["tag:Role"], vec!["swarm-manager"]);
        assert!(!c.contexts[1].production);
        assert!(!prod.read_only && c.contexts[1].read_only);
        assert_eq!(c.contexts[1].docker, Some(Default::default()));
    }

    #[test]
    fn context_errors_point_into_the_array() {
        let e = err("[[contexts]]\nname = \"a\"\n[[contexts]]\nname = \"a\"\n");
        assert_eq!(e.key.as_deref(), Some("contexts[1].name"));
        assert_eq!(e.line, Some(4));
        assert!(e.message.contains("duplicate"));

        let e = err("[[contexts]]\nname = \"a\"\ndocker = { hosts = [\"mgr1:2375\"] }\n");
        assert_eq!(e.key.as_deref(), Some("contexts[0].docker.hosts[0]"));
        assert_eq!(e.line, Some(3));

        let e = err("[[contexts]]\nproduction = true\n");
        assert!(e.message.contains("name"), "{}", e.message);
        assert_eq!(
            e.key.as_deref().map(|k| k.starts_with("contexts")),
            Some(true)
        );
    }

    #[test]
    fn tilde_paths_are_expanded() {
        let c = user("[audit]\npath = \"~/audit.jsonl\"\n").expect("valid");
        if let Some(home) = directories::BaseDirs::new() {
            assert_eq!(c.audit.path, Some(home.home_dir().join("audit.jsonl")));
        }
    }

    #[test]
    fn load_precedence_and_missing_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let xdg = dir.path().join("config.toml");
        let paths = Paths {
            config_file: Some(xdg.clone()),
            config_dir: Some(dir.path().to_path_buf()),
            state_dir: None,
        };
        // No file anywhere: defaults, no path.
        let (c, used) = load_from(None, None, &paths).expect("defaults");
        assert_eq!(c, Config::default_embedded());
        assert_eq!(used, None);

        std::fs::write(&xdg, "theme = \"light\"\n").expect("write");
        let (c, used) = load_from(None, None, &paths).expect("xdg");
        assert_eq!(c.theme, "light");
        assert_eq!(used.as_deref(), Some(xdg.as_path()));

        let env_file = dir.path().join("env.toml");
        std::fs::write(&env_file, "theme = \"mono\"\n").expect("write");
        let (c, _) = load_from(None, Some(&env_file), &paths).expect("env");
        assert_eq!(c.theme, "mono");

        let explicit = dir.path().join("explicit.toml");
        std::fs::write(&explicit, "theme = \"high-contrast\"\n").expect("write");
        let (c, used) = load_from(Some(&explicit), Some(&env_file), &paths).expect("explicit");
        assert_eq!(c.theme, "high-contrast");
        assert_eq!(used.as_deref(), Some(explicit.as_path()));

        let missing = dir.path().join("nope.toml");
        let e = load_from(Some(&missing), None, &paths).expect_err("missing explicit");
        assert_eq!(e.file, missing);
        assert!(e.message.contains("--config"));
        let e = load_from(None, Some(&missing), &paths).expect_err("missing env");
        assert!(e.message.contains("CLUSTERDECK_CONFIG"));

        std::fs::write(&xdg, "fps = 3\n").expect("write");
        let e = load_from(None, None, &paths).expect_err("bad xdg");
        assert_eq!(e.file, xdg);
        assert_eq!(e.key.as_deref(), Some("fps"));
    }

    #[test]
    fn paths_helpers() {
        let p = Paths {
            config_file: None,
            config_dir: Some(PathBuf::from("/c")),
            state_dir: Some(PathBuf::from("/s")),
        };
        assert_eq!(p.user_themes_dir(), Some(PathBuf::from("/c/themes")));
        assert_eq!(
            p.default_audit_path(),
            Some(PathBuf::from("/s/audit.jsonl"))
        );
        let c = Config::default_embedded();
        assert_eq!(c.audit_path(&p), Some(PathBuf::from("/s/audit.jsonl")));
        assert_eq!(Paths::default().default_audit_path(), None);
    }

    #[test]
    fn error_display_without_position() {
        let e = ConfigError {
            file: PathBuf::from("/x.toml"),
            line: None,
            column: None,
            key: None,
            message: "boom".into(),
        };
        assert_eq!(e.to_string(), "config error in /x.toml: boom");
    }
}
