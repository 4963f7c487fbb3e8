//! Tags of an image's registry (Docker Registry HTTP API v2, `GET /v2/<name>/tags/list`), to
//! offer explicit versions in the deploy prompt, reached as the Docker engine reaches it:
//! HTTPS with verification (the system's roots, `SSL_CERT_FILE`), plain HTTP only for a
//! registry the engine lists as insecure, and the docker CLI's credentials
//! (`~/.docker/config.json`: `credHelpers`, `credsStore`, `auths`) for a registry that asks,
//! by Basic auth or a Bearer token from its realm. Bounded, off the UI thread; a registry that
//! does not answer offers nothing.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

const TIMEOUT: Duration = Duration::from_secs(5);
/// Tags offered at most (newest registries list thousands).
const MAX_TAGS: usize = 50;
const MAX_BODY: usize = 4 << 20;

/// Registries the engine treats as insecure (its `--insecure-registry` list and CIDRs), set by
/// the Swarm backend from the engine's info.
static INSECURE: Mutex<Insecure> = Mutex::new(Insecure {
    hosts: BTreeSet::new(),
    cidrs: Vec::new(),
});

#[derive(Default)]
struct Insecure {
    hosts: BTreeSet<String>,
    /// (network, prefix length) of IPv4 CIDRs.
    cidrs: Vec<(u32, u32)>,
}

/// What the engine says of registries: the index names it marks insecure, and its insecure
/// CIDRs (`127.0.0.0/8` by default).
pub fn set_insecure(hosts: impl IntoIterator<Item = String>, cidrs: &[String]) {
    let parsed = cidrs
        .iter()
        .filter_map(|c| {
            let (net, len) = c.split_once('/')?;
            let net: std::net::Ipv4Addr = net.parse().ok()?;
            Some((u32::from(net), len.parse().ok()?))
        })
        .collect();
    if let Ok(mut i) = INSECURE.lock() {
        i.hosts = hosts.into_iter().collect();
        i.cidrs = parsed;
    }
}

fn is_insecure(host: &str) -> bool {
    let Ok(i) = INSECURE.lock() else {
        return false;
    };
    if i.hosts.contains(host) {
        return true;
    }
    let ip = host.rsplit_once(':').map_or(host, |(h, _)| h);
    ip.parse::<std::net::Ipv4Addr>().is_ok_and(|ip| {
        let ip = u32::from(ip);
        i.cidrs.iter().any(|(net, len)| {
            let mask = if *len == 0 { 0 } else { u32::MAX << (32 - len) };
            ip & mask == net & mask
        })
    })
}

/// `10.99.1.1:5000/demo/app:1@sha256:…` → (`10.99.1.1:5000`, `demo/app`). Only references
/// that name a registry host (with a dot, a port, or `localhost`) are looked up.
pub fn registry_of(image: &str) -> Option<(String, String)> {
    let (repo, _, _) = clusterdeck_ops::parse_image_ref(image);
    let (host, name) = repo.split_once('/')?;
    (host.contains('.') || host.contains(':') || host == "localhost")
        .then(|| (host.to_string(), name.to_string()))
}

#[derive(serde::Deserialize)]
struct TagList {
    tags: Option<Vec<String>>,
}

/// Where the lookup finds what the docker CLI would: its config directory, the CA to trust
/// (None: the system's roots, `SSL_CERT_FILE` honoured) and where credential helpers are
/// (None: `PATH`).
#[derive(Clone, Debug, Default)]
pub struct Lookup {
    pub docker_config: Option<PathBuf>,
    pub ca: Option<PathBuf>,
    pub helpers: Option<PathBuf>,
}

impl Lookup {
    pub fn from_env() -> Lookup {
        Lookup {
            docker_config: docker_config_dir(),
            ..Lookup::default()
        }
    }
}

