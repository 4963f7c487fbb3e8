//! Command line and start-up: load config and theme, pick the sources, build the gate (with no
//! executor at all in read-only mode) and hand over to the run loop.

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use color_eyre::eyre::{Result, WrapErr, eyre};
use tokio::sync::mpsc;

use crate::app::incidents::Incidents;
use crate::app::notify::Notifier;
use crate::app::timeline::{Timeline, export};
use crate::app::{App, Settings};
use crate::run::{self, Ended};
use std::time::Duration;

use crate::backends::{BackendHandle, BackendMsg, LogHandle, ReadHandle, UsageHandle, demo};
use crate::config::sources::{self, Overrides};
use crate::config::{Config, Paths, discovery};
use crate::input::{Keymap, Mode};
use crate::ops::audit::ship::{Shipper, SyslogTarget};
use crate::ops::audit::{AuditLog, DEFAULT_ROTATE_BYTES, Operator};
use crate::ops::{Executor, Gate};
use crate::ui::theme::Theme;
use crate::wall::{PaneSet, Wall};

/// Backend messages queued before backends wait for the UI (bounded: backpressure, not memory).
const CHANNEL_DEPTH: usize = 1024;

#[derive(Debug, Parser)]
#[command(
    name = "clusterdeck",
    version,
    about = "A terminal console for container clusters"
)]
pub struct Cli {
    /// Run on the built-in simulated cluster (3 managers, 9 workers, ~25 services).
    #[arg(long)]
    pub demo: bool,
    /// A larger simulated cluster with about this many replicas (implies --demo).
    #[arg(long, value_name = "REPLICAS")]
    pub demo_scale: Option<usize>,
    /// Seed of the simulation, for a reproducible demo.
    #[arg(long, default_value_t = 1, hide = true)]
    pub demo_seed: u64,
    /// Refuse every action that would change a cluster; mutating keys are hidden.
    #[arg(long)]
    pub read_only: bool,
    /// Wall display: every context's health at a glance, rotating pane sets, read-only by
    /// construction (no executor, watch-only backends, no prompts).
    #[arg(long)]
    pub wall: bool,
    /// With --wall: show this pane set (from [wall] sets) without rotating.
    #[arg(long, value_name = "SET", requires = "wall")]
    pub pin: Option<String>,
    /// Colour theme (dark, light, high-contrast, mono, or a file in <config>/themes/).
    #[arg(long)]
    pub theme: Option<String>,
    /// Config file (default: $CLUSTERDECK_CONFIG, then the XDG config directory).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Docker context to use (as `docker --context`); default: DOCKER_HOST, DOCKER_CONTEXT, the
    /// CLI's current context.
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,
    /// AWS profile for the EC2 backend (as `aws --profile`); overrides aws.profile of every
    /// context and AWS_PROFILE.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Kubernetes namespace to show (as `kubectl -n`); default: every namespace.
    #[arg(long, short = 'n', value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// Audit log file (default: <XDG state dir>/clusterdeck/audit.jsonl).
    #[arg(long, env = "CLUSTERDECK_AUDIT_LOG")]
    pub audit_log: Option<PathBuf>,
    /// Incident timeline file (default: [timeline] path, else beside the audit log).
    #[arg(long, env = "CLUSTERDECK_TIMELINE")]
    pub timeline: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<Sub>,
}

#[derive(Debug, Subcommand)]
pub enum Sub {
    /// Print the key bindings in effect (Markdown), as docs/keybindings.md shows them.
    Keys,
    /// List the available themes.
    Themes,
    /// Check the config file and print where everything is looked for.
    Config,
    /// Read and verify the audit log.
    Audit {
        #[command(subcommand)]
        cmd: crate::audit_cli::AuditCmd,
    },
    /// Write the incident timeline (events, incidents, acks, notes, actions) for a postmortem.
    Timeline {
        /// How far back: 90s, 30m, 2h, 1d.
        #[arg(long, default_value = "2h")]
        since: String,
        /// Only this context.
        #[arg(long = "in", value_name = "CONTEXT")]
        context_only: Option<String>,
        /// markdown or json.
        #[arg(long, default_value = "markdown")]
        format: String,
    },
}

