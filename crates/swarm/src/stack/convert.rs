//! A compose file's services as Swarm service specs, the way `docker stack deploy` (docker
//! CLI 28) writes them: the same names (`STACK_service`), labels (`com.docker.stack.namespace`
//! on services, containers, networks, secrets and configs; `com.docker.stack.image` with the
//! image as written) and the same fields: only what the file sets, plus the few the CLI always
//! sends (parallelism 1 in an update config, empty resources). The CLI 28's `docker service
//! inspect` shows more (a 10 s stop grace period, restart and rollback defaults) when the engine
//! is older: it fills those in for display; the engine's own spec has them only when set. So
//! the docker CLI sees the same stack and a redeploy by either tool finds nothing to change.
//! Specs are built as Engine API JSON.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use clusterdeck_compose::model::{self, ComposeFile, Service};

pub const NAMESPACE: &str = "com.docker.stack.namespace";
pub const IMAGE: &str = "com.docker.stack.image";

/// Objects a stack owns, by the names the engine will know them by.
#[derive(Debug, Clone, Default)]
pub struct Desired {
    /// Full service name → spec (images as written: pinning comes later).
    pub services: BTreeMap<String, Value>,
    /// Networks to exist: full name → create request (None: external, must exist).
    pub networks: BTreeMap<String, Option<Value>>,
    /// Secrets and configs: full name → (spec without data, file path to read), or external.
    pub secrets: BTreeMap<String, Option<FileSource>>,
    pub configs: BTreeMap<String, Option<FileSource>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileSource {
    pub labels: Map<String, Value>,
    pub file: String,
}

/// The name a stack gives one of its objects, unless the file names it (`name:`).
pub fn scoped(stack: &str, name: &str) -> String {
    format!("{stack}_{name}")
}

fn labels(stack: &str, given: &model::Labels) -> Map<String, Value> {
    let mut m: Map<String, Value> = given
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone().unwrap_or_default())))
        .collect();
    m.insert(NAMESPACE.into(), Value::String(stack.into()));
    m
}

/// Converts the whole file. `env` answers a variable an `environment:` entry names without a
/// value (Compose passes it through from the deploying shell).
pub fn desired(
    stack: &str,
    file: &ComposeFile,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Desired, String> {
    let mut d = Desired::default();
    let network_name = |key: &str| -> Result<String, String> {
        match file.networks.get(key) {
            Some(n) if model::is_external(&n.external) => {
                Ok(n.name.clone().unwrap_or(key.to_string()))
            }
            Some(n) => Ok(n.name.clone().unwrap_or_else(|| scoped(stack, key))),
            None if key == "default" => Ok(scoped(stack, key)),
            None => Err(format!(
                "network {key} is used but not defined under `networks:`"
            )),
        }
    };
    for (key, svc) in &file.services {
        let nets = match &svc.networks {
            Some(n) => n.entries(),
            None => BTreeMap::from([("default".to_string(), Vec::new())]),
        };
        for net in nets.keys() {
            let full = network_name(net)?;
            let external = file
                .networks
                .get(net)
                .is_some_and(|n| model::is_external(&n.external));
            d.networks.insert(
                full.clone(),
                (!external).then(|| network_request(stack, &full, file.networks.get(net))),
            );
        }
        let spec = service(stack, key, svc, file, env, &network_name)?;
        d.services.insert(scoped(stack, key), spec);
    }
    for (key, s) in &file.secrets {
        let (name, src) = file_object(stack, key, s, "secret")?;
        d.secrets.insert(name, src);
    }
    for (key, c) in &file.configs {
        let (name, src) = file_object(stack, key, c, "config")?;
        d.configs.insert(name, src);
    }
    Ok(d)
}

fn file_object(
    stack: &str,
    key: &str,
    o: &model::FileObject,
    what: &str,
) -> Result<(String, Option<FileSource>), String> {
    if model::is_external(&o.external) {
        return Ok((o.name.clone().unwrap_or(key.to_string()), None));
    }
    let file = o
        .file
        .clone()
        .ok_or_else(|| format!("{what} {key}: needs `file:` (or `external: true`)"))?;
    Ok((
        o.name.clone().unwrap_or_else(|| scoped(stack, key)),
        Some(FileSource {
            labels: labels(stack, &o.labels),
            file,
        }),
    ))
}

fn network_request(stack: &str, name: &str, n: Option<&model::Network>) -> Value {
    let n = n.cloned().unwrap_or_default();
    let opts: Map<String, Value> = n
        .driver_opts
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone().unwrap_or_default())))
        .collect();
    json!({
        "Name": name,
        "Driver": n.driver.as_deref().unwrap_or("overlay"),
        "Options": opts,
        "Labels": labels(stack, &n.labels),
        "Attachable": n.attachable.unwrap_or(false),
        "Internal": n.internal.unwrap_or(false),
    })
}

