//! Jenkins hooks through Jenkins' documented remote API: a crumb for the web session, the
//! build triggered with its parameters, the queue item followed until the build starts, the
//! console followed to its end, and the build's result.
//!
//! The queue item and the build are fetched under the configured URL (the id and number
//! Jenkins answered with), not under the absolute URLs Jenkins puts in its answers: those come
//! from Jenkins' own root URL setting, which behind a proxy is often wrong.

pub(crate) mod api;
mod session;

use std::path::PathBuf;
use std::time::Duration;

use hyper::{Method, StatusCode, header};
use hyper_util::client::legacy::connect::Connect;

use crate::Timing;
use crate::event::Outcome;
use crate::lines::LineSplitter;
use crate::running::{Cancelled, Emitter, Stopped};
use api::{Build, Crumb, QueueItem, job_path, queue_id, strip_notes};
use session::Session;

/// How often the build's result is asked for after its log ended, before giving up.
const RESULT_POLLS: u32 = 30;

/// A Jenkins run with its parameters resolved.
#[derive(Debug)]
pub(crate) struct Prepared {
    base: String,
    job: String,
    job_path: String,
    user: Option<String>,
    token_file: Option<PathBuf>,
    form: Vec<(String, String)>,
}

pub(crate) fn prepare(
    url: &str,
    job: &str,
    user: Option<&str>,
    token_file: Option<PathBuf>,
    form: Vec<(String, String)>,
) -> Result<Prepared, String> {
    Ok(Prepared {
        base: api::base_url(url)?,
        job: job.to_string(),
        job_path: job_path(job)?,
        user: user.map(str::to_string),
        token_file,
        form,
    })
}

/// Why following stopped early.
enum Halt {
    Failed(String),
    Stopped,
}

impl From<String> for Halt {
    fn from(why: String) -> Halt {
        Halt::Failed(why)
    }
}

impl From<Stopped> for Halt {
    fn from(_: Stopped) -> Halt {
        Halt::Stopped
    }
}

/// Triggers and follows the build, then sends the outcome. A cancel stops following; the
/// build itself goes on in Jenkins.
pub(crate) async fn run(run: Prepared, timing: Timing, mut emit: Emitter, mut cancel: Cancelled) {
    let token = match read_token(&run) {
        Ok(token) => token,
        Err(why) => return emit.done(Outcome::Failed(why)).await,
    };
    if let Some(token) = &token {
        emit.redact_also(token);
    }
    let outcome = tokio::select! {
        r = follow(&run, token.as_deref(), &timing, &emit) => match r {
            Ok(outcome) => outcome,
            Err(Halt::Failed(why)) => Outcome::Failed(why),
            Err(Halt::Stopped) => Outcome::Cancelled,
        },
        _ = cancel.wait() => Outcome::Cancelled,
    };
    emit.done(outcome).await;
}

fn read_token(run: &Prepared) -> Result<Option<String>, String> {
    let Some(path) = &run.token_file else {
        return Ok(None);
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("token_file {}: {e}", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!("token_file {} is empty", path.display()));
    }
    Ok(Some(token.to_string()))
}

async fn follow(
    run: &Prepared,
    token: Option<&str>,
    timing: &Timing,
    emit: &Emitter,
) -> Result<Outcome, Halt> {
    let config = clusterdeck_kit::tls::client_config(None, None, None)?;
    let connector = clusterdeck_kit::tls::https_connector(config, timing.request_timeout, false);
    let credentials = run.user.as_deref().map(|u| (u, token.unwrap_or_default()));
    let mut s = Session::new(connector, &run.base, credentials, timing.request_timeout);
    take_crumb(&mut s, run).await?;
    let id = trigger(&mut s, run, emit).await?;
    let number = wait_for_start(&mut s, run, id, timing.poll_every, emit).await?;
    let build_url = format!("{}{}/{number}/", run.base, run.job_path);
    follow_console(&mut s, &build_url, timing.poll_every, emit).await?;
    let result = wait_for_result(&mut s, &build_url, number, timing.poll_every).await?;
    Ok(Outcome::Build { number, result })
}

/// Step 1: the crumb for this session (none when Jenkins has CSRF protection off: 404).
async fn take_crumb<C>(s: &mut Session<C>, run: &Prepared) -> Result<(), Halt>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let what = "crumbIssuer";
    let url = format!("{}/crumbIssuer/api/json", run.base);
    let resp = s.send(Method::GET, &url, what, None).await?;
    let status = resp.status();
    let body = s.body(resp, what).await?;
    match status {
        StatusCode::OK => {
            let crumb: Crumb = serde_json::from_slice(&body).map_err(|e| {
                format!("{what}: Jenkins answered JSON this console does not read: {e}")
            })?;
            s.set_crumb(&crumb.field, crumb.crumb)?;
            Ok(())
        }
        StatusCode::NOT_FOUND => Ok(()),
        _ => Err(s.status_error(what, status, &body).into()),
    }
}

