//! `[[contexts]] docker`: the Swarm's manager endpoints, found as the docker CLI finds them
//! (`hosts`, a docker context, `DOCKER_HOST`, `DOCKER_CONTEXT`, the CLI's current context, the
//! default socket), validated, and turned into the Swarm backend's settings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use clusterdeck_swarm::{NodeEndpoints, SwarmSettings};

use crate::config::Config;
use crate::config::discovery::{
    DEFAULT_CONTEXT, DiscoveredSource, Discovery, Env, configured, join_endpoints, not_configured,
    redact,
};
use crate::config::load::Invalid;
use crate::model::SourceKind;

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DockerSource {
    /// Manager endpoints, tried in order for failover (`ssh://…`, `tcp://…`, `unix://…`).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// A `docker context` name, resolved from `~/.docker/contexts` when `hosts` is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Where each node's own engine answers, for container stats: `{addr}` and `{hostname}`
    /// are replaced (e.g. `tcp://{addr}:2376`). Unset: a `tcp://` manager endpoint's scheme
    /// and port at each node's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_endpoint: Option<String>,
    /// Per-node engine endpoints by hostname, before `node_endpoint`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub nodes: BTreeMap<String, String>,
}

pub(crate) fn validate(d: &DockerSource, base: &str) -> Result<(), Invalid> {
    for (j, host) in d.hosts.iter().enumerate() {
        if !host.contains("://") {
            return Err(Invalid::value(
                format!("{base}.docker.hosts[{j}]"),
                format!(
                    "`{host}` is not an endpoint URL, expected e.g. ssh://user@host, \
                     tcp://host:2376 or unix:///var/run/docker.sock"
                ),
            ));
        }
    }
    for (host, ep) in d
        .nodes
        .iter()
        .map(|(h, e)| (format!("{base}.docker.nodes.{h}"), e))
        .chain(
            d.node_endpoint
                .iter()
                .map(|e| (format!("{base}.docker.node_endpoint"), e)),
        )
    {
        if !ep.contains("://") {
            return Err(Invalid::value(
                host,
                format!("`{ep}` is not an endpoint URL, expected e.g. tcp://{{addr}}:2376"),
            ));
        }
    }
    if d.context.as_ref().is_some_and(|c| c.trim().is_empty()) {
        return Err(Invalid::value(
            format!("{base}.docker.context"),
            "must not be empty",
        ));
    }
    Ok(())
}

/// Contexts with a Swarm endpoint. From `[[contexts]]` `docker.hosts` when set, else from
/// what discovery found (DOCKER_HOST, docker contexts).
pub(crate) fn settings(
    cfg: &Config,
    sources: &[DiscoveredSource],
    env: &Env,
) -> Vec<SwarmSettings> {
    let found = |ctx: &str| {
        sources
            .iter()
            .find_map(|s| match (&s.discovery, s.kind, s.context == ctx) {
                (Discovery::Configured { endpoint, .. }, SourceKind::Swarm, true) => {
                    Some(endpoint.clone())
                }
                _ => None,
            })
    };
    let reconcile = Duration::from_secs(cfg.refresh.reconcile_secs);
    let make = |cluster: &str, endpoints: Vec<String>, tls: Option<PathBuf>, d: &DockerSource| {
        SwarmSettings {
            cluster: cluster.to_string(),
            endpoints,
            reconcile,
            tls,
            nodes: NodeEndpoints {
                by_host: d.nodes.clone(),
                template: d.node_endpoint.clone(),
            },
        }
    };
    if cfg.contexts.is_empty() {
        let none = DockerSource::default();
        let tls = context_tls(env, &none);
        return found(DEFAULT_CONTEXT)
            .map(|e| vec![make(DEFAULT_CONTEXT, vec![e], tls, &none)])
            .unwrap_or_default();
    }
    cfg.contexts
        .iter()
        .filter_map(|c| {
            let d = c.docker.as_ref()?;
            let (endpoints, tls) = if d.hosts.is_empty() {
                (found(&c.name).into_iter().collect(), context_tls(env, d))
            } else {
                (d.hosts.clone(), None)
            };
            (!endpoints.is_empty()).then(|| make(&c.name, endpoints, tls, d))
        })
        .collect()
}

const DOCKER_HINT: &str = "set DOCKER_HOST or add [[contexts]] docker.hosts to config.toml";
pub(crate) const DOCKER_SOCKET: &str = "var/run/docker.sock";

pub(crate) fn discover(env: &Env, src: &DockerSource) -> Discovery {
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

/// The TLS material of the docker context `discover` chose, as the docker CLI keeps it
/// (`contexts/tls/<sha256 of the name>/docker/{ca,cert,key}.pem`); None when the endpoint
/// does not come from a context or the context has none (then `DOCKER_CERT_PATH` applies).
pub(crate) fn context_tls(env: &Env, src: &DockerSource) -> Option<PathBuf> {
    if !src.hosts.is_empty() {
        return None;
    }
    let dir = docker_config_dir(env)?;
    let name = match &src.context {
        Some(n) => n.clone(),
        None if env.get("DOCKER_HOST").is_some() => return None,
        None => env
            .get("DOCKER_CONTEXT")
            .or_else(|| current_docker_context(&dir))?,
    };
    let digest = hex::encode(Sha256::digest(name.as_bytes()));
    let tls = dir.join("contexts").join("tls").join(digest).join("docker");
    tls.join("ca.pem").exists().then_some(tls)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::discovery::testing::*;
    use crate::model::SourceKind;

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
}
