//! A local server implementing Jenkins' documented remote API — the part a pipeline hook uses —
//! because no Jenkins can be installed from the registries here. It is strict where Jenkins is:
//!
//! - every request needs HTTP Basic auth with the configured user and API token (401 otherwise);
//! - `GET /crumbIssuer/api/json` starts a web session (`Set-Cookie: JSESSIONID.…`) and issues a
//!   crumb bound to it; a POST without the crumb, or whose cookie is not the crumb's session,
//!   is answered 403 "No valid crumb was included in the request" (with CSRF protection off,
//!   the crumb issuer answers 404 and POSTs need no crumb);
//! - `POST /job/a/job/b/buildWithParameters` (or `/build`) records the form's parameters and
//!   answers 201 with `Location: http://host:port/queue/item/N/`;
//! - `GET /queue/item/N/api/json` reports the item waiting (`why`, first the quiet period, then
//!   "Waiting for next available executor") for a few polls, then its `executable` (or, when
//!   configured, `cancelled: true`);
//! - `GET /job/…/N/logText/progressiveText?start=S` serves the log from byte S as far as it has
//!   grown (one configured chunk more every `chunk_every`), with `X-Text-Size` and
//!   `X-More-Data: true` until the last chunk;
//! - `GET /job/…/N/api/json` reports `result: null, building: true` until the build is done
//!   (a moment after its log), then the configured result.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::net::TcpListener;

use crate::wire::{self, Request, Response, base64, form_decode, percent_decode};

pub const USER: &str = "alice";
pub const TOKEN: &str = "11a7c0ffee5e55ion70ken";
pub const WAITING: &str = "Waiting for next available executor";
pub const QUIET: &str = "In the quiet period. Expires in 0 ms";
pub const NO_CRUMB: &str = "No valid crumb was included in the request";

#[derive(Debug, Clone)]
pub struct Config {
    pub csrf: bool,
    /// Jobs by their full name ("folder/sub/job").
    pub jobs: Vec<String>,
    /// Polls of a queue item answered "waiting" before its build starts.
    pub queue_polls: u32,
    pub cancel_in_queue: bool,
    /// The build log, in the pieces it grows by (bytes: a piece may end inside a character).
    pub log: Vec<Vec<u8>>,
    pub chunk_every: Duration,
    /// How long after the whole log the result is still null.
    pub result_after: Duration,
    pub result: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            csrf: true,
            jobs: vec!["deploy".into()],
            queue_polls: 3,
            cancel_in_queue: false,
            log: vec![
                b"Started by user alice\n".to_vec(),
                b"Finished: SUCCESS\n".to_vec(),
            ],
            chunk_every: Duration::from_millis(400),
            result_after: Duration::from_millis(1200),
            result: "SUCCESS".into(),
        }
    }
}

/// A build triggered through the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub job: String,
    /// `buildWithParameters` or `build`.
    pub endpoint: String,
    pub params: Vec<(String, String)>,
}

/// A request the server answered.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u16,
    pub cookie: Option<String>,
    pub crumb: Option<String>,
}

struct Queued {
    job: String,
    polls: u32,
    build: Option<u64>,
}

#[derive(Default)]
struct State {
    sessions: HashMap<String, String>,
    queue: HashMap<u64, Queued>,
    builds: HashMap<(String, u64), Instant>,
    triggers: Vec<Trigger>,
    seen: Vec<Seen>,
    serial: u64,
}

struct Shared {
    config: Config,
    base: String,
    state: Mutex<State>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub struct Server {
    pub addr: SocketAddr,
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub async fn start(config: Config) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the test server");
        let addr = listener.local_addr().expect("its address");
        let url = format!("http://{addr}");
        let shared = Arc::new(Shared {
            config,
            base: url.clone(),
            state: Mutex::default(),
        });
        let serving = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let shared = serving.clone();
                tokio::spawn(async move {
                    if let Some(req) = wire::read_request(&mut stream).await {
                        let resp = shared.answer(&req);
                        wire::write_response(&mut stream, &resp).await;
                    }
                });
            }
        });
        Server {
            addr,
            url,
            shared,
            task,
        }
    }

    pub fn triggers(&self) -> Vec<Trigger> {
        self.shared.state().triggers.clone()
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.state().seen.clone()
    }
}