pub struct Started {
    pub app: App,
    pub rx: mpsc::Receiver<BackendMsg>,
    pub fps: u32,
}

/// The wall, ready to run: everything up to the terminal.
pub struct StartedWall {
    pub wall: Wall,
    pub rx: mpsc::Receiver<BackendMsg>,
}

/// The gid of a group name.
fn group_id(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: getgrnam returns static storage or null; the gid is copied out at once.
    unsafe {
        let g = libc::getgrnam(c.as_ptr());
        (!g.is_null()).then(|| (*g).gr_gid)
    }
}

pub fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Everything up to (not including) the terminal: usable headless by tests.
pub fn start(cli: &Cli, cfg: Config, paths: &Paths) -> Result<Started> {
    let keymap = Keymap::from_config(&cfg.keys).map_err(|e| eyre!("key bindings: {e}"))?;
    let user_themes = paths.user_themes_dir();
    let theme_name = cli.theme.clone().unwrap_or_else(|| {
        if cli.wall {
            cfg.wall.theme.clone()
        } else {
            cfg.theme.clone()
        }
    });
    let theme =
        Theme::load(&theme_name, user_themes.as_deref(), no_color()).map_err(|e| eyre!("{e}"))?;
    let read_only = cli.read_only || cfg.read_only || cli.wall;
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    // ssh:// engines run the user's ssh with the config's options (before any backend dials).
    crate::backends::swarm::ssh::set_options(cfg.ssh.options());
    let b = start_backends(cli, &cfg, read_only, &tx);
    let operator = Operator::current();
    // Read-only: no executor is built and the backends have no write side, so nothing can
    // reach a cluster, whatever a view forgets to check.
    let gate = if read_only {
        Gate::read_only()
    } else {
        live_gate(cli, &cfg, paths, Executor::new(b.handles), operator.clone())?
    };
    let settings = Settings {
        read_only,
        wall: cli.wall,
        demo: cli.demo || cli.demo_scale.is_some(),
        no_color: no_color(),
        user_themes,
        operator: operator.user.clone(),
    };
    let mut app = App::new(gate, keymap, theme, settings);
    respond_settings(&mut app, cli, &cfg, paths);
    app.sources = b.sources;
    app.self_tx = Some(tx.clone());
    app.log_handles = b.logs;
    app.readers = b.readers;
    app.usage_handles = b.usage;
    app.sessions = crate::app::session::SessionSettings {
        ssh: cfg.ssh.clone(),
        swarm: b.swarm,
        kube: b.kube,
    };
    app.pipelines = crate::app::stacks::Pipelines {
        hooks: cfg.hooks.clone(),
        stacks: cfg.stacks.clone(),
    };
    app.launch = sources::aws::launch_configs(&cfg);
    for (name, production) in b.contexts {
        let read_only = cfg.context_read_only(&name);
        let c = app.store.cluster_mut(&name);
        c.production = production;
        c.read_only = read_only;
    }
    let fps = cfg.refresh.fps;
    Ok(Started { app, rx, fps })
}

/// Incident thresholds, reasons, the bell, the notification hooks and the shared timeline.
fn respond_settings(app: &mut App, cli: &Cli, cfg: &Config, paths: &Paths) {
    app.incidents = Incidents::new(cfg.incidents.clone());
    app.reason_policy = cfg.actions.reason;
    app.bell_on_critical = cfg.notify.bell.unwrap_or(!cli.wall);
    app.notifier = Notifier::spawn(cfg.notify.clone());
    // The demo's invented incidents stay out of the real timeline unless one is named.
    let path = match (&cli.timeline, cli.demo || cli.demo_scale.is_some()) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => None,
        (None, false) => timeline_path(cli, cfg, paths),
    };
    let Some(path) = path else { return };
    let group = cfg.timeline.group.as_deref().and_then(group_id);
    match Timeline::open(&path, cfg.timeline.keep_secs, cfg.timeline.max_bytes, group) {
        Ok(tl) => {
            app.timeline = Some(tl);
            // Acks and notes of open incidents, from before this console started.
            app.sync_timeline();
        }
        Err(e) => {
            app.ui.status = Some((
                format!("timeline {} cannot be opened: {e}", path.display()),
                crate::model::Severity::Warn,
            ));
        }
    }
}