/// Blocking (a runtime of its own); call from a blocking task.
pub fn fetch_tags(image: &str) -> Result<Vec<String>, String> {
    fetch_tags_with(image, &Lookup::from_env())
}

/// As `fetch_tags`, with what the docker CLI's environment would give spelled out.
pub fn fetch_tags_with(image: &str, lookup: &Lookup) -> Result<Vec<String>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(fetch_tags_async(image, lookup))
}

async fn fetch_tags_async(image: &str, lookup: &Lookup) -> Result<Vec<String>, String> {
    let (host, name) = registry_of(image).ok_or("no registry host in the image name")?;
    let path = format!("/v2/{name}/tags/list");
    let http = Http::new(lookup)?;
    let secure = http.get_authorized("https", &host, &path).await;
    let body = match secure {
        Ok(b) => b,
        // Plain HTTP only where the engine itself would use it.
        Err(e) if is_insecure(&host) => http
            .get_authorized("http", &host, &path)
            .await
            .map_err(|plain| format!("{e}; over plain HTTP: {plain}"))?,
        Err(e) => return Err(e),
    };
    let list: TagList = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    let mut tags = list.tags.unwrap_or_default();
    tags.sort();
    tags.truncate(MAX_TAGS);
    Ok(tags)
}

struct Http<'a> {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Empty<Bytes>>,
    lookup: &'a Lookup,
}

struct Answer {
    status: hyper::StatusCode,
    challenge: Option<String>,
    body: Bytes,
}

impl Http<'_> {
    fn new(lookup: &Lookup) -> Result<Http<'_>, String> {
        let config = clusterdeck_kit::tls::client_config(lookup.ca.as_deref(), None, None)?;
        let connector = clusterdeck_kit::tls::https_connector(config, TIMEOUT, false);
        Ok(Http {
            client: Client::builder(TokioExecutor::new()).build(connector),
            lookup,
        })
    }

    async fn get(&self, url: &str, auth: Option<&str>) -> Result<Answer, String> {
        let mut req = hyper::Request::get(url).header("Accept", "application/json");
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let req = req.body(Empty::new()).map_err(|e| e.to_string())?;
        let call = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| clusterdeck_kit::tls::error_chain(&e))?;
            let status = resp.status();
            let challenge = resp
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = http_body_util::Limited::new(resp.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>(Answer {
                status,
                challenge,
                body,
            })
        };
        tokio::time::timeout(TIMEOUT, call)
            .await
            .map_err(|_| format!("{url}: no answer within {} s", TIMEOUT.as_secs()))?
            .map_err(|e| format!("{url}: {e}"))
    }

    /// GET, answering the registry's challenge with the docker CLI's credentials for `host`.
    async fn get_authorized(&self, scheme: &str, host: &str, path: &str) -> Result<Bytes, String> {
        let url = format!("{scheme}://{host}{path}");
        let first = self.get(&url, None).await?;
        let answer = if first.status == hyper::StatusCode::UNAUTHORIZED {
            let challenge = first.challenge.unwrap_or_default();
            let creds = credentials(self.lookup, host)?
                .ok_or_else(|| format!("{host} asks for credentials and the docker CLI has none for it (docker login {host})"))?;
            let auth = self.authorization(&challenge, &creds).await?;
            self.get(&url, Some(&auth)).await?
        } else {
            first
        };
        if !answer.status.is_success() {
            return Err(format!("{url}: HTTP {}", answer.status));
        }
        Ok(answer.body)
    }

    /// `Basic …`, or `Bearer <token>` fetched from the challenge's realm.
    async fn authorization(
        &self,
        challenge: &str,
        creds: &(String, String),
    ) -> Result<String, String> {
        let basic = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", creds.0, creds.1))
        );
        let Some(params) = challenge.strip_prefix("Bearer ") else {
            return Ok(basic);
        };
        let field = |k: &str| {
            params.split(',').find_map(|p| {
                let (key, v) = p.trim().split_once('=')?;
                (key == k).then(|| v.trim_matches('"').to_string())
            })
        };
        let realm = field("realm").ok_or("a Bearer challenge without a realm")?;
        let mut url = realm.clone();
        let query: Vec<String> = ["service", "scope"]
            .iter()
            .filter_map(|k| field(k).map(|v| format!("{k}={v}")))
            .collect();
        if !query.is_empty() {
            url.push(if realm.contains('?') { '&' } else { '?' });
            url.push_str(&query.join("&"));
        }
        let a = self.get(&url, Some(&basic)).await?;
        if !a.status.is_success() {
            return Err(format!("{realm}: HTTP {} for a token", a.status));
        }
        let json: serde_json::Value = serde_json::from_slice(&a.body).map_err(|e| e.to_string())?;
        let token = json["token"]
            .as_str()
            .or(json["access_token"].as_str())
            .ok_or("the token answer holds no token")?;
        Ok(format!("Bearer {token}"))
    }
}

