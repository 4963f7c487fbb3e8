//! Configuration: embedded defaults, XDG paths, and the user's `config.toml` merged over them.
//!
//! The user file is never written by clusterdeck. A bad file is a hard error that names the file,
//! line, column and key, so the console never starts with settings it misread.

pub mod discovery;
mod load;
pub(crate) mod locate;
pub mod pipelines;
mod response;
pub mod sources;
pub mod ssh;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use clusterdeck_ops::LaunchConfig;
pub use sources::{AwsSource, DockerSource, EtcdSource, KubeSource};

/// Environment variable naming the config file; `--config` wins over it.
pub const CONFIG_ENV: &str = "CLUSTERDECK_CONFIG";

/// Input modes that own a key table, in display order.
pub const MODES: &[&str] = &["normal", "help", "confirm", "wall"];

/// The effective configuration: embedded defaults with the user's file merged over them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Config {
    pub theme: String,
    pub read_only: bool,
    pub refresh: RefreshConfig,
    pub audit: AuditConfig,
    pub wall: WallConfig,
    /// mode -> action -> keys. A user entry replaces the keys of that one action.
    pub keys: BTreeMap<String, BTreeMap<String, KeySpec>>,
    pub contexts: Vec<ContextConfig>,
    /// What counts as an incident.
    pub incidents: crate::incidents::Thresholds,
    /// The shared incident timeline.
    pub timeline: crate::timeline::TimelineConfig,
    /// Bell and hooks on incidents.
    pub notify: crate::notify::NotifyConfig,
    pub actions: ActionsConfig,
    /// How ssh is run (`ssh://` engines, ssh to nodes and instances).
    pub ssh: ssh::SshConfig,
    /// Pipeline hooks by name (`:hook NAME`).
    pub hooks: std::collections::BTreeMap<String, pipelines::HookConfig>,
    /// Compose files by stack name (`:stack deploy NAME`).
    pub stacks: std::collections::BTreeMap<String, pipelines::StackConfig>,
}

/// `[actions]`: what every action's confirmation asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ActionsConfig {
    /// Whether a reason / ticket reference is required.
    pub reason: crate::state::ReasonPolicy,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefreshConfig {
    pub reconcile_secs: u64,
    pub fps: u32,
    /// EC2 has no event stream: DescribeInstances is polled this often (jittered, with backoff).
    pub ec2_poll_secs: u64,
}

/// `--wall`: the read-only display for an operations room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WallConfig {
    /// Seconds each pane set stays on screen.
    pub rotate_secs: u64,
    /// The theme used on the wall (the interactive `theme` is not).
    pub theme: String,
    /// The pane sets shown in turn.
    pub sets: Vec<WallSet>,
    /// A set shown alone, without rotation.
    pub pin: Option<String>,
}

/// A named group of panes shown side by side on the wall.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WallSet {
    pub name: String,
    pub panes: Vec<String>,
}

impl Default for WallConfig {
    fn default() -> Self {
        WallConfig {
            rotate_secs: 15,
            theme: "wall".to_owned(),
            sets: vec![WallSet {
                name: "health".to_owned(),
                panes: vec!["overview".to_owned(), "nodes".to_owned()],
            }],
            pin: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AuditConfig {
    /// None: `Paths::default_audit_path()`.
    pub path: Option<PathBuf>,
    /// Rotate the live file at this size; 0 never rotates.
    pub rotate_bytes: Option<u64>,
    /// A group allowed to read the log (files 0640); None keeps it private (0600).
    pub group: Option<String>,
    /// Forward every record to syslog: `unix:///dev/log`, `udp://host:port`, `tcp://host:port`.
    pub syslog: Option<String>,
}

/// One key (`"q"`) or several (`["q", "ctrl-c"]`) bound to an action.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum KeySpec {
    One(String),
    Many(Vec<String>),
}

impl KeySpec {
    pub fn keys(&self) -> Vec<String> {
        match self {
            KeySpec::One(k) => vec![k.clone()],
            KeySpec::Many(ks) => ks.clone(),
        }
    }
}

/// One environment (e.g. "prod-eu"): the endpoints of each backend that belong to it.
/// An empty backend section (`docker = {}`) means "find it the way the backend's CLI does".
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ContextConfig {
    pub name: String,
    #[serde(default)]
    pub production: bool,
    /// Watch this context only: its backends get no write side and the gate refuses every
    /// action on it, whatever the global `read_only` says.
    #[serde(default)]
    pub read_only: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<DockerSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube: Option<KubeSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws: Option<AwsSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etcd: Option<EtcdSource>,
}

/// Where clusterdeck reads its config and keeps its state. Any may be unknown (no home dir).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Paths {
    pub config_file: Option<PathBuf>,
    pub config_dir: Option<PathBuf>,
    pub state_dir: Option<PathBuf>,
}

impl Paths {
    /// XDG locations (or the platform's equivalents) for the "clusterdeck" application.
    pub fn discover() -> Paths {
        let Some(dirs) = directories::ProjectDirs::from("", "", "clusterdeck") else {
            return Paths::default();
        };
        let config_dir = dirs.config_dir().to_path_buf();
        let state_dir = dirs
            .state_dir()
            .unwrap_or_else(|| dirs.data_local_dir())
            .to_path_buf();
        Paths {
            config_file: Some(config_dir.join("config.toml")),
            config_dir: Some(config_dir),
            state_dir: Some(state_dir),
        }
    }

