//! `:stack deploy NAME [FILE] [prune] [VAR=VALUE…] [image=REF…]`: a compose file planned
//! against the swarm (each service: create, update field by field, unchanged, remove with
//! prune; networks and secrets to create) and shown in the output view; `:stack apply NAME`
//! sends exactly that plan (a service changed since is refused), follows the rollouts and
//! audits it (the file's SHA-256, the variables with secrets redacted, each service's image
//! before and after). `:stack rm NAME NAME` removes a stack (its name typed twice).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use clusterdeck_swarm::SwarmSettings;
use clusterdeck_swarm::stack::{self, Change, DeployRequest, StackPlan};

use crate::config::pipelines::{HookConfig, StackConfig};
use crate::model::Severity;
use crate::ops::Activity;
use crate::prompt::{Input, InputKind, PromptKind};
use crate::state::App;

/// Hooks and stacks from the config.
#[derive(Clone, Debug, Default)]
pub struct Pipelines {
    pub hooks: BTreeMap<String, HookConfig>,
    pub stacks: BTreeMap<String, StackConfig>,
}

/// What `:stack deploy` was given.
struct DeployArgs {
    name: String,
    file: PathBuf,
    prune: bool,
    typed_vars: BTreeMap<String, String>,
    /// Images typed out to deploy although they name no version.
    forced: Vec<String>,
    context: Option<String>,
}

impl DeployArgs {
    /// `NAME [FILE] [prune] [VAR=VALUE…] [image=REF…]`; the file and context may come from
    /// `[stacks.NAME]`.
    fn parse(args: &[String], stacks: &BTreeMap<String, StackConfig>) -> Result<Self, String> {
        let name = args.first().ok_or(USAGE)?.clone();
        if !stack::valid_stack_name(&name) {
            return Err(format!("{name:?} is not a stack name"));
        }
        let configured = stacks.get(&name).cloned();
        let mut file = configured.as_ref().map(|c| c.file.clone());
        let mut prune = false;
        let mut typed_vars = BTreeMap::new();
        let mut forced = Vec::new();
        for a in &args[1..] {
            if a == "prune" {
                prune = true;
            } else if let Some(img) = a.strip_prefix("image=") {
                forced.push(img.to_string());
            } else if let Some((k, v)) = a.split_once('=') {
                typed_vars.insert(k.to_string(), v.to_string());
            } else {
                file = Some(PathBuf::from(a));
            }
        }
        let file = file.ok_or_else(|| {
            format!("which compose file? (:stack deploy {name} FILE, or [stacks.{name}] file = … in the config)")
        })?;
        Ok(DeployArgs {
            name,
            file,
            prune,
            typed_vars,
            forced,
            context: configured.and_then(|c| c.context),
        })
    }
}

/// A plan waiting for `:stack apply`.
#[derive(Clone, Debug)]
pub struct Planned {
    pub cluster: String,
    pub file: PathBuf,
    pub sha256: String,
    pub variables: BTreeMap<String, String>,
    pub prune: bool,
    pub base: PathBuf,
    pub plan: StackPlan,
}

pub const USAGE: &str = "stack deploy NAME [FILE] [prune] [VAR=VALUE…] [image=REF…] · stack apply NAME · stack rm NAME NAME";

impl App {
    pub(crate) fn stack_command(&mut self, args: &[String]) -> Result<(), String> {
        match args.first().map(String::as_str) {
            None => {
                self.open_stacks();
                Ok(())
            }
            Some("deploy") => self.stack_plan(&args[1..]),
            Some("apply") if args.len() == 2 => self.stack_apply(&args[1]),
            Some("rm") if args.len() == 3 => {
                if args[1] != args[2] {
                    return Err(format!("the names differ: type {} twice", args[1]));
                }
                self.stack_remove(&args[1])
            }
            Some("rm") if args.len() == 2 => Err(format!(
                "removing a stack removes all its services: type its name twice (:stack rm {0} {0})",
                args[1]
            )),
            _ => Err(USAGE.into()),
        }
    }

    fn swarm_settings(&self, cluster: &str) -> Result<SwarmSettings, String> {
        self.sessions
            .swarm
            .iter()
            .find(|s| s.cluster == cluster)
            .cloned()
            .ok_or_else(|| format!("context {cluster} has no swarm"))
    }

