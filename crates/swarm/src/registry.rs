//! Tags of an image's registry (Docker Registry HTTP API v2, `GET /v2/<name>/tags/list`), to
//! offer explicit versions in the deploy prompt. Plain HTTP with short timeouts, run off the UI
//! thread; a registry that does not answer simply offers nothing.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(3);
/// Tags offered at most (newest registries list thousands).
const MAX_TAGS: usize = 50;

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

/// Blocking; call from a blocking task.
pub fn fetch_tags(image: &str) -> Result<Vec<String>, String> {
    let (host, name) = registry_of(image).ok_or("no registry host in the image name")?;
    let addr = host
        .to_socket_addrs()
        .map_err(|e| e.to_string())?
        .next()
        .ok_or("no address")?;
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET /v2/{name}/tags/list HTTP/1.0\r\nHost: {host}\r\nAccept: application/json\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut body = Vec::new();
    s.take(1 << 20)
        .read_to_end(&mut body)
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&body);
    let (head, json) = text.split_once("\r\n\r\n").ok_or("malformed HTTP answer")?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(head.lines().next().unwrap_or_default().to_string());
    }
    let list: TagList = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut tags = list.tags.unwrap_or_default();
    tags.sort();
    tags.truncate(MAX_TAGS);
    Ok(tags)
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
}
