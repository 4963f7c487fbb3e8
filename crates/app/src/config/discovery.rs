//! Where each backend's endpoint comes from when the user did not spell it out: the same
//! variables and files the Docker, kubectl, AWS and etcdctl CLIs read, so that clusterdeck
//! "just works" wherever those tools already do.
//!
//! Pure over an injected [`Env`] so tests can fake the process environment and filesystem root.
//! Only names and endpoints are reported, never credential values.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

pub use clusterdeck_model::SourceKind;

use super::{AwsSource, Config, ContextConfig, DockerSource, EtcdSource, KubeSource};

#[derive(Clone, Debug, PartialEq)]
pub enum Discovery {
    /// `endpoint` is what will be contacted; `via` says which setting chose it.
    Configured { endpoint: String, via: String },
    /// `hint` says exactly what to set to configure this source.
    NotConfigured { hint: String },
}

#[derive(Clone, Debug, PartialEq)]
pub struct DiscoveredSource {
    pub kind: SourceKind,
    pub context: String,
    pub discovery: Discovery,
}

/// The outside world as discovery sees it.
pub struct Env<'a> {
    pub var: &'a dyn Fn(&str) -> Option<String>,
    pub home: Option<PathBuf>,
    /// Prefix for well-known system paths (`/var/run/docker.sock`); `/` outside tests.
    pub root: PathBuf,
}

impl Env<'_> {
    /// A set, non-empty variable (the CLIs treat `VAR=` as unset).
    fn get(&self, name: &str) -> Option<String> {
        (self.var)(name).filter(|v| !v.trim().is_empty())
    }

    fn home_join(&self, rel: &str) -> Option<PathBuf> {
        self.home.as_ref().map(|h| h.join(rel))
    }
}

/// Name of the implicit context used when `config.toml` defines none.
pub const DEFAULT_CONTEXT: &str = "default";

/// One entry per source kind per context, in context order then [`SourceKind::ALL`] order.
pub fn discover(env: &Env, cfg: &Config) -> Vec<DiscoveredSource> {
    let implicit = [ContextConfig {
        name: DEFAULT_CONTEXT.to_owned(),
        production: false,
        read_only: false,
        docker: Some(DockerSource::default()),
        kube: Some(KubeSource::default()),
        aws: None,
        etcd: Some(EtcdSource::default()),
    }];
    // With no contexts configured everything comes from the environment; a configured context
    // only gets the backends it names, so one environment's credentials never leak into another.
    let (contexts, explicit): (&[ContextConfig], bool) = if cfg.contexts.is_empty() {
        (&implicit, false)
    } else {
        (&cfg.contexts, true)
    };
    let mut out = Vec::with_capacity(contexts.len() * SourceKind::ALL.len());
    for ctx in contexts {
        for kind in SourceKind::ALL {
            let discovery = match kind {
                SourceKind::Swarm => match &ctx.docker {
                    Some(src) => docker(env, src),
                    None => {
                        missing_section(&ctx.name, "docker = { hosts = [\"ssh://user@manager\"] }")
                    }
                },
                SourceKind::Kubernetes => match &ctx.kube {
                    Some(src) => kube(env, src),
                    None => {
                        missing_section(&ctx.name, "kube = { kubeconfig = \"~/.kube/config\" }")
                    }
                },
                SourceKind::Ec2 => match (&ctx.aws, explicit) {
                    (Some(src), _) => ec2(env, Some(src)),
                    (None, false) => ec2(env, None),
                    (None, true) => {
                        missing_section(&ctx.name, "aws = { regions = [\"eu-west-1\"] }")
                    }
                },
                SourceKind::Etcd => match &ctx.etcd {
                    Some(src) => etcd(env, src),
                    None => {
                        missing_section(&ctx.name, "etcd = { endpoints = [\"http://host:2379\"] }")
                    }
                },
            };
            out.push(DiscoveredSource {
                kind,
                context: ctx.name.clone(),
                discovery,
            });
        }
    }
    out
}