fn service(
    stack: &str,
    key: &str,
    svc: &Service,
    file: &ComposeFile,
    env: &dyn Fn(&str) -> Option<String>,
    network_name: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Value, String> {
    let image = svc.image.clone().unwrap_or_default();
    let deploy = svc.deploy.clone().unwrap_or_default();
    let mut svc_labels = labels(stack, &deploy.labels);
    svc_labels.insert(IMAGE.into(), Value::String(image.clone()));

    let mut task = Map::new();
    task.insert(
        "ContainerSpec".into(),
        Value::Object(container_spec(stack, &image, svc, file, env)?),
    );
    task.insert("Resources".into(), resources(deploy.resources.as_ref()));
    put(
        &mut task,
        "RestartPolicy",
        restart_policy(&deploy, svc.restart.as_deref())?,
    );
    task.insert("Placement".into(), placement(&deploy));
    if let Some(l) = &svc.logging {
        let opts: Map<String, Value> = l
            .options
            .iter()
            .map(|(k, v)| (k.clone(), json!(v.clone().unwrap_or_default())))
            .collect();
        task.insert(
            "LogDriver".into(),
            json!({"Name": l.driver.clone().unwrap_or_default(), "Options": opts}),
        );
    }
    task.insert("Networks".into(), attachments(key, svc, network_name)?);
    task.insert("ForceUpdate".into(), json!(0));
    task.insert("Runtime".into(), json!("container"));
    let mode = mode(key, &deploy)?;
    let endpoint = endpoint(svc, &deploy);
    let mut spec = json!({
        "Name": scoped(stack, key),
        "Labels": svc_labels,
        "TaskTemplate": task,
        "Mode": mode,
        "EndpointSpec": endpoint,
    });
    if let Some(u) = &deploy.update_config {
        spec["UpdateConfig"] = update_config(u);
    }
    if let Some(r) = &deploy.rollback_config {
        spec["RollbackConfig"] = update_config(r);
    }
    Ok(spec)
}

/// The container: what runs, with what environment, labels, mounts, secrets and configs.
fn container_spec(
    stack: &str,
    image: &str,
    svc: &Service,
    file: &ComposeFile,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Map<String, Value>, String> {
    let mut envs: Vec<String> = svc
        .environment
        .iter()
        .map(|(k, v)| match v.clone().or_else(|| env(k)) {
            Some(v) => format!("{k}={v}"),
            None => k.clone(),
        })
        .collect();
    envs.sort();

    let mut c = Map::new();
    c.insert("Image".into(), json!(image));
    c.insert("Labels".into(), Value::Object(labels(stack, &svc.labels)));
    put(&mut c, "Command", svc.entrypoint.clone().map(|v| json!(v)));
    put(&mut c, "Args", svc.command.clone().map(|v| json!(v)));
    put(&mut c, "Hostname", svc.hostname.clone().map(Value::String));
    if !envs.is_empty() {
        c.insert("Env".into(), json!(envs));
    }
    put(&mut c, "Dir", svc.working_dir.clone().map(Value::String));
    put(&mut c, "User", svc.user.clone().map(Value::String));
    c.insert("Privileges".into(), json!({}));
    put(
        &mut c,
        "StopGracePeriod",
        svc.stop_grace_period.map(|d| json!(d)),
    );
    put(
        &mut c,
        "StopSignal",
        svc.stop_signal.clone().map(Value::String),
    );
    if svc.tty == Some(true) {
        c.insert("TTY".into(), json!(true));
    }
    if svc.stdin_open == Some(true) {
        c.insert("OpenStdin".into(), json!(true));
    }
    if svc.read_only == Some(true) {
        c.insert("ReadOnly".into(), json!(true));
    }
    put(&mut c, "Init", svc.init.map(Value::Bool));
    put(
        &mut c,
        "Healthcheck",
        healthcheck(svc.healthcheck.as_ref())?,
    );
    let mut dns = Map::new();
    if !svc.dns.is_empty() {
        dns.insert("Nameservers".into(), json!(svc.dns));
    }
    if !svc.dns_search.is_empty() {
        dns.insert("Search".into(), json!(svc.dns_search));
    }
    if !dns.is_empty() {
        c.insert("DNSConfig".into(), Value::Object(dns));
    }
    if !svc.extra_hosts.is_empty() {
        // "host:ip" → "ip host", as /etc/hosts has it.
        let hosts: Vec<String> = svc
            .extra_hosts
            .iter()
            .map(|h| match h.split_once([':', '=']) {
                Some((host, ip)) => format!("{ip} {host}"),
                None => h.clone(),
            })
            .collect();
        c.insert("Hosts".into(), json!(hosts));
    }
    if !svc.cap_add.is_empty() {
        c.insert("CapabilityAdd".into(), json!(svc.cap_add));
    }
    if !svc.cap_drop.is_empty() {
        c.insert("CapabilityDrop".into(), json!(svc.cap_drop));
    }
    let mounts = mounts(stack, svc, file)?;
    if !mounts.is_empty() {
        c.insert("Mounts".into(), json!(mounts));
    }
    let secrets = file_refs(stack, &svc.secrets, &file.secrets, "secret", |t| {
        t.to_string()
    })?;
    if !secrets.is_empty() {
        c.insert("Secrets".into(), json!(secrets));
    }
    let configs = file_refs(stack, &svc.configs, &file.configs, "config", |t| {
        format!("/{t}")
    })?;
    if !configs.is_empty() {
        c.insert("Configs".into(), json!(configs));
    }
    c.insert("Isolation".into(), json!("default"));
    Ok(c)
}

/// Constraints, spread preferences, replicas per node (platforms come with the digest).
fn placement(deploy: &model::Deploy) -> Value {
    let placement = deploy.placement.clone().unwrap_or_default();
    let mut p = Map::new();
    if !placement.constraints.is_empty() {
        p.insert("Constraints".into(), json!(placement.constraints));
    }
    let prefs: Vec<Value> = placement
        .preferences
        .iter()
        .filter_map(|p| p.spread.as_ref())
        .map(|s| json!({"Spread": {"SpreadDescriptor": s}}))
        .collect();
    if !prefs.is_empty() {
        p.insert("Preferences".into(), json!(prefs));
    }
    put(
        &mut p,
        "MaxReplicas",
        placement.max_replicas_per_node.map(|n| json!(n)),
    );
    Value::Object(p)
}

/// The networks the service joins, by name (ids come with the plan), its name an alias on
/// each, sorted by network as the CLI sorts them.
fn attachments(
    key: &str,
    svc: &Service,
    network_name: &dyn Fn(&str) -> Result<String, String>,
) -> Result<Value, String> {
    let nets = match &svc.networks {
        Some(n) => n.entries(),
        None => BTreeMap::from([("default".to_string(), Vec::new())]),
    };
    let mut attachments: Vec<(String, Value)> = Vec::new();
    for (net, aliases) in nets {
        let target = network_name(&net)?;
        let mut a = aliases.clone();
        a.push(key.to_string());
        attachments.push((target.clone(), json!({"Target": target, "Aliases": a})));
    }
    attachments.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(json!(
        attachments.into_iter().map(|(_, v)| v).collect::<Vec<_>>()
    ))
}

/// Replicated (with its count), global, or one of the job modes.
fn mode(key: &str, deploy: &model::Deploy) -> Result<Value, String> {
    let mode = match deploy.mode.as_deref().unwrap_or("replicated") {
        "replicated" => json!({"Replicated": {"Replicas": deploy.replicas.unwrap_or(1)}}),
        "global" => json!({"Global": {}}),
        "replicated-job" => {
            json!({"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": deploy.replicas.unwrap_or(1)}})
        }
        "global-job" => json!({"GlobalJob": {}}),
        other => {
            return Err(format!(
                "services.{key}.deploy.mode: {other:?} is not replicated, global, replicated-job or global-job"
            ));
        }
    };
    Ok(mode)
}

/// Published ports (sorted as the CLI sorts them) and the endpoint mode.
fn endpoint(svc: &Service, deploy: &model::Deploy) -> Map<String, Value> {
    let mut ports: Vec<Value> = svc
        .ports
        .iter()
        .map(|p| {
            let mut m = Map::new();
            m.insert("Protocol".into(), json!(p.protocol));
            m.insert("TargetPort".into(), json!(p.target));
            put(&mut m, "PublishedPort", p.published.map(|n| json!(n)));
            m.insert("PublishMode".into(), json!(p.mode));
            Value::Object(m)
        })
        .collect();
    ports.sort_by_key(|p| p["PublishedPort"].as_u64().unwrap_or(0));
    let mut endpoint = Map::new();
    endpoint.insert(
        "Mode".into(),
        json!(
            deploy
                .endpoint_mode
                .as_deref()
                .unwrap_or("vip")
                .to_ascii_lowercase()
        ),
    );
    if !ports.is_empty() {
        endpoint.insert("Ports".into(), json!(ports));
    }
    endpoint
}

fn put(m: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(key.into(), v);
    }
}