    /// `<config dir>/themes`, where user theme files live.
    pub fn user_themes_dir(&self) -> Option<PathBuf> {
        self.config_dir.as_ref().map(|d| d.join("themes"))
    }

    /// `<state dir>/timeline.jsonl`, used when `[timeline] path` is not set.
    pub fn default_timeline_path(&self) -> Option<PathBuf> {
        self.state_dir.as_ref().map(|d| d.join("timeline.jsonl"))
    }

    /// `<state dir>/audit.jsonl`, used when `[audit] path` is not set.
    pub fn default_audit_path(&self) -> Option<PathBuf> {
        self.state_dir.as_ref().map(|d| d.join("audit.jsonl"))
    }
}

/// A config file that cannot be used, with the position and key at fault when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "config error in {}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        if let Some(key) = &self.key {
            write!(f, " at key `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}

impl Default for Config {
    /// Hard-wired values used only if the embedded file could not be read (a build defect the
    /// unit tests rule out); no key bindings, so the keymap falls back to its own table.
    fn default() -> Self {
        Config {
            theme: "dark".to_owned(),
            read_only: false,
            refresh: RefreshConfig {
                reconcile_secs: 30,
                fps: 30,
                ec2_poll_secs: 30,
            },
            audit: AuditConfig::default(),
            wall: WallConfig::default(),
            keys: BTreeMap::new(),
            contexts: Vec::new(),
            incidents: crate::incidents::Thresholds::default(),
            timeline: crate::timeline::TimelineConfig::default(),
            notify: crate::notify::NotifyConfig {
                on: vec!["new".into(), "escalated".into(), "resolved".into()],
                retries: 3,
                ..Default::default()
            },
            actions: ActionsConfig::default(),
            ssh: ssh::SshConfig::default(),
            hooks: Default::default(),
            stacks: Default::default(),
        }
    }
}

impl Config {
    /// The embedded defaults (`src/config/default.toml`).
    pub fn default_embedded() -> Config {
        load::embedded()
    }

    /// Whether `[[contexts]]` marks this context `read_only`.
    pub fn context_read_only(&self, name: &str) -> bool {
        self.contexts.iter().any(|c| c.name == name && c.read_only)
    }

    /// Loads the config: `explicit` (`--config`) > `$CLUSTERDECK_CONFIG` > the XDG file.
    /// Returns the file actually read, or None when running on defaults. A missing XDG file is
    /// fine; a missing file that was asked for explicitly is an error.
    pub fn load(
        explicit: Option<&Path>,
        paths: &Paths,
    ) -> Result<(Config, Option<PathBuf>), ConfigError> {
        let env = std::env::var_os(CONFIG_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        load::load_from(explicit, env.as_deref(), paths)
    }

    /// Parses `text` as a user config (reported as coming from `file`) and merges it over the
    /// embedded defaults.
    pub fn from_user_str(text: &str, file: &Path) -> Result<Config, ConfigError> {
        load::from_user_str(text, file)
    }

    /// The keys bound to `action` in `mode`, empty when unbound.
    pub fn keys_for(&self, mode: &str, action: &str) -> Vec<String> {
        self.keys
            .get(mode)
            .and_then(|m| m.get(action))
            .map(KeySpec::keys)
            .unwrap_or_default()
    }

    /// The timeline path: configured, else the state-dir default.
    pub fn timeline_path(&self, paths: &Paths) -> Option<PathBuf> {
        self.timeline
            .path
            .clone()
            .or_else(|| paths.default_timeline_path())
    }

    /// The audit log path: configured, else the state-dir default.
    pub fn audit_path(&self, paths: &Paths) -> Option<PathBuf> {
        self.audit
            .path
            .clone()
            .or_else(|| paths.default_audit_path())
    }
}
