//! The console's own HTTP transport under bollard (`Docker::connect_with_custom_transport`):
//! the connection to the engine is ours, so one pipe carries bollard's typed calls and the
//! raw reads of what bollard's model lacks (a service's `PreviousSpec`). `unix://`, `tcp://`,
//! `tcp://` with TLS when `DOCKER_TLS_VERIFY` / `DOCKER_CERT_PATH` say so, and `ssh://`
//! through the user's ssh (`ssh.rs`), as the docker CLI does.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bollard::{API_DEFAULT_VERSION, BollardRequest, Docker};
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;

type Answer =
    Pin<Box<dyn Future<Output = Result<hyper::Response<Incoming>, bollard::errors::Error>> + Send>>;
type Send_ = dyn Fn(BollardRequest) -> Answer + Send + Sync;
/// The request body bollard sends (its type is private; `body_full` makes one).
type Body = <BollardRequest as BodyOf>::Body;

trait BodyOf {
    type Body;
}

impl<B> BodyOf for hyper::Request<B> {
    type Body = B;
}

/// Answers larger than this are refused (a service list of thousands stays below it).
const MAX_BODY: usize = 64 << 20;

/// One engine endpoint, reached through a connection the console owns.
#[derive(Clone)]
pub struct Link {
    send: Arc<Send_>,
    /// What request URIs start with: the endpoint's address, or a stand-in host for a socket.
    base: String,
}

/// Connects to a Unix socket whatever the request's host says.
#[derive(Clone)]
struct UnixConnector(Arc<PathBuf>);

impl tower_service::Service<hyper::Uri> for UnixConnector {
    type Response = TokioIo<tokio::net::UnixStream>;
    type Error = std::io::Error;
    type Future = Pin<Box<dyn Future<Output = std::io::Result<Self::Response>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: hyper::Uri) -> Self::Future {
        let path = Arc::clone(&self.0);
        Box::pin(async move { Ok(TokioIo::new(tokio::net::UnixStream::connect(&*path).await?)) })
    }
}

fn via<C>(client: Client<C, Body>) -> Arc<Send_>
where
    C: hyper_util::client::legacy::connect::Connect + Clone + Send + Sync + 'static,
{
    Arc::new(move |req: BollardRequest| {
        let client = client.clone();
        Box::pin(async move {
            client
                .request(req)
                .await
                .map_err(bollard::errors::Error::from)
        }) as Answer
    })
}

impl Link {
    /// A link for `endpoint` (no I/O yet); `tls` is the docker CLI's (key, cert, ca).
    pub fn new(
        endpoint: &str,
        tls: Option<(PathBuf, PathBuf, PathBuf)>,
        connect_timeout: Duration,
    ) -> Result<Link, String> {
        let builder = || Client::builder(TokioExecutor::new());
        if let Some(path) = endpoint
            .strip_prefix("unix://")
            .or_else(|| endpoint.starts_with('/').then_some(endpoint))
        {
            let c = builder().build(UnixConnector(Arc::new(PathBuf::from(path))));
            return Ok(Link {
                send: via(c),
                base: "http://docker".into(),
            });
        }
        if endpoint.starts_with("ssh://") {
            let target = crate::ssh::parse(endpoint)?;
            let c = builder().build(crate::ssh::SshConnector(Arc::new(target)));
            return Ok(Link {
                send: via(c),
                base: "http://docker".into(),
            });
        }
        let rest = ["tcp://", "http://", "https://"]
            .iter()
            .find_map(|p| endpoint.strip_prefix(p))
            .ok_or_else(|| {
                format!("{endpoint}: not a Docker endpoint (unix://, tcp://, ssh://)")
            })?;
        match tls {
            None if !endpoint.starts_with("https://") => {
                let mut http = HttpConnector::new();
                http.set_connect_timeout(Some(connect_timeout));
                Ok(Link {
                    send: via(builder().build(http)),
                    base: format!("http://{rest}"),
                })
            }
            tls => {
                let (key, cert, ca) = match &tls {
                    Some((k, c, a)) => (Some(k.as_path()), Some(c.as_path()), Some(a.as_path())),
                    None => (None, None, None),
                };
                let config = clusterdeck_kit::tls::client_config(ca, cert, key)?;
                let https = clusterdeck_kit::tls::https_connector(config, connect_timeout, true);
                Ok(Link {
                    send: via(builder().build(https)),
                    base: format!("https://{rest}"),
                })
            }
        }
    }

    /// A bollard client on this link (the API version is negotiated after).
    pub fn docker(&self, timeout: Duration) -> Result<Docker, String> {
        let send = Arc::clone(&self.send);
        Docker::connect_with_custom_transport(
            move |req: BollardRequest| send(req),
            Some(self.base.as_str()),
            timeout.as_secs(),
            API_DEFAULT_VERSION,
        )
        .map_err(|e| e.to_string())
    }

    /// GET `path` (`/services?status=true`) at the API version `docker` negotiated, as JSON.
    /// `Err` is (the engine's message, whether the engine answered at all).
    pub async fn get_json(
        &self,
        docker: &Docker,
        path: &str,
        timeout: Duration,
    ) -> Result<Value, (String, bool)> {
        let v = docker.client_version();
        let url = format!(
            "{}/v{}.{}{path}",
            self.base, v.major_version, v.minor_version
        );
        let req = hyper::Request::get(&url)
            .body(bollard::body_full(Bytes::new()))
            .map_err(|e| (format!("{url}: {e}"), false))?;
        let call = async {
            let resp = (self.send)(req).await.map_err(|e| (e.to_string(), false))?;
            let status = resp.status();
            let body = http_body_util::Limited::new(resp.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| (format!("reading the answer: {e}"), false))?
                .to_bytes();
            Ok::<_, (String, bool)>((status, body))
        };
        let (status, body) = tokio::time::timeout(timeout, call)
            .await
            .map_err(|_| (format!("no answer within {}s", timeout.as_secs()), false))??;
        let json: Value = serde_json::from_slice(&body)
            .map_err(|e| (format!("HTTP {status}: not JSON ({e})"), true))?;
        if !status.is_success() {
            let msg = json["message"].as_str().unwrap_or("error").to_string();
            return Err((msg, true));
        }
        Ok(json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_it_speaks_and_those_it_does_not() {
        let t = Duration::from_secs(1);
        assert!(Link::new("unix:///var/run/docker.sock", None, t).is_ok());
        assert!(
            Link::new("tcp://10.0.0.1:2375", None, t)
                .is_ok_and(|l| l.base == "http://10.0.0.1:2375")
        );
        assert!(Link::new("ftp://x", None, t).is_err_and(|e| e.contains("not a Docker endpoint")));
    }
}