/// As the CLI: parallelism 1 unless set, the rest only when set.
fn update_config(u: &model::UpdateConfig) -> Value {
    let mut m = Map::new();
    m.insert("Parallelism".into(), json!(u.parallelism.unwrap_or(1)));
    put(
        &mut m,
        "Delay",
        u.delay.filter(|d| *d != 0).map(|d| json!(d)),
    );
    put(
        &mut m,
        "FailureAction",
        u.failure_action.clone().map(Value::String),
    );
    put(
        &mut m,
        "Monitor",
        u.monitor.filter(|d| *d != 0).map(|d| json!(d)),
    );
    put(
        &mut m,
        "MaxFailureRatio",
        u.max_failure_ratio.map(|r| json!(r)),
    );
    put(&mut m, "Order", u.order.clone().map(Value::String));
    Value::Object(m)
}

/// The deploy section's restart policy, else the service's `restart:`, else none.
fn restart_policy(deploy: &model::Deploy, restart: Option<&str>) -> Result<Option<Value>, String> {
    let mut m = Map::new();
    if let Some(r) = &deploy.restart_policy {
        put(&mut m, "Condition", r.condition.clone().map(Value::String));
        put(&mut m, "Delay", r.delay.map(|d| json!(d)));
        put(&mut m, "MaxAttempts", r.max_attempts.map(|n| json!(n)));
        put(&mut m, "Window", r.window.map(|w| json!(w)));
        return Ok(Some(Value::Object(m)));
    }
    let (condition, max) = match restart {
        None => return Ok(None),
        Some("always" | "unless-stopped") => ("any", None),
        Some("no") => ("none", None),
        Some(r) => match r.strip_prefix("on-failure") {
            Some(n) => ("on-failure", n.trim_start_matches(':').parse::<u64>().ok()),
            None => {
                return Err(format!(
                    "restart: {r:?} is not no, always, on-failure or unless-stopped"
                ));
            }
        },
    };
    m.insert("Condition".into(), json!(condition));
    put(&mut m, "MaxAttempts", max.map(|n| json!(n)));
    Ok(Some(Value::Object(m)))
}