impl Shared {
    fn answer(&self, req: &Request) -> Response {
        let resp = self.route(req);
        self.state().seen.push(Seen {
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.query.clone(),
            status: resp.status,
            cookie: req.header("cookie").map(str::to_string),
            crumb: req.header("jenkins-crumb").map(str::to_string),
        });
        resp
    }

    fn route(&self, req: &Request) -> Response {
        let expected = format!("Basic {}", base64(&format!("{USER}:{TOKEN}")));
        if req.header("authorization") != Some(expected.as_str()) {
            return page(401, "Unauthorized").with("WWW-Authenticate", "Basic realm=\"Jenkins\"");
        }
        let path = req.path.as_str();
        match (req.method.as_str(), path) {
            ("GET", "/crumbIssuer/api/json") => self.crumb(),
            ("POST", _) => self.trigger(req),
            ("GET", _) if path.starts_with("/queue/item/") => self.queue_item(path),
            ("GET", _) if path.starts_with("/job/") => self.build_resource(req),
            _ => page(404, "Not Found"),
        }
    }

    fn crumb(&self) -> Response {
        if !self.config.csrf {
            return page(404, "Not Found");
        }
        let mut st = self.state();
        st.serial += 1;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let session = format!("node0{nanos:x}{}", st.serial);
        let crumb = format!("{:064x}", (st.serial * 0x9e37_79b9) ^ 0x5eed);
        st.sessions.insert(session.clone(), crumb.clone());
        Response::json(json!({
            "_class": "hudson.security.csrf.DefaultCrumbIssuer",
            "crumb": crumb,
            "crumbRequestField": "Jenkins-Crumb",
        }))
        .with(
            "Set-Cookie",
            format!("JSESSIONID.5e1f00d5={session}; Path=/; HttpOnly"),
        )
    }

    /// Whether a POST carries a crumb issued to the session its cookie names.
    fn crumb_valid(&self, req: &Request) -> bool {
        let (Some(crumb), Some(cookies)) = (req.header("jenkins-crumb"), req.header("cookie"))
        else {
            return false;
        };
        let st = self.state();
        cookies
            .split(';')
            .filter_map(|c| c.trim().split_once('='))
            .filter(|(name, _)| name.starts_with("JSESSIONID."))
            .any(|(_, session)| st.sessions.get(session).is_some_and(|c| c == crumb))
    }

    fn trigger(&self, req: &Request) -> Response {
        if self.config.csrf && !self.crumb_valid(req) {
            return page(403, NO_CRUMB);
        }
        let Some((job, endpoint)) = job_and_rest(&req.path) else {
            return page(404, "Not Found");
        };
        if !self.config.jobs.contains(&job)
            || !(endpoint == "buildWithParameters" || endpoint == "build")
        {
            return page(404, "Not Found");
        }
        let mut st = self.state();
        st.triggers.push(Trigger {
            job: job.clone(),
            endpoint,
            params: form_decode(&req.body),
        });
        st.serial += 1;
        let id = 100 + st.serial;
        st.queue.insert(
            id,
            Queued {
                job,
                polls: 0,
                build: None,
            },
        );
        Response::new(201, "").with("Location", format!("{}/queue/item/{id}/", self.base))
    }