/// [`discover`] with the real process environment and home directory.
pub fn discover_from_process(cfg: &Config) -> Vec<DiscoveredSource> {
    discover_with_docker_context(cfg, None)
}

/// As `discover_from_process`, with `--context NAME` standing in for `DOCKER_CONTEXT`.
pub fn discover_with_docker_context(
    cfg: &Config,
    docker_context: Option<&str>,
) -> Vec<DiscoveredSource> {
    let var = |name: &str| match (name, docker_context) {
        ("DOCKER_CONTEXT", Some(c)) => Some(c.to_string()),
        // An explicit context wins over DOCKER_HOST, as with `docker --context`.
        ("DOCKER_HOST", Some(_)) => None,
        _ => std::env::var(name).ok(),
    };
    let env = Env {
        var: &var,
        home: directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()),
        root: PathBuf::from("/"),
    };
    discover(&env, cfg)
}

fn missing_section(context: &str, example: &str) -> Discovery {
    Discovery::NotConfigured {
        hint: format!("add {example} to the [[contexts]] entry \"{context}\" in config.toml"),
    }
}

fn configured(endpoint: impl Into<String>, via: impl Into<String>) -> Discovery {
    Discovery::Configured {
        endpoint: endpoint.into(),
        via: via.into(),
    }
}

fn not_configured(hint: impl Into<String>) -> Discovery {
    Discovery::NotConfigured { hint: hint.into() }
}

/// Hides a password written into an endpoint URL (`http://user:secret@host`).
fn redact(endpoint: &str) -> String {
    let Some((scheme, rest)) = endpoint.split_once("://") else {
        return endpoint.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let userinfo = &rest[..at];
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            if userinfo.contains(':') {
                format!("{scheme}://{user}:***{}", &rest[at..])
            } else {
                endpoint.to_owned()
            }
        }
        None => endpoint.to_owned(),
    }
}

