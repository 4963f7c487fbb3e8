//! `[[contexts]] etcd`: endpoints and TLS files, each falling back to the etcdctl variables
//! (`ETCDCTL_ENDPOINTS`, `ETCDCTL_CACERT`, `ETCDCTL_CERT`, `ETCDCTL_KEY`, read in one place),
//! validated, and turned into the etcd view's settings.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use clusterdeck_etcd::{EtcdSettings, EtcdTls};

use crate::config::Config;
use crate::config::discovery::{
    DEFAULT_CONTEXT, Discovery, Env, configured, join_endpoints, not_configured,
};
use crate::config::load::Invalid;

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct EtcdSource {
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// CA bundle for `https://` endpoints (the system roots when absent); like `--cacert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<PathBuf>,
    /// Client certificate and key (PEM) for clusters with `--client-cert-auth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
}

pub(crate) fn validate(e: &EtcdSource, base: &str) -> Result<(), Invalid> {
    if let Some(j) = e.endpoints.iter().position(|r| r.trim().is_empty()) {
        return Err(Invalid::value(
            format!("{base}.etcd.endpoints[{j}]"),
            "empty endpoint",
        ));
    }
    if let Some(j) = e
        .endpoints
        .iter()
        .position(|r| !(r.starts_with("http://") || r.starts_with("https://")))
    {
        return Err(Invalid::value(
            format!("{base}.etcd.endpoints[{j}]"),
            "must start with http:// or https://",
        ));
    }
    if e.cert.is_some() != e.key.is_some() {
        return Err(Invalid::value(
            format!("{base}.etcd"),
            "`cert` and `key` go together (a client certificate needs its key)",
        ));
    }
    Ok(())
}

/// `ETCDCTL_ENDPOINTS`, split as etcdctl splits it.
fn env_endpoints(env: &Env) -> Vec<String> {
    env.get("ETCDCTL_ENDPOINTS")
        .map(|l| {
            l.split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn env_tls(env: &Env) -> EtcdTls {
    EtcdTls {
        ca: env.get("ETCDCTL_CACERT").map(PathBuf::from),
        cert: env.get("ETCDCTL_CERT").map(PathBuf::from),
        key: env.get("ETCDCTL_KEY").map(PathBuf::from),
    }
}

/// Contexts with etcd: `[[contexts]] etcd` (endpoints and TLS files, each falling back to the
/// etcdctl variables), or the default context when `ETCDCTL_ENDPOINTS` is set.
pub fn settings(cfg: &Config, env: &Env) -> Vec<EtcdSettings> {
    if cfg.contexts.is_empty() {
        let eps = env_endpoints(env);
        if eps.is_empty() {
            return Vec::new();
        }
        return vec![EtcdSettings::new(
            DEFAULT_CONTEXT.to_string(),
            eps,
            env_tls(env),
        )];
    }
    cfg.contexts
        .iter()
        .filter_map(|c| {
            let e = c.etcd.as_ref()?;
            let (endpoints, tls) = if e.endpoints.is_empty() {
                (env_endpoints(env), env_tls(env))
            } else {
                let tls = EtcdTls {
                    ca: e.ca.clone(),
                    cert: e.cert.clone(),
                    key: e.key.clone(),
                };
                (e.endpoints.clone(), tls)
            };
            (!endpoints.is_empty()).then(|| EtcdSettings::new(c.name.clone(), endpoints, tls))
        })
        .collect()
}

pub(crate) fn discover(env: &Env, src: &EtcdSource) -> Discovery {
    if !src.endpoints.is_empty() {
        return configured(join_endpoints(&src.endpoints), "config.toml etcd.endpoints");
    }
    match env_endpoints(env).as_slice() {
        [] => not_configured(
            "set ETCDCTL_ENDPOINTS or add [[contexts]] etcd.endpoints to config.toml",
        ),
        eps => configured(join_endpoints(eps), "ETCDCTL_ENDPOINTS"),
    }
}

#[cfg(test)]
mod tests {
    use crate::config::discovery::testing::*;
    use crate::model::SourceKind;

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
}
