//! One JSON POST over HTTP or HTTPS (the system's trust roots): what the console's
//! notification hooks send. The answer's body is not read beyond a few bytes of an error.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Error bodies kept for the message.
const ERROR_BODY: usize = 256;

/// POSTs `body` as JSON to `url` with `headers`; Ok with the status when it is 2xx.
pub async fn post_json(
    url: &str,
    headers: &[(String, String)],
    body: Vec<u8>,
    timeout: Duration,
) -> Result<u16, String> {
    let config = crate::tls::client_config(None, None, None)?;
    let connector = crate::tls::https_connector(config, timeout, false);
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(connector);
    let mut req = hyper::Request::post(url).header(hyper::header::CONTENT_TYPE, "application/json");
    for (k, v) in headers {
        req = req.header(k.as_str(), v.as_str());
    }
    let req = req
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("{url}: {e}"))?;
    let call = async {
        let resp = client
            .request(req)
            .await
            .map_err(|e| crate::tls::error_chain(&e))?;
        let status = resp.status();
        if status.is_success() {
            return Ok(status.as_u16());
        }
        let body = http_body_util::Limited::new(resp.into_body(), 64 * 1024)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&body[..body.len().min(ERROR_BODY)]).into_owned();
        Err(format!("HTTP {status}: {}", text.trim()))
    };
    tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| format!("no answer within {} s", timeout.as_secs()))?
}
