//! Where each backend's endpoint comes from when the user did not spell it out: the same
//! variables and files the Docker, kubectl, AWS and etcdctl CLIs read, so that clusterdeck
//! "just works" wherever those tools already do.
//!
//! Pure over an injected [`Env`] so tests can fake the process environment and filesystem root.
//! Only names and endpoints are reported, never credential values.

use std::path::PathBuf;

pub use clusterdeck_model::SourceKind;

use super::sources::{aws, docker, etcd, kubernetes};
use super::{Config, ContextConfig, DockerSource, EtcdSource, KubeSource};

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

/// Reads one environment variable.
pub type VarFn<'a> = Box<dyn Fn(&str) -> Option<String> + 'a>;

/// The outside world as discovery sees it.
pub struct Env<'a> {
    pub var: VarFn<'a>,
    pub home: Option<PathBuf>,
    /// Prefix for well-known system paths (`/var/run/docker.sock`); `/` outside tests.
    pub root: PathBuf,
}

impl Env<'_> {
    /// A set, non-empty variable (the CLIs treat `VAR=` as unset).
    pub(crate) fn get(&self, name: &str) -> Option<String> {
        (self.var)(name).filter(|v| !v.trim().is_empty())
    }

    pub(crate) fn home_join(&self, rel: &str) -> Option<PathBuf> {
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
                    Some(src) => docker::discover(env, src),
                    None => {
                        missing_section(&ctx.name, "docker = { hosts = [\"ssh://user@manager\"] }")
                    }
                },
                SourceKind::Kubernetes => match &ctx.kube {
                    Some(src) => kubernetes::discover(env, src),
                    None => {
                        missing_section(&ctx.name, "kube = { kubeconfig = \"~/.kube/config\" }")
                    }
                },
                SourceKind::Ec2 => match (&ctx.aws, explicit) {
                    (Some(src), _) => aws::discover(env, Some(src)),
                    (None, false) => aws::discover(env, None),
                    (None, true) => {
                        missing_section(&ctx.name, "aws = { regions = [\"eu-west-1\"] }")
                    }
                },
                SourceKind::Etcd => match &ctx.etcd {
                    Some(src) => etcd::discover(env, src),
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
    discover(&Env::process(docker_context), cfg)
}

impl Env<'static> {
    /// The real process environment and home directory; `--context NAME` stands in for
    /// `DOCKER_CONTEXT` (and wins over `DOCKER_HOST`, as with `docker --context`).
    pub fn process(docker_context: Option<&str>) -> Env<'static> {
        let docker_context = docker_context.map(str::to_string);
        let var = move |name: &str| match (name, docker_context.as_deref()) {
            ("DOCKER_CONTEXT", Some(c)) => Some(c.to_string()),
            ("DOCKER_HOST", Some(_)) => None,
            _ => std::env::var(name).ok(),
        };
        Env {
            var: Box::new(var),
            home: directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()),
            root: PathBuf::from("/"),
        }
    }
}

fn missing_section(context: &str, example: &str) -> Discovery {
    Discovery::NotConfigured {
        hint: format!("add {example} to the [[contexts]] entry \"{context}\" in config.toml"),
    }
}

pub(crate) fn configured(endpoint: impl Into<String>, via: impl Into<String>) -> Discovery {
    Discovery::Configured {
        endpoint: endpoint.into(),
        via: via.into(),
    }
}

pub(crate) fn not_configured(hint: impl Into<String>) -> Discovery {
    Discovery::NotConfigured { hint: hint.into() }
}

/// Hides a password written into an endpoint URL (`http://user:secret@host`).
pub(crate) fn redact(endpoint: &str) -> String {
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

pub(crate) fn join_endpoints<S: AsRef<str>>(list: &[S]) -> String {
    list.iter()
        .map(|e| redact(e.as_ref().trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
pub(crate) mod testing {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use super::*;

    pub(crate) struct Fake {
        pub(crate) home: tempfile::TempDir,
        pub(crate) root: tempfile::TempDir,
        vars: HashMap<String, String>,
    }

    impl Fake {
        pub(crate) fn new() -> Fake {
            Fake {
                home: tempfile::tempdir().expect("home"),
                root: tempfile::tempdir().expect("root"),
                vars: HashMap::new(),
            }
        }
        pub(crate) fn set(&mut self, k: &str, v: &str) -> &mut Self {
            self.vars.insert(k.to_owned(), v.to_owned());
            self
        }
        pub(crate) fn write(&self, rel: &str, text: &str) -> PathBuf {
            let p = self.home.path().join(rel);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent).expect("mkdir");
            }
            std::fs::write(&p, text).expect("write");
            p
        }
        pub(crate) fn run(&self, cfg: &Config) -> Vec<DiscoveredSource> {
            let var = |k: &str| self.vars.get(k).cloned();
            let env = Env {
                var: Box::new(var),
                home: Some(self.home.path().to_path_buf()),
                root: self.root.path().to_path_buf(),
            };
            discover(&env, cfg)
        }
        pub(crate) fn one(&self, kind: SourceKind) -> Discovery {
            self.run(&Config::default_embedded())
                .into_iter()
                .find(|d| d.kind == kind)
                .map(|d| d.discovery)
                .expect("every kind is reported")
        }
    }

    pub(crate) fn endpoint(d: &Discovery) -> &str {
        match d {
            Discovery::Configured { endpoint, .. } => endpoint,
            Discovery::NotConfigured { hint } => panic!("not configured: {hint}"),
        }
    }

    pub(crate) fn via(d: &Discovery) -> &str {
        match d {
            Discovery::Configured { via, .. } => via,
            Discovery::NotConfigured { hint } => panic!("not configured: {hint}"),
        }
    }

    pub(crate) fn hint(d: &Discovery) -> &str {
        match d {
            Discovery::NotConfigured { hint } => hint,
            Discovery::Configured { endpoint, .. } => panic!("configured: {endpoint}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;
    use crate::config::AwsSource;
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
                    ..DockerSource::default()
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
