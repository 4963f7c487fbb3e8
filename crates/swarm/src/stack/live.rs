//! A stack against the engine: reading what runs, resolving image digests at the registry
//! (as `docker stack deploy --resolve-image always`, its default), applying a confirmed plan
//! with each service's version as planned, following the rollouts, and removing a stack.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use bollard::Docker;

use crate::Connected;
use bollard::models::{ConfigSpec, NetworkCreateRequest, SecretSpec, ServiceSpec};
use bollard::query_parameters::{
    ListConfigsOptions, ListNetworksOptions, ListSecretsOptions, ListServicesOptions,
    ListTasksOptions, UpdateServiceOptions,
};
use serde_json::Value;
use tokio::sync::mpsc;

use super::convert::NAMESPACE;
use super::plan::{Change, Current, Resolved, Running, StackPlan, fill_ids};

/// How long a deploy follows its rollouts before it says they have not settled.
pub const SETTLE: Duration = Duration::from_secs(180);

fn engine_err(e: bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message,
        other => other.to_string(),
    }
}

/// Query-string escaping of everything but unreserved characters.
fn percent(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn by_stack(stack: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{NAMESPACE}={stack}")])])
}

/// A spec in the engine's JSON as bollard's model takes it: the Engine API's document calls
/// the container's health check `HealthCheck` where the engine itself writes `Healthcheck`
/// (it reads either), and the model knows only the former.
pub fn typed(spec: &Value) -> Result<ServiceSpec, String> {
    let mut v = spec.clone();
    if let Some(cs) = v["TaskTemplate"]["ContainerSpec"].as_object_mut()
        && let Some(h) = cs.remove("Healthcheck")
    {
        cs.insert("HealthCheck".into(), h);
    }
    serde_json::from_value(v).map_err(|e| format!("service spec: {e}"))
}

/// The stack's services and every network, secret and config, by name. Services are read
/// as the engine writes them (bollard's model would drop the health check, see [`typed`]).
pub async fn current(e: &Connected, stack: &str) -> Result<Current, String> {
    let d = &e.docker;
    let filter = serde_json::json!({"label": [format!("{NAMESPACE}={stack}")]}).to_string();
    let path = format!("/services?filters={}", percent(&filter));
    let services = e
        .link
        .get_json(d, &path, Duration::from_secs(30))
        .await
        .map_err(|(m, _)| m)?;
    let mut c = Current::default();
    for s in services.as_array().map(Vec::as_slice).unwrap_or_default() {
        let (Some(id), Some(name)) = (s["ID"].as_str(), s["Spec"]["Name"].as_str()) else {
            continue;
        };
        c.services.insert(
            name.to_string(),
            Running {
                id: id.to_string(),
                version: s["Version"]["Index"].as_u64().unwrap_or(0),
                spec: s["Spec"].clone(),
            },
        );
    }
    for n in d
        .list_networks(None::<ListNetworksOptions>)
        .await
        .map_err(engine_err)?
    {
        if let (Some(name), Some(id)) = (n.name, n.id) {
            c.networks.insert(name, id);
        }
    }
    for s in d
        .list_secrets(None::<ListSecretsOptions>)
        .await
        .map_err(engine_err)?
    {
        if let (Some(name), Some(id)) = (s.spec.and_then(|s| s.name), s.id) {
            c.secrets.insert(name, id);
        }
    }
    for s in d
        .list_configs(None::<ListConfigsOptions>)
        .await
        .map_err(engine_err)?
    {
        if let (Some(name), Some(id)) = (s.spec.and_then(|s| s.name), s.id) {
            c.configs.insert(name, id);
        }
    }
    Ok(c)
}

/// Each image's digest and platforms from its registry (the engine asks it), or why not.
pub async fn resolve(
    d: &Docker,
    images: impl IntoIterator<Item = String>,
) -> BTreeMap<String, Result<Resolved, String>> {
    let mut out = BTreeMap::new();
    for image in images {
        if out.contains_key(&image) || image.contains('@') {
            continue;
        }
        let answer = match tokio::time::timeout(
            Duration::from_secs(15),
            d.inspect_registry_image(&image, None),
        )
        .await
        {
            Err(_) => Err("the registry did not answer within 15 s".to_string()),
            Ok(Err(e)) => Err(engine_err(e)),
            Ok(Ok(r)) => match r.descriptor.digest {
                Some(digest) => Ok(Resolved {
                    digest,
                    platforms: r
                        .platforms
                        .into_iter()
                        .filter_map(|p| Some((p.architecture?, p.os?)))
                        .collect(),
                }),
                None => Err("the registry gave no digest".to_string()),
            },
        };
        out.insert(image, answer);
    }
    out
}

/// What an apply reports as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    Line(String),
}