    fn queue_item(&self, path: &str) -> Response {
        let id = path
            .trim_start_matches("/queue/item/")
            .trim_end_matches("/api/json")
            .parse::<u64>();
        let mut guard = self.state();
        let st = &mut *guard;
        let Some(item) = id.ok().and_then(|id| st.queue.get_mut(&id)) else {
            return page(404, "Not Found");
        };
        item.polls += 1;
        let (polls, job) = (item.polls, item.job.clone());
        if self.config.cancel_in_queue && polls > 1 {
            return Response::json(json!({
                "_class": "hudson.model.Queue$LeftItem", "cancelled": true, "executable": null, "why": null,
            }));
        }
        if polls <= self.config.queue_polls {
            let why = if polls == 1 { QUIET } else { WAITING };
            return Response::json(json!({
                "_class": "hudson.model.Queue$BuildableItem", "why": why, "blocked": false, "buildable": true,
            }));
        }
        let number = match item.build {
            Some(n) => n,
            None => {
                item.build = Some(12);
                st.builds.insert((job.clone(), 12), Instant::now());
                12
            }
        };
        Response::json(json!({
            "_class": "hudson.model.Queue$LeftItem",
            "cancelled": false,
            "executable": {"_class": "hudson.model.FreeStyleBuild", "number": number,
                           "url": format!("{}{}/{number}/", self.base, job_url(&job))},
            "why": null,
        }))
    }

    /// `…/N/logText/progressiveText` and `…/N/api/json`.
    fn build_resource(&self, req: &Request) -> Response {
        let Some((job, rest)) = job_and_rest(&req.path) else {
            return page(404, "Not Found");
        };
        let (number, what) = rest.split_once('/').unwrap_or((&rest, ""));
        let Ok(number) = number.parse::<u64>() else {
            return page(404, "Not Found");
        };
        let Some(started) = self.state().builds.get(&(job.clone(), number)).copied() else {
            return page(404, "Not Found");
        };
        let chunks = &self.config.log;
        let every = self.config.chunk_every;
        let elapsed = started.elapsed();
        let grown = (elapsed.as_millis() / every.as_millis().max(1)) as usize + 1;
        let available = grown.min(chunks.len());
        match what {
            "logText/progressiveText" => {
                let text: Vec<u8> = chunks[..available].concat();
                let start = req
                    .query
                    .split('&')
                    .find_map(|kv| kv.strip_prefix("start="))
                    .and_then(|s| s.parse::<usize>().ok())
                    .unwrap_or(0)
                    .min(text.len());
                let mut resp = Response::new(200, text[start..].to_vec())
                    .with("Content-Type", "text/plain;charset=UTF-8")
                    .with("X-Text-Size", text.len().to_string());
                if available < chunks.len() {
                    resp = resp.with("X-More-Data", "true");
                }
                resp
            }
            "api/json" => {
                let log_done = every * (chunks.len().saturating_sub(1) as u32);
                let done = elapsed >= log_done + self.config.result_after;
                let result = done.then(|| self.config.result.clone());
                Response::json(json!({
                    "_class": "hudson.model.FreeStyleBuild",
                    "number": number, "building": !done, "result": result,
                    "url": format!("{}{}/{number}/", self.base, job_url(&job)),
                }))
            }
            _ => page(404, "Not Found"),
        }
    }
}

/// `/job/a/job/b%20c/rest…` → ("a/b c", "rest…").
fn job_and_rest(path: &str) -> Option<(String, String)> {
    let mut names = Vec::new();
    let mut rest = path;
    while let Some(after) = rest.strip_prefix("/job/") {
        let (name, tail) = after.split_once('/').unwrap_or((after, ""));
        names.push(percent_decode(name, false));
        rest = if tail.is_empty() {
            ""
        } else {
            &after[name.len()..]
        };
    }
    if names.is_empty() {
        return None;
    }
    Some((names.join("/"), rest.trim_start_matches('/').to_string()))
}

fn job_url(job: &str) -> String {
    job.split('/')
        .map(|n| format!("/job/{}", n.replace(' ', "%20")))
        .collect()
}

/// An error page as Jenkins (Jetty) writes one.
fn page(status: u16, message: &str) -> Response {
    Response::new(
        status,
        format!(
            "<html>\n<head>\n<title>Error {status} {message}</title>\n</head>\n<body><h2>HTTP ERROR {status} {message}</h2>\n<p>URI: …</p></body>\n</html>\n"
        ),
    )
    .with("Content-Type", "text/html;charset=iso-8859-1")
}