/// `[timeline] path`, else beside the audit log in use (the host's shared place), else the
/// state directory.
fn timeline_path(cli: &Cli, cfg: &Config, paths: &Paths) -> Option<PathBuf> {
    if let Some(p) = &cfg.timeline.path {
        return Some(p.clone());
    }
    match cli.audit_log.clone().or_else(|| cfg.audit.path.clone()) {
        Some(audit) => Some(audit.with_file_name("timeline.jsonl")),
        None => cfg.timeline_path(paths),
    }
}

/// The backends started, and what the app needs to know of them.
struct Backends {
    sources: Vec<discovery::DiscoveredSource>,
    handles: Vec<BackendHandle>,
    logs: Vec<LogHandle>,
    readers: Vec<ReadHandle>,
    usage: Vec<UsageHandle>,
    /// The Swarm contexts' settings, for shells in tasks (their node endpoints and TLS).
    swarm: Vec<crate::backends::swarm::SwarmSettings>,
    /// The Kubernetes contexts' kubeconfig and context, for shells in pods.
    kube: Vec<crate::app::session::KubeAccess>,
    /// (context, production) in the order they first appear.
    contexts: Vec<(String, bool)>,
}

/// Starts the demo, or every backend the config and the environment name; watch-only where
/// the console or the context is read-only.
fn start_backends(
    cli: &Cli,
    cfg: &Config,
    read_only: bool,
    tx: &mpsc::Sender<BackendMsg>,
) -> Backends {
    let mut b = Backends {
        sources: Vec::new(),
        handles: Vec::new(),
        logs: Vec::new(),
        readers: Vec::new(),
        usage: Vec::new(),
        swarm: Vec::new(),
        kube: Vec::new(),
        contexts: Vec::new(),
    };
    if cli.demo || cli.demo_scale.is_some() {
        let size = match cli.demo_scale {
            Some(n) => demo::DemoSize::scaled(n),
            None => demo::DemoSize::standard(),
        };
        b.handles
            .extend(demo::spawn(size, cli.demo_seed, !read_only, tx.clone()));
        return b;
    }
    let env = discovery::Env::process(cli.context.as_deref());
    b.sources = discovery::discover(&env, cfg);
    let overrides = Overrides {
        profile: cli.profile.clone(),
        namespace: cli.namespace.clone(),
    };
    for spec in sources::backends(cfg, &b.sources, &overrides, &env) {
        add_context(&mut b.contexts, cfg, spec.cluster());
        // The wall follows no logs: it shows summaries and opens nothing.
        if !cli.wall {
            b.logs.extend(spec.logs(tx));
            b.readers.extend(spec.reader(tx));
            b.usage.extend(spec.usage(tx));
            match &spec {
                sources::BackendSpec::Swarm(s) => b.swarm.push(s.clone()),
                #[cfg(feature = "kube")]
                sources::BackendSpec::Kube(k) => b.kube.push(crate::app::session::KubeAccess {
                    cluster: k.cluster.clone(),
                    kubeconfig: k.kubeconfig.clone(),
                    context: k.context.clone(),
                }),
                _ => {}
            }
        }
        // A context marked `read_only` gets backends without a write side, like `--read-only`.
        let writable = !(read_only || cfg.context_read_only(spec.cluster()));
        b.handles.extend(spec.spawn(writable, tx.clone()));
    }
    b
}

