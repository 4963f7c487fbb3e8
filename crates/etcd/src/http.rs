//! etcd's v3 JSON gateway over HTTP/1.1, plain or TLS with an optional client certificate.
//! The gateway serves every call the quorum view needs (`/v3/maintenance/status`,
//! `/v3/cluster/member/list`, `/v3/maintenance/alarm`), so no gRPC stack is built for it.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Answers larger than this are refused: a status answer is a few hundred bytes.
const MAX_BODY: usize = 1 << 20;

/// Where the TLS material comes from (PEM files, as etcdctl takes them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EtcdTls {
    pub ca: Option<std::path::PathBuf>,
    pub cert: Option<std::path::PathBuf>,
    pub key: Option<std::path::PathBuf>,
}

#[derive(Clone)]
pub struct Http {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
    client_cert: bool,
}

impl Http {
    /// Reads the TLS files once; a missing or malformed file is an error naming it.
    pub fn new(tls: &EtcdTls, timeout: Duration) -> Result<Http, String> {
        let config = clusterdeck_kit::tls::client_config(
            tls.ca.as_deref(),
            tls.cert.as_deref(),
            tls.key.as_deref(),
        )?;
        let connector = clusterdeck_kit::tls::https_connector(config, timeout, false);
        Ok(Http {
            client: Client::builder(TokioExecutor::new()).build(connector),
            timeout,
            client_cert: tls.cert.is_some(),
        })
    }

    /// POSTs `body` to `endpoint` + `path` and returns the JSON answer and the round trip.
    pub async fn post(
        &self,
        endpoint: &str,
        path: &str,
        body: &'static str,
    ) -> Result<(serde_json::Value, Duration), String> {
        let url = format!("{}{path}", endpoint.trim_end_matches('/'));
        let req = hyper::Request::post(&url)
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from_static(body.as_bytes())))
            .map_err(|e| format!("{url}: {e}"))?;
        let started = Instant::now();
        let call = async {
            let resp = self.client.request(req).await.map_err(|e| {
                let msg = clusterdeck_kit::tls::error_chain(&e);
                // With TLS 1.3 a server that demands a client certificate closes the
                // connection after the handshake, which reads as a bare connection error.
                if url.starts_with("https://") && !self.client_cert && !msg.contains("refused") {
                    format!("{msg} (the server may require a client certificate: set etcd.cert and etcd.key)")
                } else {
                    msg
                }
            })?;
            let status = resp.status();
            let body = http_body_util::Limited::new(resp.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| format!("reading the answer: {e}"))?
                .to_bytes();
            Ok::<_, String>((status, body))
        };
        let (status, body) = tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| format!("no answer within {} s", self.timeout.as_secs()))??;
        let elapsed = started.elapsed();
        let json: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("HTTP {status}: not JSON ({e})"))?;
        if !status.is_success() {
            // The gateway puts gRPC errors in {"error": "...", "message": "..."}.
            let msg = json
                .get("message")
                .or_else(|| json.get("error"))
                .and_then(|m| m.as_str())
                .unwrap_or("error");
            return Err(format!("HTTP {status}: {msg}"));
        }
        Ok((json, elapsed))
    }
}