/// What was done, for the outcome record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Applied {
    /// Service → "created", "updated", "removed".
    pub done: BTreeMap<String, String>,
    /// Service → its image as it runs after the deploy.
    pub images: BTreeMap<String, String>,
    /// Rollouts that did not settle, with why.
    pub unsettled: Vec<String>,
}

/// Sends a confirmed plan. Every update carries the version the plan was made from: a
/// service someone changed since is refused by the engine, and nothing after it is sent.
pub async fn apply(
    e: &Connected,
    plan: &StackPlan,
    base: &Path,
    tx: &mpsc::Sender<Progress>,
) -> Result<Applied, String> {
    let say = |s: String| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(Progress::Line(s)).await;
        }
    };
    let d = &e.docker;
    let mut applied = Applied::default();
    unmoved(e, plan).await?;
    create_objects(d, plan, base, &say).await?;
    // Ids of what was just created.
    let now = if plan.networks.is_empty() && plan.secrets.is_empty() && plan.configs.is_empty() {
        None
    } else {
        Some(current(e, &plan.stack).await?)
    };
    let mut follow = Vec::new();
    for s in &plan.services {
        let mut spec = s.spec.clone();
        if let Some(now) = &now {
            fill_ids(&mut spec, now);
        }
        match (&s.change, &s.current) {
            (Change::Create, _) => {
                let typed = typed(&spec).map_err(|e| format!("{}: {e}", s.name))?;
                d.create_service(typed, None)
                    .await
                    .map_err(|e| format!("creating {}: {}", s.name, engine_err(e)))?;
                say(format!("{}: created", s.name)).await;
                applied.done.insert(s.name.clone(), "created".into());
                follow.push(s);
            }
            (Change::Update(_), Some((id, version))) => {
                let typed = typed(&spec).map_err(|e| format!("{}: {e}", s.name))?;
                let opts = UpdateServiceOptions {
                    version: i32::try_from(*version).unwrap_or(i32::MAX),
                    ..Default::default()
                };
                d.update_service(id, typed, opts, None).await.map_err(|e| {
                    let why = engine_err(e);
                    if why.contains("out of sequence") {
                        format!(
                            "{} was changed by someone else since the plan (version {version}); nothing more was sent",
                            s.name
                        )
                    } else {
                        format!("updating {}: {why}", s.name)
                    }
                })?;
                say(format!("{}: updated", s.name)).await;
                applied.done.insert(s.name.clone(), "updated".into());
                follow.push(s);
            }
            (Change::Remove, Some((id, version))) => {
                let now = d
                    .inspect_service(id, None)
                    .await
                    .map_err(|e| format!("{}: {}", s.name, engine_err(e)))?;
                let v = now.version.and_then(|v| v.index).unwrap_or(0);
                if v != *version {
                    return Err(format!(
                        "{} was changed by someone else since the plan (version {version} → {v}); it was not removed",
                        s.name
                    ));
                }
                d.delete_service(id)
                    .await
                    .map_err(|e| format!("removing {}: {}", s.name, engine_err(e)))?;
                say(format!("{}: removed", s.name)).await;
                applied.done.insert(s.name.clone(), "removed".into());
            }
            _ => {}
        }
    }
    for s in follow {
        match settle(d, &s.name, s.image_after.as_deref(), tx).await {
            Ok(image) => {
                applied.images.insert(s.name.clone(), image);
            }
            Err(why) => {
                say(format!("{}: {why}", s.name)).await;
                applied.unsettled.push(format!("{}: {why}", s.name));
            }
        }
    }
    Ok(applied)
}