/// Step 2: the build triggered; the queue item's number.
async fn trigger<C>(s: &mut Session<C>, run: &Prepared, emit: &Emitter) -> Result<u64, Halt>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    // A job without parameters refuses buildWithParameters.
    let what = if run.form.is_empty() {
        "build"
    } else {
        "buildWithParameters"
    };
    let url = format!("{}{}/{what}", run.base, run.job_path);
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&run.form)
        .finish();
    emit.stage(format!("triggering {} at {}", run.job, run.base))
        .await?;
    let resp = s.send(Method::POST, &url, what, Some(form)).await?;
    let status = resp.status();
    let location = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .map(str::to_string);
    let body = s.body(resp, what).await?;
    if status != StatusCode::CREATED {
        return Err(s.status_error(what, status, &body).into());
    }
    let id = location.as_deref().and_then(queue_id).ok_or_else(|| {
        format!(
            "{what}: Jenkins answered 201 without a queue item in Location ({})",
            location.as_deref().unwrap_or("none")
        )
    })?;
    emit.stage(format!("queued as item {id}")).await?;
    Ok(id)
}

/// Step 3: the queue item polled until it became a build; the build's number.
async fn wait_for_start<C>(
    s: &mut Session<C>,
    run: &Prepared,
    id: u64,
    every: Duration,
    emit: &Emitter,
) -> Result<u64, Halt>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let url = format!("{}/queue/item/{id}/api/json", run.base);
    let mut told: Option<String> = None;
    loop {
        let item: QueueItem = s.get_json(&url, "the queue item").await?;
        if item.cancelled {
            return Err(Halt::Failed("cancelled in the queue".into()));
        }
        if let Some(exe) = item.executable {
            let shown = exe
                .url
                .unwrap_or_else(|| format!("{}{}/{}/", run.base, run.job_path, exe.number));
            emit.stage(format!("build #{} started: {shown}", exe.number))
                .await?;
            return Ok(exe.number);
        }
        if item.why.is_some() && item.why != told {
            let why = item.why.clone().unwrap_or_default();
            emit.stage(format!("queued: {why}")).await?;
            told = item.why;
        }
        tokio::time::sleep(every).await;
    }
}

/// Step 4: the console log, from where the last piece ended, while Jenkins says there is more.
async fn follow_console<C>(
    s: &mut Session<C>,
    build_url: &str,
    every: Duration,
    emit: &Emitter,
) -> Result<(), Halt>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let what = "the console log";
    let mut start: u64 = 0;
    let mut splitter = LineSplitter::default();
    loop {
        let url = format!("{build_url}logText/progressiveText?start={start}");
        let resp = s.send(Method::GET, &url, what, None).await?;
        let status = resp.status();
        if status != StatusCode::OK {
            let body = s.body(resp, what).await?;
            return Err(s.status_error(what, status, &body).into());
        }
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let more = header("X-More-Data").is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let size = header("X-Text-Size").and_then(|v| v.trim().parse::<u64>().ok());
        let mut body = resp.into_body();
        let mut read = 0u64;
        while let Some(chunk) = s.next_chunk(&mut body, what).await? {
            read += chunk.len() as u64;
            let mut lines = Vec::new();
            splitter.push(&chunk, &mut lines);
            emit.lines(lines.into_iter().map(strip_notes).collect())
                .await?;
        }
        // X-Text-Size is where the next piece starts; without it, after what was read.
        start = size.unwrap_or(start + read);
        if !more {
            break;
        }
        tokio::time::sleep(every).await;
    }
    if let Some(last) = splitter.finish() {
        emit.line(strip_notes(last)).await?;
    }
    Ok(())
}

/// Step 5: the build's result (null for a moment after the log ended).
async fn wait_for_result<C>(
    s: &mut Session<C>,
    build_url: &str,
    number: u64,
    every: Duration,
) -> Result<String, Halt>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let url = format!("{build_url}api/json?tree=number,result,building");
    let mut building = false;
    for _ in 0..RESULT_POLLS {
        let build: Build = s.get_json(&url, "the build").await?;
        if let Some(result) = build.result {
            return Ok(result);
        }
        building = build.building;
        tokio::time::sleep(every).await;
    }
    let state = if building {
        "still building"
    } else {
        "not building"
    };
    Err(Halt::Failed(format!(
        "build #{number}: its log ended but Jenkins reported no result after {RESULT_POLLS} polls ({state})"
    )))
}
