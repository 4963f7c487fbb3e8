//! One web session with Jenkins: Basic auth, the session cookies Jenkins sets (its crumb is
//! bound to them), the crumb, a time limit on every request, and errors in words.

use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::Connect;
use hyper_util::rt::TokioExecutor;

use super::api::excerpt;

/// The largest JSON answer read.
const JSON_LIMIT: usize = 1024 * 1024;
/// Characters of an error page kept in the message.
const ERROR_TEXT: usize = 200;

pub(crate) struct Session<C> {
    client: Client<C, Full<Bytes>>,
    base: String,
    user: Option<String>,
    auth: Option<String>,
    cookies: Vec<(String, String)>,
    crumb: Option<(header::HeaderName, String)>,
    timeout: Duration,
}

impl<C> Session<C>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    pub(crate) fn new(
        connector: C,
        base: &str,
        credentials: Option<(&str, &str)>,
        timeout: Duration,
    ) -> Session<C> {
        let basic = |(user, token)| {
            let encoded =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
            format!("Basic {encoded}")
        };
        Session {
            client: Client::builder(TokioExecutor::new()).build(connector),
            base: base.to_string(),
            user: credentials.map(|(u, _)| u.to_string()),
            auth: credentials.map(basic),
            cookies: Vec::new(),
            crumb: None,
            timeout,
        }
    }

    /// Sends the crumb in `field` from now on.
    pub(crate) fn set_crumb(&mut self, field: &str, crumb: String) -> Result<(), String> {
        let name = header::HeaderName::from_bytes(field.as_bytes()).map_err(|_| {
            format!("Jenkins named its crumb field {field:?}, which is no header name")
        })?;
        self.crumb = Some((name, crumb));
        Ok(())
    }

    /// Sends one request (a form body for a POST) and returns the answer's head within the
    /// time limit; keeps the cookies it sets.
    pub(crate) async fn send(
        &mut self,
        method: Method,
        url: &str,
        what: &str,
        form: Option<String>,
    ) -> Result<Response<Incoming>, String> {
        let mut req = Request::builder().method(method).uri(url);
        if let Some(auth) = &self.auth {
            req = req.header(header::AUTHORIZATION, auth);
        }
        if !self.cookies.is_empty() {
            let pairs: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header(header::COOKIE, pairs.join("; "));
        }
        if let Some((field, crumb)) = &self.crumb {
            req = req.header(field, crumb);
        }
        if form.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let req = req
            .body(Full::new(Bytes::from(form.unwrap_or_default())))
            .map_err(|e| format!("{what}: cannot make a request of {url}: {e}"))?;
        let resp = tokio::time::timeout(self.timeout, self.client.request(req))
            .await
            .map_err(|_| self.late(what))?
            .map_err(|e| {
                format!(
                    "Jenkins at {} could not be reached ({what}): {}",
                    self.base,
                    clusterdeck_kit::tls::error_chain(&e)
                )
            })?;
        self.keep_cookies(resp.headers());
        Ok(resp)
    }

    /// GET `url`, expecting 200 and JSON of type `T`.
    pub(crate) async fn get_json<T: serde::de::DeserializeOwned>(
        &mut self,
        url: &str,
        what: &str,
    ) -> Result<T, String> {
        let resp = self.send(Method::GET, url, what, None).await?;
        let status = resp.status();
        let body = self.body(resp, what).await?;
        if status != StatusCode::OK {
            return Err(self.status_error(what, status, &body));
        }
        serde_json::from_slice(&body)
            .map_err(|e| format!("{what}: Jenkins answered JSON this console does not read: {e}"))
    }

    /// A whole (small) body within the time limit.
    pub(crate) async fn body(&self, resp: Response<Incoming>, what: &str) -> Result<Bytes, String> {
        let collect = Limited::new(resp.into_body(), JSON_LIMIT).collect();
        tokio::time::timeout(self.timeout, collect)
            .await
            .map_err(|_| self.late(what))?
            .map(|b| b.to_bytes())
            .map_err(|e| format!("{what}: reading Jenkins' answer: {e}"))
    }

    /// The next piece of a streamed body (None at its end), within the time limit.
    pub(crate) async fn next_chunk(
        &self,
        body: &mut Incoming,
        what: &str,
    ) -> Result<Option<Bytes>, String> {
        loop {
            let frame = tokio::time::timeout(self.timeout, body.frame())
                .await
                .map_err(|_| self.late(what))?;
            match frame {
                None => return Ok(None),
                Some(Err(e)) => return Err(format!("{what}: reading Jenkins' answer: {e}")),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }

    /// An unexpected status in words, with a little of the page.
    pub(crate) fn status_error(&self, what: &str, status: StatusCode, body: &[u8]) -> String {
        let code = status.as_u16();
        if status == StatusCode::UNAUTHORIZED {
            return match &self.user {
                Some(user) => format!(
                    "HTTP 401 from {what}: Jenkins did not accept the API token of user {user:?} (check user and token_file)"
                ),
                None => format!(
                    "HTTP 401 from {what}: Jenkins wants credentials (set user and token_file)"
                ),
            };
        }
        let text = excerpt(body, ERROR_TEXT);
        let reason = status.canonical_reason().unwrap_or("");
        if text.is_empty() {
            format!("HTTP {code} {reason} from {what}")
        } else {
            format!("HTTP {code} from {what}: {text}")
        }
    }

    fn late(&self, what: &str) -> String {
        format!(
            "Jenkins at {} did not answer within {} ({what})",
            self.base,
            seconds(self.timeout)
        )
    }

    fn keep_cookies(&mut self, headers: &header::HeaderMap) {
        for value in headers.get_all(header::SET_COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            let pair = value.split(';').next().unwrap_or_default();
            let Some((name, val)) = pair.split_once('=') else {
                continue;
            };
            let (name, val) = (name.trim().to_string(), val.trim().to_string());
            match self.cookies.iter_mut().find(|(k, _)| *k == name) {
                Some(kept) => kept.1 = val,
                None => self.cookies.push((name, val)),
            }
        }
    }
}

/// "10 s", "0.5 s".
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}