/// Creates the networks, secrets and configs the plan lists.
async fn create_objects<F, Fut>(
    d: &Docker,
    plan: &StackPlan,
    base: &Path,
    say: &F,
) -> Result<(), String>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for (name, req) in &plan.networks {
        let req: NetworkCreateRequest =
            serde_json::from_value(req.clone()).map_err(|e| format!("network {name}: {e}"))?;
        d.create_network(req)
            .await
            .map_err(|e| format!("creating network {name}: {}", engine_err(e)))?;
        say(format!("network {name}: created")).await;
    }
    for (name, src) in &plan.secrets {
        let data = read_file(base, &src.file, "secret", name)?;
        let spec = SecretSpec {
            name: Some(name.clone()),
            labels: Some(labels(&src.labels)),
            data: Some(data),
            ..Default::default()
        };
        d.create_secret(spec)
            .await
            .map_err(|e| format!("creating secret {name}: {}", engine_err(e)))?;
        say(format!("secret {name}: created")).await;
    }
    for (name, src) in &plan.configs {
        let data = read_file(base, &src.file, "config", name)?;
        let spec = ConfigSpec {
            name: Some(name.clone()),
            labels: Some(labels(&src.labels)),
            data: Some(data),
            ..Default::default()
        };
        d.create_config(spec)
            .await
            .map_err(|e| format!("creating config {name}: {}", engine_err(e)))?;
        say(format!("config {name}: created")).await;
    }
    Ok(())
}

/// Refuses the whole plan when any service it was made against has changed since (or one
/// it would create has appeared): nothing is sent.
async fn unmoved(e: &Connected, plan: &StackPlan) -> Result<(), String> {
    let now = current(e, &plan.stack).await?;
    for s in &plan.services {
        let have = now.services.get(&s.name).map(|r| (r.id.clone(), r.version));
        if have != s.current {
            let what = match (&s.current, &have) {
                (None, Some(_)) => "was created by someone else",
                (Some(_), None) => "was removed by someone else",
                _ => "was changed by someone else",
            };
            return Err(format!(
                "{} {what} since the plan; nothing was sent (plan again to see it as it is now)",
                s.name
            ));
        }
    }
    Ok(())
}

