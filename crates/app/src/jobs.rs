//! Jobs the console runs in the background for the operator (a stack's plan, its deploy or
//! removal, a pipeline hook), their output in the log view (bounded, searchable, saved with
//! `s`) and their audit: intent before anything is sent, outcome with what they left.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc;

use crate::logs::LogView;
use crate::model::Severity;
use crate::model::feed::BackendMsg;
use crate::ops::Activity;
use crate::state::{App, Modal};

/// What the console knows of its jobs.
#[derive(Clone, Debug, Default)]
pub struct Jobs {
    next: u64,
    /// The job whose output the log view shows.
    pub shown: Option<u64>,
    /// A stack plan waiting for `:stack apply NAME`, filled in by the planning job.
    pub planned: Arc<Mutex<Option<crate::stacks::Planned>>>,
    /// The output of the last job whose view was closed, still filling: `:output` shows it.
    pub last: Option<(u64, LogView)>,
    /// Jobs audited at their start, waiting for their end: job → (activity, op id, start).
    pub audited: Vec<(u64, Activity, String, Instant)>,
}

/// Sends a job's output to the run loop.
#[derive(Clone)]
pub struct Out {
    pub job: u64,
    tx: mpsc::Sender<BackendMsg>,
}

impl Out {
    pub async fn line(&self, l: impl Into<String>) {
        self.lines(vec![l.into()]).await;
    }
    pub async fn lines(&self, lines: Vec<String>) {
        let _ = self
            .tx
            .send(BackendMsg::Output {
                job: self.job,
                lines,
                ended: None,
                after: Value::Null,
            })
            .await;
    }
    /// The last message: `Ok(summary)` or `Err(why)`; the job's audit outcome is written
    /// from it, with `after` (what the job left), when the run loop applies it.
    pub async fn end(&self, r: Result<String, String>, after: Value) {
        let _ = self
            .tx
            .send(BackendMsg::Output {
                job: self.job,
                lines: Vec::new(),
                ended: Some(r),
                after,
            })
            .await;
    }
}

impl App {
    /// Opens the log view on a new job's output; None when there is no runtime to run it.
    pub(crate) fn start_job(&mut self, title: String) -> Option<Out> {
        let tx = self.self_tx.clone()?;
        self.jobs.last = None;
        self.jobs.next += 1;
        let job = self.jobs.next;
        self.logs = LogView {
            title,
            ..LogView::default()
        };
        self.ui.modal = Some(Modal::Logs);
        self.jobs.shown = Some(job);
        Some(Out { job, tx })
    }

    /// Audits a job's intent; the outcome is written when it ends.
    pub(crate) fn audit_job(&mut self, out: &Out, a: Activity) -> Result<(), String> {
        let op_id = self.gate.activity_start(&a)?;
        self.jobs.audited.push((out.job, a, op_id, Instant::now()));
        Ok(())
    }

    /// A job's output; its end writes the audit outcome.
    pub(crate) fn on_output(
        &mut self,
        job: u64,
        lines: Vec<String>,
        ended: Option<Result<String, String>>,
        after: Value,
    ) -> bool {
        let said = ended.as_ref().map(|r| match r {
            Ok(s) => format!("done: {s}"),
            Err(e) if e.starts_with("failed") => e.clone(),
            Err(e) => format!("failed: {e}"),
        });
        if let Some(r) = &ended
            && let Some(i) = self.jobs.audited.iter().position(|(j, ..)| *j == job)
        {
            let (_, a, op_id, start) = self.jobs.audited.remove(i);
            let took: Duration = start.elapsed();
            if let Err(e) = self.gate.activity_end(&a, &op_id, r, took, after) {
                self.status(e, Severity::Critical);
            }
        }
        if let Some(s) = &said {
            let sev = if matches!(ended, Some(Ok(_))) {
                Severity::Info
            } else {
                Severity::Warn
            };
            self.status(s.clone(), sev);
        }
        let view = if self.jobs.shown == Some(job) && matches!(self.ui.modal, Some(Modal::Logs)) {
            &mut self.logs
        } else if let Some((_, v)) = self.jobs.last.as_mut().filter(|(j, _)| *j == job) {
            v
        } else {
            return said.is_some();
        };
        view.push(lines);
        if let Some(s) = said {
            view.ended = Some(s);
        }
        true
    }

    /// `:output`: the last job's output again, as far as it has come.
    pub(crate) fn reopen_output(&mut self) -> Result<(), String> {
        let (job, view) = self
            .jobs
            .last
            .take()
            .ok_or("no job's output to show (stack deploys and hooks have one)")?;
        self.logs = view;
        self.jobs.shown = Some(job);
        self.ui.modal = Some(Modal::Logs);
        Ok(())
    }
}