/// The gate with the audit log (and its syslog copy) and the executor.
fn live_gate(
    cli: &Cli,
    cfg: &Config,
    paths: &Paths,
    executor: Executor,
    operator: Operator,
) -> Result<Gate> {
    let path = cli
        .audit_log
        .clone()
        .or_else(|| cfg.audit_path(paths))
        .unwrap_or_default();
    let gid = match &cfg.audit.group {
        Some(g) => Some(group_id(g).ok_or_else(|| eyre!("[audit] group `{g}`: no such group"))?),
        None => None,
    };
    let log = AuditLog::new(path)
        .with_rotation(cfg.audit.rotate_bytes.unwrap_or(DEFAULT_ROTATE_BYTES))
        .with_group(gid);
    let gate = Gate::live(log.clone(), executor, operator);
    Ok(match &cfg.audit.syslog {
        Some(t) => {
            let target = SyslogTarget::parse(t).map_err(|e| eyre!("[audit] syslog: {e}"))?;
            gate.with_shipper(Shipper::spawn(log, target))
        }
        None => gate,
    })
}

/// `--wall`: the same start-up with the write side never built, then the wall around the app.
pub fn start_wall(cli: &Cli, cfg: Config, paths: &Paths) -> Result<StartedWall> {
    debug_assert!(cli.wall);
    let sets: Vec<PaneSet> = cfg.wall.sets.iter().map(PaneSet::from_config).collect();
    let pin = cli.pin.clone().or_else(|| cfg.wall.pin.clone());
    if let Some(p) = &pin
        && !sets.iter().any(|s| &s.name == p)
    {
        let names: Vec<&str> = sets.iter().map(|s| s.name.as_str()).collect();
        return Err(eyre!(
            "--pin {p}: no pane set of that name in [wall] sets (have: {})",
            names.join(", ")
        ));
    }
    let rotate = Duration::from_secs(cfg.wall.rotate_secs.max(1));
    let Started { app, rx, .. } = start(cli, cfg, paths)?;
    let wall = Wall::new(app, sets, pin.as_deref(), rotate, chrono::Utc::now());
    Ok(StartedWall { wall, rx })
}

/// Records a context a backend serves (once), with its `production` flag from the config.
fn add_context(contexts: &mut Vec<(String, bool)>, cfg: &Config, name: &str) {
    if !contexts.iter().any(|(n, _)| n == name) {
        let production = cfg.contexts.iter().any(|c| c.name == name && c.production);
        contexts.push((name.to_string(), production));
    }
}

pub fn keys_markdown(keymap: &Keymap) -> String {
    let mut out = String::from(
        "# Key bindings\n\nGenerated from the built-in keymap by `clusterdeck keys`; every binding can be\nchanged in `config.toml` under `[keys.MODE]` (see `docs/configuration.md`).\n",
    );
    for mode in Mode::ALL {
        out.push_str(&format!(
            "\n## {} mode\n\n| keys | action | does |\n|---|---|---|\n",
            mode.name()
        ));
        for b in keymap.bindings().iter().filter(|b| b.mode == mode) {
            let keys: Vec<String> = b.keys.iter().map(|k| format!("`{k}`")).collect();
            let mark = if b.action.is_mutating() {
                " (changes a cluster; hidden in read-only mode)"
            } else {
                ""
            };
            out.push_str(&format!(
                "| {} | `{}` | {}{mark} |\n",
                keys.join(" "),
                b.action.name(),
                b.action.description_in(mode)
            ));
        }
    }
    out.push_str("\nText inputs (filter `/`, command line `:`, prompts) edit with `enter`, `esc` and `backspace`.\n");
    out
}