    pub(crate) fn stack_plan(&mut self, args: &[String]) -> Result<(), String> {
        if self.read_only_here() {
            return Err("read-only here: no stack is deployed".into());
        }
        let DeployArgs {
            name,
            file,
            prune,
            typed_vars,
            forced,
            context,
        } = DeployArgs::parse(args, &self.pipelines.stacks)?;
        let cluster = context.unwrap_or_else(|| self.cluster_name());
        let settings = self.swarm_settings(&cluster)?;
        let bytes = std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let text = String::from_utf8(bytes.clone())
            .map_err(|_| format!("{}: not UTF-8 text", file.display()))?;
        // Typed values first, then the console's environment.
        let lookup = |k: &str| typed_vars.get(k).cloned().or_else(|| std::env::var(k).ok());
        let loaded = match clusterdeck_compose::load(&file.display().to_string(), &text, &lookup) {
            Ok(l) => l,
            // An unset variable is asked for (nothing is planned without it).
            Err(e) if e.reason.starts_with("variable ") && e.reason.contains(" is not set") => {
                let var = e.reason["variable ".len()..]
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                let kind = PromptKind::StackVar {
                    args: args.to_vec(),
                    var,
                };
                self.status(e.to_string(), Severity::Warn);
                self.ui.input = Some(Input::new(InputKind::Prompt(kind), ""));
                return Ok(());
            }
            Err(e) => return Err(e.to_string()),
        };
        for svc in loaded.file.services.values() {
            let image = svc.image.clone().unwrap_or_default();
            if let Some(why) = clusterdeck_compose::image::unpinned(&image)
                && !forced.contains(&image)
            {
                return Err(format!(
                    "{why}; to deploy it anyway, type it out: image={image}"
                ));
            }
        }
        let variables = clusterdeck_compose::redacted(&loaded.used);
        let env: BTreeMap<String, String> = loaded
            .file
            .services
            .values()
            .flat_map(|s| s.environment.iter())
            .filter(|(_, v)| v.is_none())
            .filter_map(|(k, _)| lookup(k).map(|v| (k.clone(), v)))
            .collect();
        let base = file
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let req = DeployRequest {
            stack: name.clone(),
            base: base.clone(),
            loaded,
            prune,
            env,
        };
        let out = self
            .start_job(format!("stack {name} · plan"))
            .ok_or("no runtime to plan in")?;
        let slot = self.jobs.planned.clone();
        let sha256 = crate::ops::audit::sha256_hex(&bytes);
        if let Ok(mut s) = slot.lock() {
            *s = None;
        }
        let file_shown = file.clone();
        tokio::spawn(async move {
            out.line(format!(
                "{} (sha256 {}) → stack {name} on {cluster}",
                file_shown.display(),
                &sha256[..12]
            ))
            .await;
            let plan = match connect(&settings).await {
                Ok(e) => stack::plan_deploy(&e, &req).await,
                Err(e) => Err(e),
            };
            match plan {
                Ok(plan) => {
                    out.lines(describe(&plan)).await;
                    let summary = summary(&plan);
                    let nothing = plan.sends_nothing();
                    if let Ok(mut s) = slot.lock() {
                        *s = Some(Planned {
                            cluster,
                            file: file_shown,
                            sha256,
                            variables,
                            prune,
                            base,
                            plan,
                        });
                    }
                    let next = if nothing {
                        "nothing to send".to_string()
                    } else {
                        format!("{summary} — type :stack apply {name} to deploy it (esc closes)")
                    };
                    out.end(Ok(next), Value::Null).await;
                }
                Err(e) => out.end(Err(e), Value::Null).await,
            }
        });
        Ok(())
    }

    fn stack_apply(&mut self, name: &str) -> Result<(), String> {
        if self.read_only_here() {
            return Err("read-only here: no stack is deployed".into());
        }
        let planned = self
            .jobs
            .planned
            .lock()
            .ok()
            .and_then(|mut s| s.take_if(|p| p.plan.stack == name))
            .ok_or_else(|| format!("no plan for stack {name}: :stack deploy {name} first"))?;
        if planned.cluster != self.cluster_name() {
            return Err(format!(
                "the plan is for context {}: switch to it to apply",
                planned.cluster
            ));
        }
        let settings = self.swarm_settings(&planned.cluster)?;
        let activity = deploy_activity(name, &planned);
        let out = self
            .start_job(format!("stack {name} · deploy"))
            .ok_or("no runtime to deploy in")?;
        if let Err(e) = self.audit_job(&out, activity) {
            self.ui.modal = None;
            return Err(e);
        }
        tokio::spawn(async move {
            let e = match connect(&settings).await {
                Ok(e) => e,
                Err(e) => return out.end(Err(e), Value::Null).await,
            };
            let (tx, fwd) = forward(&out);
            let r = stack::live::apply(&e, &planned.plan, &planned.base, &tx).await;
            drop(tx);
            let _ = fwd.await;
            match r {
                Ok(a) => {
                    let after =
                        json!({"done": a.done, "images": a.images, "unsettled": a.unsettled});
                    let summary = format!("{} service(s) changed", a.done.len());
                    if a.unsettled.is_empty() {
                        out.end(Ok(summary), after).await
                    } else {
                        out.end(
                            Err(format!(
                                "{summary}; not settled: {}",
                                a.unsettled.join("; ")
                            )),
                            after,
                        )
                        .await
                    }
                }
                Err(why) => out.end(Err(why), Value::Null).await,
            }
        });
        Ok(())
    }

