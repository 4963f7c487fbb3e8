//! Connecting the way the Docker CLI does: `unix://`, `tcp://` (TLS when `DOCKER_TLS_VERIFY` /
//! `DOCKER_CERT_PATH` say so), on a link the console owns (transport.rs), with the API
//! version negotiated, never pinned. `ssh://` is not
//! spoken directly: forward the remote socket with ssh and point at it (see docs).

use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::Docker;

use crate::transport::Link;

/// Per-request timeout. A swarm without a leader answers cluster calls only after 10–20 s of
/// trying; the console must not wait longer than that on any one call.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(12);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(4);

#[derive(Clone)]
pub struct Connected {
    pub docker: Docker,
    /// The connection under `docker`, for raw reads of what its model lacks.
    pub link: Link,
    pub endpoint: String,
    pub api: String,
}

fn tls_paths() -> Option<(PathBuf, PathBuf, PathBuf)> {
    let verify = std::env::var("DOCKER_TLS_VERIFY").is_ok_and(|v| !v.is_empty() && v != "0");
    let dir = std::env::var_os("DOCKER_CERT_PATH").map(PathBuf::from);
    if !verify && dir.is_none() {
        return None;
    }
    let dir = dir.or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))?;
    Some((
        dir.join("key.pem"),
        dir.join("cert.pem"),
        dir.join("ca.pem"),
    ))
}

/// The TLS files in a docker CLI-layout directory: (key, cert, ca).
fn tls_in(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    (
        dir.join("key.pem"),
        dir.join("cert.pem"),
        dir.join("ca.pem"),
    )
}

/// Builds a client for one endpoint on a link the console owns (no I/O yet), with the TLS
/// material of `tls` (a docker context's) or else the environment's.
pub fn client(endpoint: &str, tls: Option<&Path>) -> Result<(Docker, Link), String> {
    let tls = tls.map(tls_in).or_else(tls_paths);
    let link = Link::new(endpoint, tls, CONNECT_TIMEOUT)?;
    let docker = link
        .docker(REQUEST_TIMEOUT)
        .map_err(|e| format!("{endpoint}: {e}"))?;
    Ok((docker, link))
}

/// An error in words: a certificate the CA does not vouch for is said as such.
fn explain(endpoint: &str, e: &str, tls: Option<&Path>) -> String {
    if e.contains("UnknownIssuer") || e.contains("unknown issuer") {
        let ca = tls.map_or_else(
            || "the configured ca.pem".to_string(),
            |d| d.join("ca.pem").display().to_string(),
        );
        format!("{endpoint}: the engine's certificate is not signed by the CA in {ca} ({e})")
    } else {
        format!("{endpoint}: {e}")
    }
}

/// Connects and negotiates the API version; `Err` says why, naming the endpoint.
pub async fn connect(endpoint: &str, tls: Option<&Path>) -> Result<Connected, String> {
    let (docker, link) = client(endpoint, tls)?;
    let docker = tokio::time::timeout(CONNECT_TIMEOUT, docker.negotiate_version())
        .await
        .map_err(|_| {
            format!(
                "{endpoint}: no answer within {}s",
                CONNECT_TIMEOUT.as_secs()
            )
        })?
        .map_err(|e| explain(endpoint, &clusterdeck_kit::tls::error_chain(&e), tls))?;
    let v = docker.client_version();
    Ok(Connected {
        docker,
        link,
        endpoint: endpoint.to_string(),
        api: format!("{}.{}", v.major_version, v.minor_version),
    })
}

/// Whether the negotiated API has `GET /services?status=true` (1.41+).
pub fn has_service_status(api: &str) -> bool {
    let mut it = api.split('.').filter_map(|p| p.parse::<u32>().ok());
    matches!((it.next(), it.next()), (Some(maj), Some(min)) if maj > 1 || (maj == 1 && min >= 41))
}

/// The first of `endpoints` that answers; `Err` names why each did not.
pub async fn connect_any(endpoints: &[String], tls: Option<&Path>) -> Result<Connected, String> {
    let mut reasons = Vec::new();
    for ep in endpoints {
        match connect(ep, tls).await {
            Ok(c) => return Ok(c),
            Err(e) => reasons.push(e),
        }
    }
    if reasons.is_empty() {
        reasons.push("no manager endpoint configured".to_string());
    }
    Err(reasons.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_status_needs_1_41() {
        assert!(has_service_status("1.41"));
        assert!(has_service_status("1.53"));
        assert!(!has_service_status("1.40"));
        assert!(
            client("ssh://ops@mgr1", None).is_ok(),
            "ssh:// is a transport of its own"
        );
        assert!(client("ftp://x", None).is_err());
    }
}