fn read_file(base: &Path, file: &str, what: &str, name: &str) -> Result<String, String> {
    use base64::Engine;
    let path = base.join(file);
    let bytes = std::fs::read(&path)
        .map_err(|e| format!("{what} {name}: cannot read {}: {e}", path.display()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn labels(m: &serde_json::Map<String, Value>) -> HashMap<String, String> {
    m.iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect()
}

/// Follows one service until its tasks run the new spec: every task meant to run is running
/// the planned image (replicated: as many as asked). A paused update ends it with the
/// engine's message and the failing task's error.
async fn settle(
    d: &Docker,
    name: &str,
    image: Option<&str>,
    tx: &mpsc::Sender<Progress>,
) -> Result<String, String> {
    let start = Instant::now();
    let mut last = String::new();
    loop {
        let s = d.inspect_service(name, None).await.map_err(engine_err)?;
        let spec = s.spec.clone().unwrap_or_default();
        let want = spec
            .mode
            .as_ref()
            .and_then(|m| m.replicated.as_ref())
            .and_then(|r| r.replicas);
        let status = s.update_status.as_ref();
        let state = status
            .and_then(|u| u.state)
            .map(|st| st.to_string())
            .unwrap_or_default();
        let tasks = d
            .list_tasks(Some(ListTasksOptions {
                filters: Some(HashMap::from([
                    ("service".to_string(), vec![name.to_string()]),
                    ("desired-state".to_string(), vec!["running".to_string()]),
                ])),
            }))
            .await
            .map_err(engine_err)?;
        let running_new = tasks
            .iter()
            .filter(|t| {
                t.status
                    .as_ref()
                    .and_then(|s| s.state)
                    .map(|s| s.to_string())
                    .as_deref()
                    == Some("running")
                    && image.is_none_or(|i| {
                        t.spec
                            .as_ref()
                            .and_then(|s| s.container_spec.as_ref())
                            .and_then(|c| c.image.as_deref())
                            == Some(i)
                    })
            })
            .count() as i64;
        let total = want.unwrap_or(tasks.len() as i64);
        let line = format!(
            "{name}: {running_new}/{total} running the new spec{}",
            if state.is_empty() {
                String::new()
            } else {
                format!(" (update {state})")
            }
        );
        if line != last {
            let _ = tx.send(Progress::Line(line.clone())).await;
            last = line;
        }
        if state == "paused" || state == "rollback_paused" || state == "rollback_completed" {
            let message = status.and_then(|u| u.message.clone()).unwrap_or_default();
            let task_err = failing_task(d, name).await;
            return Err(format!("update {state}: {message}{task_err}"));
        }
        if running_new >= total && total > 0 && (state.is_empty() || state == "completed") {
            return Ok(spec
                .task_template
                .and_then(|t| t.container_spec)
                .and_then(|c| c.image)
                .unwrap_or_default());
        }
        if start.elapsed() > SETTLE {
            return Err(format!("not settled after {} s", SETTLE.as_secs()));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The newest task of the service that failed, with its error.
async fn failing_task(d: &Docker, name: &str) -> String {
    let Ok(tasks) = d
        .list_tasks(Some(ListTasksOptions {
            filters: Some(HashMap::from([(
                "service".to_string(),
                vec![name.to_string()],
            )])),
        }))
        .await
    else {
        return String::new();
    };
    tasks
        .iter()
        .filter_map(|t| {
            let st = t.status.as_ref()?;
            let err = st.err.clone()?;
            Some((st.timestamp.clone().unwrap_or_default(), err))
        })
        .max()
        .map(|(_, e)| format!("; the failing task: {e}"))
        .unwrap_or_default()
}

/// Removes every service, then the networks, secrets and configs, labelled with the stack.
pub async fn remove(
    d: &Docker,
    stack: &str,
    tx: &mpsc::Sender<Progress>,
) -> Result<Vec<String>, String> {
    let mut removed = Vec::new();
    let services = d
        .list_services(Some(ListServicesOptions {
            filters: Some(by_stack(stack)),
            ..Default::default()
        }))
        .await
        .map_err(engine_err)?;
    if services.is_empty() {
        return Err(format!("no stack named {stack}"));
    }
    for s in services {
        let (Some(id), name) = (s.id, s.spec.and_then(|s| s.name).unwrap_or_default()) else {
            continue;
        };
        d.delete_service(&id)
            .await
            .map_err(|e| format!("removing {name}: {}", engine_err(e)))?;
        let _ = tx
            .send(Progress::Line(format!("service {name}: removed")))
            .await;
        removed.push(format!("service {name}"));
    }
    for s in d
        .list_secrets(Some(ListSecretsOptions {
            filters: Some(by_stack(stack)),
        }))
        .await
        .map_err(engine_err)?
    {
        let name = s.spec.and_then(|s| s.name).unwrap_or_default();
        if let Some(id) = s.id {
            d.delete_secret(&id)
                .await
                .map_err(|e| format!("removing secret {name}: {}", engine_err(e)))?;
            removed.push(format!("secret {name}"));
        }
    }
    for c in d
        .list_configs(Some(ListConfigsOptions {
            filters: Some(by_stack(stack)),
        }))
        .await
        .map_err(engine_err)?
    {
        let name = c.spec.and_then(|s| s.name).unwrap_or_default();
        if let Some(id) = c.id {
            d.delete_config(&id)
                .await
                .map_err(|e| format!("removing config {name}: {}", engine_err(e)))?;
            removed.push(format!("config {name}"));
        }
    }
    // Networks last: a task still detaching holds its network for a moment.
    remove_networks(d, stack, tx, &mut removed).await?;
    Ok(removed)
}

/// The stack's networks, each tried again for up to 10 s while its last tasks detach.
async fn remove_networks(
    d: &Docker,
    stack: &str,
    tx: &mpsc::Sender<Progress>,
    removed: &mut Vec<String>,
) -> Result<(), String> {
    let nets = d
        .list_networks(Some(ListNetworksOptions {
            filters: Some(by_stack(stack)),
        }))
        .await
        .map_err(engine_err)?;
    for n in nets {
        let name = n.name.unwrap_or_default();
        let Some(id) = n.id else { continue };
        let mut tries = 0;
        loop {
            match d.remove_network(&id).await {
                Ok(()) => break,
                Err(_) if tries < 20 => {
                    tries += 1;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(format!("removing network {name}: {}", engine_err(e))),
            }
        }
        let _ = tx
            .send(Progress::Line(format!("network {name}: removed")))
            .await;
        removed.push(format!("network {name}"));
    }
    Ok(())
}