pub async fn run(cli: Cli) -> Result<()> {
    let paths = Paths::discover();
    let (cfg, file) = match Config::load(cli.config.as_deref(), &paths) {
        Ok(x) => x,
        Err(e) => {
            // Refuse to start on a bad file: running on defaults could silently drop a
            // read_only = true or a production marking.
            eprintln!("clusterdeck: {e}");
            std::process::exit(2);
        }
    };
    if let Some(sub) = &cli.command {
        return subcommand(sub, &cli, &cfg, file, &paths);
    }
    if cli.wall {
        let StartedWall { mut wall, rx } = start_wall(&cli, cfg, &paths).unwrap_or_else(|e| {
            eprintln!("clusterdeck: {e}");
            std::process::exit(2);
        });
        // One frame a second at most: the wall is read from across a room, not typed at.
        let ended = run::run(&mut wall, rx, Duration::from_secs(1))
            .await
            .wrap_err("wall display failed")?;
        if ended != Ended::Quit {
            let _ = writeln!(
                std::io::stderr(),
                "clusterdeck: wall display stopped: {}",
                ended.reason()
            );
        }
        return Ok(());
    }
    let Started { mut app, rx, fps } = start(&cli, cfg, &paths).unwrap_or_else(|e| {
        eprintln!("clusterdeck: {e}");
        std::process::exit(2);
    });
    let budget = Duration::from_secs(1) / fps.clamp(1, 60);
    let ended = run::run(&mut app, rx, budget).await;
    // Operations still in flight get their outcome, however the console ended.
    app.shutdown(ended.as_ref().map_or("the console failed", |e| e.reason()));
    if let Ok(e @ (Ended::HangUp | Ended::Terminated)) = &ended {
        // The session may be gone: a failed write must not panic.
        let _ = writeln!(std::io::stderr(), "clusterdeck: ended by {}", e.reason());
    }
    ended.map(|_| ()).wrap_err("console failed")
}

fn subcommand(
    sub: &Sub,
    cli: &Cli,
    cfg: &Config,
    file: Option<PathBuf>,
    paths: &Paths,
) -> Result<()> {
    let shown = |p: Option<PathBuf>| p.map_or_else(|| "-".into(), |d| d.display().to_string());
    match sub {
        Sub::Keys => {
            let km = Keymap::from_config(&cfg.keys).map_err(|e| eyre!("key bindings: {e}"))?;
            print!("{}", keys_markdown(&km));
        }
        Sub::Themes => {
            for t in Theme::available(paths.user_themes_dir().as_deref()) {
                println!("{t}");
            }
        }
        Sub::Audit { cmd } => {
            let default = cli.audit_log.clone().or_else(|| cfg.audit_path(paths));
            let code = crate::audit_cli::run(cmd.clone(), default)?;
            std::process::exit(code);
        }
        Sub::Timeline {
            since,
            context_only,
            format,
        } => {
            let back = export::parse_since(since).map_err(|e| eyre!("{e}"))?;
            let format = export::Format::parse(format).map_err(|e| eyre!("--format {e}"))?;
            let path = cli
                .timeline
                .clone()
                .or_else(|| timeline_path(cli, cfg, paths))
                .ok_or_else(|| eyre!("no timeline path: set [timeline] path"))?;
            let entries = crate::app::timeline::read_entries(&path)
                .map_err(|e| eyre!("{}: {e}", path.display()))?;
            let from = chrono::Utc::now() - back;
            let picked = export::select(entries, from, context_only.as_deref());
            let title = format!(
                "{} since {} UTC",
                context_only.as_deref().unwrap_or("all contexts"),
                from.format("%Y-%m-%d %H:%M:%S")
            );
            print!("{}", export::render(&picked, format, &title));
        }
        Sub::Config => {
            let file = file.map_or_else(
                || "(none; embedded defaults)".into(),
                |f| f.display().to_string(),
            );
            println!("config file: {file}");
            println!("config dir:  {}", shown(paths.config_dir.clone()));
            println!("audit log:   {}", shown(cfg.audit_path(paths)));
            println!("timeline:    {}", shown(timeline_path(cli, cfg, paths)));
            for s in discovery::discover_from_process(cfg) {
                println!("{:<10} {:<10} {:?}", s.context, s.kind.label(), s.discovery);
            }
        }
    }
    Ok(())
}