fn join_endpoints<S: AsRef<str>>(list: &[S]) -> String {
    list.iter()
        .map(|e| redact(e.as_ref().trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------------------------------------
// Docker

const DOCKER_HINT: &str = "set DOCKER_HOST or add [[contexts]] docker.hosts to config.toml";
const DOCKER_SOCKET: &str = "var/run/docker.sock";

fn docker(env: &Env, src: &DockerSource) -> Discovery {
    if !src.hosts.is_empty() {
        let via = if src.hosts.len() > 1 {
            format!(
                "config.toml docker.hosts ({} managers, failover in order)",
                src.hosts.len()
            )
        } else {
            "config.toml docker.hosts".to_owned()
        };
        return configured(join_endpoints(&src.hosts), via);
    }
    if let Some(name) = &src.context {
        return docker_context(env, name, &format!("config.toml docker.context \"{name}\""));
    }
    if let Some(host) = env.get("DOCKER_HOST") {
        return configured(redact(&host), "DOCKER_HOST");
    }
    if let Some(name) = env.get("DOCKER_CONTEXT") {
        return docker_context(env, &name, &format!("DOCKER_CONTEXT={name}"));
    }
    let dir = docker_config_dir(env);
    if let Some(name) = dir.as_deref().and_then(current_docker_context) {
        let file = dir.as_deref().map(|d| d.join("config.json"));
        let shown = file.map_or_else(|| "config.json".to_owned(), |f| f.display().to_string());
        return docker_context(env, &name, &format!("docker context \"{name}\" ({shown})"));
    }
    default_socket(env)
}

fn default_socket(env: &Env) -> Discovery {
    if env.root.join(DOCKER_SOCKET).exists() {
        configured("unix:///var/run/docker.sock", "default socket")
    } else {
        not_configured(DOCKER_HINT)
    }
}

/// `$DOCKER_CONFIG`, else `~/.docker`, as the docker CLI does.
fn docker_config_dir(env: &Env) -> Option<PathBuf> {
    env.get("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| env.home_join(".docker"))
}

fn current_docker_context(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("config.json")).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json.get("currentContext")?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Resolves a named docker context through its metadata file, which the CLI stores under the
/// SHA-256 of the context name.
fn docker_context(env: &Env, name: &str, via: &str) -> Discovery {
    // "default" is built into the CLI and has no metadata file: it means DOCKER_HOST or the socket.
    if name == "default" {
        return default_socket(env);
    }
    let Some(dir) = docker_config_dir(env) else {
        return not_configured(format!(
            "docker context \"{name}\" cannot be read without a home directory; {DOCKER_HINT}"
        ));
    };
    let digest = hex::encode(Sha256::digest(name.as_bytes()));
    let meta = dir
        .join("contexts")
        .join("meta")
        .join(digest)
        .join("meta.json");
    let host = std::fs::read_to_string(&meta)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|j| {
            j.get("Endpoints")?
                .get("docker")?
                .get("Host")?
                .as_str()
                .map(str::to_owned)
        });
    match host {
        Some(h) if !h.is_empty() => configured(redact(&h), via),
        Some(_) => default_socket(env),
        None => not_configured(format!(
            "docker context \"{name}\" not found in {}; run `docker context ls`, or {DOCKER_HINT}",
            dir.join("contexts").display()
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Kubernetes

fn kube(env: &Env, src: &KubeSource) -> Discovery {
    // KUBECONFIG is a list merged in order, missing files skipped, as kubectl does.
    let (files, via) = match &src.kubeconfig {
        Some(p) if p.is_file() => (vec![p.clone()], "config.toml kube.kubeconfig".to_owned()),
        Some(p) => {
            return not_configured(format!(
                "kubeconfig {} (config.toml kube.kubeconfig) does not exist",
                p.display()
            ));
        }
        None => match env.get("KUBECONFIG") {
            Some(list) => match std::env::split_paths(&list)
                .filter(|p| p.is_file())
                .collect::<Vec<_>>()
            {
                files if !files.is_empty() => (files, "KUBECONFIG".to_owned()),
                _ => {
                    return not_configured(format!(
                        "no file named in KUBECONFIG ({list}) exists; fix KUBECONFIG or add \
                         [[contexts]] kube.kubeconfig to config.toml"
                    ));
                }
            },
            None => match env.home_join(".kube/config").filter(|p| p.is_file()) {
                Some(p) => (vec![p], "~/.kube/config".to_owned()),
                None => {
                    return not_configured(
                        "set KUBECONFIG, create ~/.kube/config, or add [[contexts]] \
                         kube.kubeconfig to config.toml",
                    );
                }
            },
        },
    };
    let context = match &src.context {
        Some(c) => Some(format!("context {c} (config.toml kube.context)")),
        // The first file that sets one wins.
        None => files
            .iter()
            .find_map(|f| current_context(&std::fs::read_to_string(f).ok()?))
            .map(|c| format!("current-context {c}")),
    };
    let shown = files
        .iter()
        .map(|f| f.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    match context {
        Some(c) => configured(shown, format!("{via}, {c}")),
        None => not_configured(format!(
            "kubeconfig {shown} has no current-context; run `kubectl config use-context NAME` or \
             set [[contexts]] kube.context in config.toml"
        )),
    }
}

/// The top-level `current-context:` of a kubeconfig, by line scan (no YAML parser needed);
/// JSON kubeconfigs say `"current-context": "…",`.
fn current_context(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line
            .strip_prefix("current-context:")
            .or_else(|| line.trim_start().strip_prefix("\"current-context\":"))?;
        let value = value.split(" #").next().unwrap_or(value).trim();
        let value = value.trim_end_matches(',').trim();
        let value = value.trim_matches(|c| c == '"' || c == '\'');
        (!value.is_empty()).then(|| value.to_owned())
    })
}

// ---------------------------------------------------------------------------------------------
// EC2

const AWS_CREDS_HINT: &str = "set AWS_PROFILE or AWS_ACCESS_KEY_ID, create ~/.aws/credentials, \
     or add [[contexts]] aws = { profile = \"…\", regions = [\"…\"] } to config.toml";

fn ec2(env: &Env, src: Option<&AwsSource>) -> Discovery {
    let credentials_file = env
        .get("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| env.home_join(".aws/credentials"));
    let config_file = env
        .get("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| env.home_join(".aws/config"));

    let profile = src
        .and_then(|s| s.profile.clone())
        .or_else(|| env.get("AWS_PROFILE"));
    // Only the names of credential sources are reported, never their values.
    let creds = if let Some(p) = src.and_then(|s| s.profile.as_deref()) {
        Some(format!("profile {p} (config.toml aws.profile)"))
    } else if env.get("AWS_ACCESS_KEY_ID").is_some() {
        Some("AWS_ACCESS_KEY_ID".to_owned())
    } else if let Some(p) = env.get("AWS_PROFILE") {
        Some(format!("AWS_PROFILE={p}"))
    } else if env.get("AWS_WEB_IDENTITY_TOKEN_FILE").is_some() {
        Some("AWS_WEB_IDENTITY_TOKEN_FILE".to_owned())
    } else if env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
        || env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
    {
        Some("container credentials".to_owned())
    } else if let Some(f) = [&credentials_file, &config_file]
        .into_iter()
        .flatten()
        .find(|f| f.is_file())
    {
        Some(f.display().to_string())
    } else if src.is_some() {
        // An aws section without a profile trusts the SDK's chain (e.g. an instance profile).
        Some("default credential chain (config.toml aws)".to_owned())
    } else {
        None
    };
    let Some(creds) = creds else {
        return not_configured(AWS_CREDS_HINT);
    };

    let profile_name = profile.as_deref().unwrap_or("default");
    let regions: Vec<String> = match src.map(|s| &s.regions).filter(|r| !r.is_empty()) {
        Some(r) => r.clone(),
        None => env
            .get("AWS_REGION")
            .or_else(|| env.get("AWS_DEFAULT_REGION"))
            .or_else(|| {
                config_file
                    .as_deref()
                    .and_then(|f| std::fs::read_to_string(f).ok())
                    .and_then(|t| profile_region(&t, profile_name))
            })
            .into_iter()
            .collect(),
    };
    let region_via = if src.is_some_and(|s| !s.regions.is_empty()) {
        "config.toml aws.regions"
    } else if env.get("AWS_REGION").is_some() {
        "AWS_REGION"
    } else if env.get("AWS_DEFAULT_REGION").is_some() {
        "AWS_DEFAULT_REGION"
    } else {
        "AWS config file"
    };
    if regions.is_empty() {
        return not_configured(format!(
            "AWS credentials found ({creds}) but no region: set AWS_REGION or add \
             [[contexts]] aws.regions to config.toml"
        ));
    }

    let custom = src
        .and_then(|s| s.endpoint_url.clone())
        .map(|u| (u, "config.toml aws.endpoint_url"))
        .or_else(|| {
            env.get("AWS_ENDPOINT_URL_EC2")
                .map(|u| (u, "AWS_ENDPOINT_URL_EC2"))
        })
        .or_else(|| env.get("AWS_ENDPOINT_URL").map(|u| (u, "AWS_ENDPOINT_URL")));
    let region_list = regions.join(", ");
    match custom {
        Some((url, url_via)) => configured(
            redact(&url),
            format!("{url_via}, {creds}, region {region_list} ({region_via})"),
        ),
        None => configured(
            regions
                .iter()
                .map(|r| format!("ec2.{r}.amazonaws.com"))
                .collect::<Vec<_>>()
                .join(", "),
            format!("{creds}, region {region_list} ({region_via})"),
        ),
    }
}

/// `region = …` of a profile in an AWS config file (`[default]` or `[profile NAME]`).
fn profile_region(text: &str, profile: &str) -> Option<String> {
    let wanted = if profile == "default" {
        "default".to_owned()
    } else {
        format!("profile {profile}")
    };
    let mut in_section = false;
    for line in text.lines() {
        let line = line.trim();
        if let Some(section) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = section.trim() == wanted;
        } else if in_section
            && let Some((k, v)) = line.split_once('=')
            && k.trim() == "region"
        {
            let v = v.trim();
            if !v.is_empty() {
                return Some(v.to_owned());
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// etcd

fn etcd(env: &Env, src: &EtcdSource) -> Discovery {
    if !src.endpoints.is_empty() {
        return configured(join_endpoints(&src.endpoints), "config.toml etcd.endpoints");
    }
    match env.get("ETCDCTL_ENDPOINTS") {
        Some(list) => {
            let eps: Vec<&str> = list.split(',').filter(|e| !e.trim().is_empty()).collect();
            configured(join_endpoints(&eps), "ETCDCTL_ENDPOINTS")
        }
        None => not_configured(
            "set ETCDCTL_ENDPOINTS or add [[contexts]] etcd.endpoints to config.toml",
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    struct Fake {
        home: tempfile::TempDir,
        root: tempfile::TempDir,
        vars: HashMap<String, String>,
    }

    impl Fake {
        fn new() -> Fake {
            Fake {
                home: tempfile::tempdir().expect("home"),
                root: tempfile::tempdir().expect("root"),
                vars: HashMap::new(),
            }
        }
        fn set(&mut self, k: &str, v: &str) -> &mut Self {
            self.vars.insert(k.to_owned(), v.to_owned());
            self
        }
        fn write(&self, rel: &str, text: &str) -> PathBuf {
            let p = self.home.path().join(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            std::fs::write(&p, text).expect("write");
            p
        }
        fn run(&self, cfg: &Config) -> Vec<DiscoveredSource> {
            let var = |k: &str| self.vars.get(k).cloned();
            let env = Env {
                var: &var,
                home: Some(self.home.path().to_path_buf()),
                root: self.root.path().to_path_buf(),
            };
            discover(&env, cfg)
        }
        fn one(&self, kind: SourceKind) -> Discovery {
            self.run(&Config::default_embedded())
                .into_iter()
                .find(|d| d.kind == kind)
                .map(|d| d.discovery)
                .expect("every kind is reported")
        }
    }

    fn endpoint(d: &Discovery) -> &str {
        match d {
            Discovery::Configured { endpoint, .. } => endpoint,
            Discovery::NotConfigured { hint } => panic!("not configured: {hint}"),
        }
    }

    fn via(d: &Discovery) -> &str {
        match d {
            Discovery::Configured { via, .. } => via,
            Discovery::NotConfigured { hint } => panic!("not configured: {hint}"),
        }
    }

    fn hint(d: &Discovery) -> &str {
        match d {
            Discovery::NotConfigured { hint } => hint,
            Discovery::Configured { endpoint, .. } => panic!("configured: {endpoint}"),
        }
    }

    #[test]
    fn empty_environment_gives_hints_for_every_kind() {
        let f = Fake::new();
        let all = f.run(&Config::default_embedded());
        assert_eq!(all.len(), 4);
        assert!(all.iter().all(|d| d.context == "default"));
        assert_eq!(
            all.iter().map(|d| d.kind).collect::<Vec<_>>(),
            SourceKind::ALL.to_vec()
        );
        assert_eq!(
            hint(&f.one(SourceKind::Swarm)),
            "set DOCKER_HOST or add [[contexts]] docker.hosts to config.toml"
        );
        assert!(hint(&f.one(SourceKind::Kubernetes)).contains("KUBECONFIG"));
        assert!(hint(&f.one(SourceKind::Ec2)).contains("AWS_PROFILE"));
        assert!(hint(&f.one(SourceKind::Etcd)).contains("ETCDCTL_ENDPOINTS"));
    }

    #[test]
    fn labels() {
        let labels: Vec<_> = SourceKind::ALL.iter().map(SourceKind::label).collect();
        assert_eq!(labels, ["swarm", "kubernetes", "ec2", "etcd"]);
    }

    #[test]
    fn docker_host_wins_over_context_and_socket() {
        let mut f = Fake::new();
        std::fs::create_dir_all(f.root.path().join("var/run")).expect("mkdir");
        std::fs::write(f.root.path().join(DOCKER_SOCKET), "").expect("sock");
        assert_eq!(
            endpoint(&f.one(SourceKind::Swarm)),
            "unix:///var/run/docker.sock"
        );
        f.set("DOCKER_CONTEXT", "remote")
            .set("DOCKER_HOST", "tcp://10.0.0.1:2376");
        let d = f.one(SourceKind::Swarm);
        assert_eq!(endpoint(&d), "tcp://10.0.0.1:2376");
        assert_eq!(via(&d), "DOCKER_HOST");
    }

    fn write_docker_context(f: &Fake, dir: &str, name: &str, host: &str) {
        let digest = hex::encode(Sha256::digest(name.as_bytes()));
        f.write(
            &format!("{dir}/contexts/meta/{digest}/meta.json"),
            &format!(
                r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#
            ),
        );
    }

    #[test]
    fn docker_current_context_is_resolved_through_meta_json() {
        let mut f = Fake::new();
        f.write(
            ".docker/config.json",
            r#"{"auths":{},"currentContext":"swarm-prod"}"#,
        );
        write_docker_context(&f, ".docker", "swarm-prod", "ssh://ops@mgr1");
        let d = f.one(SourceKind::Swarm);
        assert_eq!(endpoint(&d), "ssh://ops@mgr1");
        assert!(via(&d).contains("swarm-prod"), "{}", via(&d));

        // DOCKER_CONTEXT overrides currentContext.
        write_docker_context(&f, ".docker", "other", "tcp://other:2376");
        f.set("DOCKER_CONTEXT", "other");
        assert_eq!(endpoint(&f.one(SourceKind::Swarm)), "tcp://other:2376");

        // An unknown context says so instead of silently using the socket.
        f.set("DOCKER_CONTEXT", "ghost");
        assert!(hint(&f.one(SourceKind::Swarm)).contains("\"ghost\" not found"));
    }

    #[test]
    fn docker_config_env_dir_is_honoured() {
        let mut f = Fake::new();
        f.write("alt/config.json", r#"{"currentContext":"lab"}"#);
        write_docker_context(&f, "alt", "lab", "tcp://lab:2375");
        let alt = f.home.path().join("alt").display().to_string();
        f.set("DOCKER_CONFIG", &alt);
        assert_eq!(endpoint(&f.one(SourceKind::Swarm)), "tcp://lab:2375");
    }

    #[test]
    fn docker_default_context_means_the_socket() {
        let mut f = Fake::new();
        f.set("DOCKER_CONTEXT", "default");
        assert!(hint(&f.one(SourceKind::Swarm)).starts_with("set DOCKER_HOST"));
    }

    #[test]
    fn kubeconfig_search_order_and_current_context() {
        let mut f = Fake::new();
        f.write(
            ".kube/config",
            "apiVersion: v1\nclusters: []\ncurrent-context: \"home-ctx\" # chosen\n",
        );
        let d = f.one(SourceKind::Kubernetes);
        assert!(endpoint(&d).ends_with(".kube/config"));
        assert_eq!(via(&d), "~/.kube/config, current-context home-ctx");

        let other = f.write("k/other", "current-context: other-ctx\n");
        let missing = f.home.path().join("k/missing");
        let list = format!("{}:{}", missing.display(), other.display());
        f.set("KUBECONFIG", &list);
        let d = f.one(SourceKind::Kubernetes);
        assert_eq!(endpoint(&d), other.display().to_string());
        assert_eq!(via(&d), "KUBECONFIG, current-context other-ctx");

        // Merged: the credentials in one file, the current context in a later one (JSON).
        let creds = f.write("k/creds", "users:\n- name: u\n");
        let json = f.write("k/ctx.json", "{\n  \"current-context\": \"json-ctx\",\n}\n");
        let list = format!(
            "{}:{}:{}",
            creds.display(),
            missing.display(),
            json.display()
        );
        f.set("KUBECONFIG", &list);
        let d = f.one(SourceKind::Kubernetes);
        assert_eq!(
            endpoint(&d),
            format!("{}:{}", creds.display(), json.display())
        );
        assert_eq!(via(&d), "KUBECONFIG, current-context json-ctx");

        f.set("KUBECONFIG", &missing.display().to_string());
        assert!(hint(&f.one(SourceKind::Kubernetes)).contains("KUBECONFIG"));
    }

    #[test]
    fn kubeconfig_without_current_context_is_not_configured() {
        let f = Fake::new();
        f.write(
            ".kube/config",
            "apiVersion: v1\ncontexts:\n- name: x\n  context:\n    current-context: nested\n",
        );
        assert!(hint(&f.one(SourceKind::Kubernetes)).contains("use-context"));
    }

    #[test]
    fn ec2_never_reports_secret_values() {
        let mut f = Fake::new();
        f.set("AWS_ACCESS_KEY_ID", "AKIAEXAMPLEKEYID0000")
            .set("AWS_SECRET_ACCESS_KEY", "s3cr3t/value")
            .set("AWS_SESSION_TOKEN", "tok3n");
        assert!(hint(&f.one(SourceKind::Ec2)).contains("no region"));
        f.set("AWS_REGION", "eu-west-1");
        let d = f.one(SourceKind::Ec2);
        assert_eq!(endpoint(&d), "ec2.eu-west-1.amazonaws.com");
        assert_eq!(via(&d), "AWS_ACCESS_KEY_ID, region eu-west-1 (AWS_REGION)");
        let shown = format!("{d:?}");
        for secret in ["AKIAEXAMPLEKEYID0000", "s3cr3t", "tok3n"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn ec2_profile_files_and_endpoint_override() {
        let mut f = Fake::new();
        f.write(
            ".aws/credentials",
            "[ops]\naws_access_key_id = AKIA\naws_secret_access_key = x\n",
        );
        f.write(
            ".aws/config",
            "[default]\nregion = us-east-1\n[profile ops]\nregion = eu-central-1\n",
        );
        let d = f.one(SourceKind::Ec2);
        assert_eq!(endpoint(&d), "ec2.us-east-1.amazonaws.com");
        assert!(via(&d).contains(".aws/credentials"), "{}", via(&d));
        assert!(!via(&d).contains("AKIA"));

        f.set("AWS_PROFILE", "ops");
        let d = f.one(SourceKind::Ec2);
        assert_eq!(endpoint(&d), "ec2.eu-central-1.amazonaws.com");
        assert!(via(&d).starts_with("AWS_PROFILE=ops"));

        f.set("AWS_DEFAULT_REGION", "ap-south-1");
        assert_eq!(
            endpoint(&f.one(SourceKind::Ec2)),
            "ec2.ap-south-1.amazonaws.com"
        );

        f.set("AWS_ENDPOINT_URL", "http://127.0.0.1:5000");
        assert_eq!(endpoint(&f.one(SourceKind::Ec2)), "http://127.0.0.1:5000");
        f.set("AWS_ENDPOINT_URL_EC2", "http://user:pw@127.0.0.1:5001");
        let d = f.one(SourceKind::Ec2);
        assert_eq!(endpoint(&d), "http://user:***@127.0.0.1:5001");
        assert!(via(&d).starts_with("AWS_ENDPOINT_URL_EC2"));
    }

    #[test]
    fn ec2_alternate_aws_files_are_honoured() {
        let mut f = Fake::new();
        let creds = f.write("elsewhere/creds", "[default]\n");
        let conf = f.write("elsewhere/conf", "[default]\nregion = sa-east-1\n");
        f.set("AWS_SHARED_CREDENTIALS_FILE", &creds.display().to_string())
            .set("AWS_CONFIG_FILE", &conf.display().to_string());
        let d = f.one(SourceKind::Ec2);
        assert_eq!(endpoint(&d), "ec2.sa-east-1.amazonaws.com");
        assert!(via(&d).contains("elsewhere/creds"));
    }

    #[test]
    fn etcd_from_env() {
        let mut f = Fake::new();
        f.set(
            "ETCDCTL_ENDPOINTS",
            "http://127.0.0.1:21379,http://root:pw@127.0.0.1:22379",
        );
        let d = f.one(SourceKind::Etcd);
        assert_eq!(
            endpoint(&d),
            "http://127.0.0.1:21379, http://root:***@127.0.0.1:22379"
        );
        assert_eq!(via(&d), "ETCDCTL_ENDPOINTS");
    }

    #[test]
    fn configured_contexts_take_precedence_and_do_not_borrow_env() {
        let mut f = Fake::new();
        f.set("DOCKER_HOST", "tcp://env:2375")
            .set("ETCDCTL_ENDPOINTS", "http://env:2379")
            .set("AWS_ACCESS_KEY_ID", "AKIA")
            .set("AWS_REGION", "eu-west-1");
        let kubeconfig = f.write("kc", "current-context: a\n");
        let mut cfg = Config::default_embedded();
        cfg.contexts = vec![
            ContextConfig {
                name: "prod".into(),
                production: true,
                read_only: false,
                docker: Some(DockerSource {
                    hosts: vec!["ssh://ops@m1".into(), "ssh://ops@m2".into()],
                    context: None,
                }),
                kube: Some(KubeSource {
                    kubeconfig: Some(kubeconfig),
                    context: Some("prod-ctx".into()),
                    ..KubeSource::default()
                }),
                aws: Some(AwsSource {
                    profile: Some("prod".into()),
                    regions: vec!["eu-west-1".into(), "eu-north-1".into()],
                    ..Default::default()
                }),
                etcd: Some(EtcdSource {
                    endpoints: vec!["http://10.0.0.5:2379".into()],
                    ..EtcdSource::default()
                }),
            },
            ContextConfig {
                name: "lab".into(),
                production: false,
                read_only: true,
                docker: Some(DockerSource::default()),
                kube: None,
                aws: None,
                etcd: None,
            },
        ];
        let all = f.run(&cfg);
        assert_eq!(all.len(), 8);
        let get = |ctx: &str, kind| {
            all.iter()
                .find(|d| d.context == ctx && d.kind == kind)
                .map(|d| d.discovery.clone())
                .expect("entry")
        };
        let d = get("prod", SourceKind::Swarm);
        assert_eq!(endpoint(&d), "ssh://ops@m1, ssh://ops@m2");
        assert!(via(&d).contains("failover"));
        assert!(via(&get("prod", SourceKind::Kubernetes)).contains("prod-ctx"));
        let d = get("prod", SourceKind::Ec2);
        assert_eq!(
            endpoint(&d),
            "ec2.eu-west-1.amazonaws.com, ec2.eu-north-1.amazonaws.com"
        );
        assert!(via(&d).starts_with("profile prod"));
        assert_eq!(
            endpoint(&get("prod", SourceKind::Etcd)),
            "http://10.0.0.5:2379"
        );

        // An empty docker section means "as the docker CLI would".
        assert_eq!(endpoint(&get("lab", SourceKind::Swarm)), "tcp://env:2375");
        // Unnamed backends are not borrowed from the environment.
        for kind in [SourceKind::Kubernetes, SourceKind::Ec2, SourceKind::Etcd] {
            assert!(hint(&get("lab", kind)).contains("\"lab\""));
        }
    }

    #[test]
    fn redact_hides_only_passwords() {
        assert_eq!(redact("ssh://ops@host"), "ssh://ops@host");
        assert_eq!(redact("https://u:p@h:1/x@y"), "https://u:***@h:1/x@y");
        assert_eq!(
            redact("unix:///var/run/docker.sock"),
            "unix:///var/run/docker.sock"
        );
        assert_eq!(redact("10.0.0.1:2379"), "10.0.0.1:2379");
    }

    #[test]
    fn from_process_reports_every_kind() {
        let all = discover_from_process(&Config::default_embedded());
        assert_eq!(all.len(), 4);
    }
}