/// The docker CLI's config directory: `$DOCKER_CONFIG`, else `~/.docker`.
fn docker_config_dir() -> Option<PathBuf> {
    std::env::var_os("DOCKER_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))
}

/// (user, secret) for `host` as the docker CLI finds them: its credential helper for that
/// registry, the credentials store, or the `auths` entry.
fn credentials(lookup: &Lookup, host: &str) -> Result<Option<(String, String)>, String> {
    let Some(dir) = &lookup.docker_config else {
        return Ok(None);
    };
    let Ok(text) = std::fs::read_to_string(dir.join("config.json")) else {
        return Ok(None);
    };
    let cfg: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}: {e}", dir.join("config.json").display()))?;
    let helper = cfg["credHelpers"][host]
        .as_str()
        .or(cfg["credsStore"].as_str());
    if let Some(h) = helper {
        return helper_get(lookup, h, host).map(Some);
    }
    let Some(auth) = cfg["auths"][host]["auth"].as_str() else {
        return Ok(None);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .map_err(|e| format!("auths.{host}.auth: {e}"))?;
    let text = String::from_utf8_lossy(&decoded);
    let (user, secret) = text
        .split_once(':')
        .ok_or("auths entry without user:secret")?;
    Ok(Some((user.to_string(), secret.to_string())))
}

/// `docker-credential-<helper> get`, the registry on stdin, `{"Username","Secret"}` out.
fn helper_get(lookup: &Lookup, helper: &str, host: &str) -> Result<(String, String), String> {
    use std::io::Write;
    let program = format!("docker-credential-{helper}");
    let path = lookup
        .helpers
        .as_ref()
        .map_or_else(|| PathBuf::from(&program), |d| d.join(&program));
    let mut child = std::process::Command::new(&path)
        .arg("get")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(host.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{program}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{program} get {host}: {}",
            String::from_utf8_lossy(&out.stdout).trim()
        ));
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("{program}: {e}"))?;
    match (v["Username"].as_str(), v["Secret"].as_str()) {
        (Some(u), Some(s)) => Ok((u.to_string(), s.to_string())),
        _ => Err(format!("{program}: no Username/Secret in its answer")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_hosts() {
        assert_eq!(
            registry_of("10.99.1.1:5000/demo/app:1"),
            Some(("10.99.1.1:5000".into(), "demo/app".into()))
        );
        assert_eq!(registry_of("nginx:1.25"), None);
        assert_eq!(registry_of("library/nginx"), None);
    }

    #[test]
    fn insecure_by_name_or_cidr_as_the_engine_says() {
        set_insecure(["10.99.1.1:5000".to_string()], &["127.0.0.0/8".to_string()]);
        assert!(is_insecure("10.99.1.1:5000"));
        assert!(is_insecure("127.0.0.1:5001"));
        assert!(!is_insecure("registry.example:443"));
        assert!(!is_insecure("10.99.1.2:5000"));
    }
}