    fn stack_remove(&mut self, name: &str) -> Result<(), String> {
        if self.read_only_here() {
            return Err("read-only here: no stack is removed".into());
        }
        let cluster = self.cluster_name();
        let settings = self.swarm_settings(&cluster)?;
        let activity = Activity {
            context: cluster,
            backend: "swarm".into(),
            verb: "stack-rm".into(),
            kind: "stack".into(),
            id: name.to_string(),
            name: name.to_string(),
            cli: format!("docker stack rm {name}"),
            params: json!({}),
        };
        let out = self
            .start_job(format!("stack {name} · remove"))
            .ok_or("no runtime to remove in")?;
        if let Err(e) = self.audit_job(&out, activity) {
            self.ui.modal = None;
            return Err(e);
        }
        self.status(format!("removing stack {name}"), Severity::Info);
        let name = name.to_string();
        tokio::spawn(async move {
            let e = match connect(&settings).await {
                Ok(e) => e,
                Err(e) => return out.end(Err(e), Value::Null).await,
            };
            let (tx, fwd) = forward(&out);
            let r = stack::live::remove(&e.docker, &name, &tx).await;
            drop(tx);
            let _ = fwd.await;
            match r {
                Ok(removed) => {
                    let n = removed.len();
                    out.end(
                        Ok(format!("{n} objects removed")),
                        json!({ "removed": removed }),
                    )
                    .await
                }
                Err(why) => out.end(Err(why), Value::Null).await,
            }
        });
        Ok(())
    }
}

/// A channel for the backend's progress lines, forwarded to the job's output until it closes.
fn forward(
    out: &crate::jobs::Out,
) -> (
    tokio::sync::mpsc::Sender<stack::Progress>,
    tokio::task::JoinHandle<()>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let o = out.clone();
    let fwd = tokio::spawn(async move {
        while let Some(stack::Progress::Line(l)) = rx.recv().await {
            o.line(l).await;
        }
    });
    (tx, fwd)
}

/// A deploy's audit intent: the file and its SHA-256, the variables (redacted), each
/// service's change and image before/after, what is created.
fn deploy_activity(name: &str, planned: &Planned) -> Activity {
    let services: Vec<Value> = planned
        .plan
        .services
        .iter()
        .map(|s| {
            json!({
                "service": s.name,
                "change": s.change.label(),
                "image_before": s.image_before,
                "image_after": s.image_after,
            })
        })
        .collect();
    Activity {
        context: planned.cluster.clone(),
        backend: "swarm".into(),
        verb: "stack-deploy".into(),
        kind: "stack".into(),
        id: name.to_string(),
        name: name.to_string(),
        cli: format!(
            "docker stack deploy -c {}{} {name}",
            planned.file.display(),
            if planned.prune { " --prune" } else { "" }
        ),
        params: json!({
            "file": planned.file.display().to_string(),
            "sha256": planned.sha256,
            "variables": planned.variables,
            "prune": planned.prune,
            "services": services,
            "networks": planned.plan.networks.keys().collect::<Vec<_>>(),
            "secrets": planned.plan.secrets.keys().collect::<Vec<_>>(),
        }),
    }
}

/// The first manager that answers.
async fn connect(s: &SwarmSettings) -> Result<clusterdeck_swarm::Connected, String> {
    clusterdeck_swarm::connect_any(&s.endpoints, s.tls.as_deref()).await
}

fn summary(p: &StackPlan) -> String {
    format!(
        "{} to create, {} to update, {} unchanged, {} to remove",
        p.count("create"),
        p.count("update"),
        p.count("unchanged"),
        p.count("remove")
    )
}

/// The plan as the output view shows it.
fn describe(p: &StackPlan) -> Vec<String> {
    let mut out = Vec::new();
    for n in p.networks.keys() {
        out.push(format!("+ network {n}"));
    }
    for n in p.secrets.keys() {
        out.push(format!("+ secret {n}"));
    }
    for n in p.configs.keys() {
        out.push(format!("+ config {n}"));
    }
    for k in &p.kept {
        out.push(format!("= {k}"));
    }
    for s in &p.services {
        match &s.change {
            Change::Create => out.push(format!(
                "+ {} (create, {})",
                s.name,
                s.image_after.as_deref().unwrap_or("")
            )),
            Change::Unchanged => out.push(format!("= {} (unchanged)", s.name)),
            Change::Remove => out.push(format!("- {} (remove, prune)", s.name)),
            Change::Update(fields) => {
                out.push(format!("~ {} (update)", s.name));
                for f in fields {
                    out.push(format!(
                        "    {}: {} → {}",
                        f.path,
                        f.before.as_deref().unwrap_or("(none)"),
                        f.after.as_deref().unwrap_or("(none)")
                    ));
                }
            }
        }
    }
    for w in &p.warnings {
        out.push(format!("! {w}"));
    }
    out.push(summary(p));
    out
}