fn resources(r: Option<&model::Resources>) -> Value {
    let one = |x: &model::Resource| {
        let mut m = Map::new();
        put(
            &mut m,
            "NanoCPUs",
            x.cpus.map(|c| json!((c * 1e9).round() as i64)),
        );
        put(&mut m, "MemoryBytes", x.memory.map(|b| json!(b)));
        put(&mut m, "Pids", x.pids.map(|p| json!(p)));
        Value::Object(m)
    };
    let mut m = Map::new();
    if let Some(r) = r {
        put(&mut m, "Limits", r.limits.as_ref().map(one));
        put(&mut m, "Reservations", r.reservations.as_ref().map(one));
    }
    Value::Object(m)
}

fn healthcheck(h: Option<&model::Healthcheck>) -> Result<Option<Value>, String> {
    let Some(h) = h else { return Ok(None) };
    if h.disable == Some(true) {
        return Ok(Some(json!({"Test": ["NONE"]})));
    }
    let test: Option<Vec<String>> = match &h.test {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(vec!["CMD-SHELL".into(), s.clone()]),
        Some(Value::Array(items)) => Some(
            items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_string)
                        .ok_or("healthcheck.test: a list of texts")
                })
                .collect::<Result<_, _>>()?,
        ),
        Some(_) => return Err("healthcheck.test: a command string or list".into()),
    };
    let mut m = Map::new();
    put(&mut m, "Test", test.map(|t| json!(t)));
    put(&mut m, "Interval", h.interval.map(|d| json!(d)));
    put(&mut m, "Timeout", h.timeout.map(|d| json!(d)));
    put(&mut m, "StartPeriod", h.start_period.map(|d| json!(d)));
    put(&mut m, "StartInterval", h.start_interval.map(|d| json!(d)));
    put(&mut m, "Retries", h.retries.map(|d| json!(d)));
    Ok(Some(Value::Object(m)))
}

fn file_refs(
    stack: &str,
    refs: &[model::FileRef],
    defined: &BTreeMap<String, model::FileObject>,
    what: &str,
    default_target: impl Fn(&str) -> String,
) -> Result<Vec<Value>, String> {
    let mut out: Vec<(String, Value)> = Vec::new();
    for r in refs {
        let obj = defined.get(&r.source).ok_or_else(|| {
            format!(
                "{what} {} is used but not defined at the top level",
                r.source
            )
        })?;
        let name = if model::is_external(&obj.external) {
            obj.name.clone().unwrap_or(r.source.clone())
        } else {
            obj.name.clone().unwrap_or_else(|| scoped(stack, &r.source))
        };
        let file = json!({
            "Name": r.target.clone().unwrap_or_else(|| default_target(&r.source)),
            "UID": r.uid.clone().unwrap_or_else(|| "0".into()),
            "GID": r.gid.clone().unwrap_or_else(|| "0".into()),
            "Mode": r.mode.unwrap_or(0o444),
        });
        let (id_key, name_key) = if what == "secret" {
            ("SecretID", "SecretName")
        } else {
            ("ConfigID", "ConfigName")
        };
        // The id is filled in once the object exists (the plan looks it up).
        out.push((
            name.clone(),
            json!({"File": file, id_key: "", name_key: name}),
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out.into_iter().map(|(_, v)| v).collect())
}

fn mounts(stack: &str, svc: &Service, file: &ComposeFile) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    for m in &svc.volumes {
        let mut v = Map::new();
        v.insert("Type".into(), json!(m.kind));
        v.insert("Target".into(), json!(m.target));
        match (m.kind.as_str(), &m.source) {
            ("volume", Some(src)) => {
                let top = file.volumes.get(src).ok_or_else(|| {
                    format!("volume {src} is used but not defined under `volumes:`")
                })?;
                let name = if model::is_external(&top.external) {
                    top.name.clone().unwrap_or(src.clone())
                } else {
                    top.name.clone().unwrap_or_else(|| scoped(stack, src))
                };
                v.insert("Source".into(), json!(name));
                let mut opts = Map::new();
                opts.insert("Labels".into(), Value::Object(labels(stack, &top.labels)));
                if let Some(driver) = &top.driver {
                    let o: Map<String, Value> = top
                        .driver_opts
                        .iter()
                        .map(|(k, v)| (k.clone(), json!(v.clone().unwrap_or_default())))
                        .collect();
                    opts.insert("DriverConfig".into(), json!({"Name": driver, "Options": o}));
                }
                v.insert("VolumeOptions".into(), Value::Object(opts));
            }
            (_, Some(src)) => {
                v.insert("Source".into(), json!(src));
            }
            (_, None) => {}
        }
        if m.read_only {
            v.insert("ReadOnly".into(), json!(true));
        }
        out.push(Value::Object(v));
    }
    Ok(out)
}
