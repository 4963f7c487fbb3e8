//! Operations from the app's side: planning one (the gate's check, then the confirm modal),
//! confirming it (the gate releases it after the audit intent), following it while in flight,
//! recording its outcome, and what happens to them when the console quits.

use std::time::Instant;

use crate::backends::{Change, OpUpdate};
use crate::model::{Origin, Severity, Time};
use crate::ops::OpRequest;
use crate::ops::audit::AuditRecord;
use crate::state::{AUDIT_IN_MEMORY, App, Modal};

/// Events this long after an operation settled are still attributed to it.
const ATTRIBUTION_SECS: i64 = 10;
/// Finished operations listed on the overview.
const FINISHED_KEPT: usize = 8;

#[derive(Clone, Debug, PartialEq)]
pub struct InflightOp {
    pub request: OpRequest,
    pub started: Instant,
    pub started_at: Time,
    pub progress: Option<(u32, u32)>,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FinishedOp {
    pub request: OpRequest,
    pub at: Time,
    pub result: Result<String, String>,
}

impl App {
    /// Read-only check and plan; on success the confirm modal holds the pending op.
    pub fn begin_op(&mut self, req: OpRequest) -> Result<(), String> {
        let in_flight = self.in_flight_list();
        let cluster = self.store.cluster(req.cluster());
        match self.gate.check(req, cluster, &in_flight) {
            Ok(pending) => {
                self.ui.input = None;
                // Typing goes to the reason unless the plan wants the target typed.
                let on_reason = pending.plan().confirm_text.is_none();
                self.ui.modal = Some(Modal::Confirm {
                    pending,
                    typed: String::new(),
                    reason: String::new(),
                    on_reason,
                    on_confirm: false,
                    error: None,
                });
                Ok(())
            }
            Err(reason) => {
                // Refusals of a prompt stay in the prompt; others pop up.
                if self.ui.input.is_none() {
                    self.refuse(reason.clone());
                }
                Err(reason)
            }
        }
    }

    pub(crate) fn refuse(&mut self, reason: String) {
        self.ui.modal = Some(Modal::Message {
            title: "Refused".into(),
            body: reason,
            severity: Severity::Critical,
        });
    }

    fn in_flight_list(&self) -> Vec<(OpRequest, String)> {
        self.inflight
            .values()
            .map(|o| (o.request.clone(), self.settings.operator.clone()))
            .collect()
    }

    /// Enter in the confirm modal: Cancel (the default) closes it; Confirm checks the typed
    /// name and has the gate release the operation.
    pub(crate) fn confirm_pressed(&mut self) {
        let Some(modal) = self.ui.modal.take() else {
            return;
        };
        match modal {
            Modal::Confirm {
                pending,
                typed,
                reason,
                on_reason,
                on_confirm,
                ..
            } => {
                if !on_confirm {
                    self.status("cancelled", Severity::Info);
                    return;
                }
                let production = self
                    .store
                    .cluster(pending.request().cluster())
                    .is_some_and(|c| c.production);
                let missing = reason.trim().is_empty() && self.reason_policy.requires(production);
                let checked = if missing {
                    Err(Box::new((
                        pending,
                        "a reason or ticket reference is required here (config: actions.reason)"
                            .to_string(),
                    )))
                } else {
                    pending.with_reason(&reason).confirm(&typed)
                };
                match checked {
                    Err(refused) => {
                        let (pending, msg) = *refused;
                        self.ui.modal = Some(Modal::Confirm {
                            pending,
                            typed,
                            on_reason: missing || on_reason,
                            reason,
                            on_confirm,
                            error: Some(msg),
                        });
                    }
                    Ok(confirmed) => match self.release(confirmed) {
                        Ok(rel) => {
                            let msg =
                                format!("{} {} started", rel.request.verb(), rel.request.target());
                            self.push_audit(rel.intent);
                            self.inflight.insert(
                                rel.op_id,
                                InflightOp {
                                    request: rel.request,
                                    started: Instant::now(),
                                    started_at: chrono::Utc::now(),
                                    progress: None,
                                    message: String::new(),
                                },
                            );
                            self.status(msg, Severity::Info);
                        }
                        Err(reason) => self.refuse(reason),
                    },
                }
            }
            Modal::QuitConfirm { on_quit } => {
                if on_quit {
                    self.should_quit = true;
                }
            }
            other => self.ui.modal = Some(other),
        }
    }

    /// The gate plans again on the state shown now (it may have moved while the modal was
    /// open) and releases the operation, or refuses it.
    fn release(
        &mut self,
        confirmed: crate::ops::ConfirmedOp,
    ) -> Result<crate::ops::Released, String> {
        let in_flight = self.in_flight_list();
        let cluster = self.store.cluster(confirmed.request().cluster());
        let r = self.gate.release(confirmed, cluster, &in_flight);
        if r.is_err()
            && let Some(log) = self.gate.audit_log()
            && let Ok(tail) = log.read_tail(2)
        {
            // The intent and its refusal were written: show them in the audit pane too.
            for rec in tail {
                self.push_audit(rec);
            }
        }
        r
    }

    /// Progress or the outcome of an operation in flight.
    pub(crate) fn on_op_update(&mut self, u: OpUpdate) -> bool {
        let Some(op) = self.inflight.get_mut(&u.op_id) else {
            return false;
        };
        let Some(result) = u.outcome else {
            let changed = op.progress != u.progress || op.message != u.message;
            op.progress = u.progress;
            op.message = u.message;
            return changed;
        };
        let Some(op) = self.inflight.remove(&u.op_id) else {
            return false;
        };
        let elapsed = op.started.elapsed();
        match self
            .gate
            .outcome(&u.op_id, &op.request, &result, u.drift.as_ref(), elapsed)
        {
            Ok(rec) => self.push_audit(rec),
            Err(e) => self.status(e, Severity::Critical),
        }
        let (verb, target) = (op.request.verb(), op.request.target());
        let (msg, sev) = match &result {
            Ok(m) => (format!("✓ {verb} {target}: {m}"), Severity::Info),
            Err(m) if u.drift.is_some() => (
                format!("✗ {verb} {target} refused: {m}"),
                Severity::Critical,
            ),
            Err(m) => (format!("✗ {verb} {target} failed: {m}"), Severity::Critical),
        };
        self.status(msg, sev);
        self.finished.push_front(FinishedOp {
            request: op.request,
            at: chrono::Utc::now(),
            result,
        });
        self.finished.truncate(FINISHED_KEPT);
        true
    }

    pub(crate) fn push_audit(&mut self, rec: AuditRecord) {
        if let Some(tl) = self.timeline.as_mut()
            && rec.phase != "note"
        {
            tl.record(crate::timeline::Entry {
                at: chrono::DateTime::parse_from_rfc3339(&rec.time)
                    .map_or_else(|_| chrono::Utc::now(), |t| t.with_timezone(&chrono::Utc)),
                context: rec.context.clone(),
                what: crate::timeline::What::Action,
                who: Some(rec.user.clone()),
                incident: None,
                object: rec.target.clone(),
                text: action_line(&rec),
            });
        }
        self.audit.push(rec);
        if self.audit.len() > AUDIT_IN_MEMORY {
            self.audit.remove(0);
        }
    }

    /// Engine events about a target this console is changing (or just changed) are this
    /// console's; everything else stays external, so the timeline shows who did what.
    pub(crate) fn attribute_events(&self, cluster: &str, changes: &mut [Change]) {
        let recent = chrono::Utc::now() - chrono::Duration::seconds(ATTRIBUTION_SECS);
        let ours = |target: &str| {
            self.inflight
                .values()
                .map(|o| &o.request)
                .chain(
                    self.finished
                        .iter()
                        .filter(|f| f.at >= recent)
                        .map(|f| &f.request),
                )
                .any(|r| r.cluster() == cluster && r.target() == target)
        };
        for c in changes.iter_mut() {
            if let Change::Event(e) = c
                && e.origin == Origin::External
                && ours(&e.target)
            {
                e.origin = Origin::Console;
            }
        }
    }

    /// Called once when the console exits (`why`: quit, SIGHUP, SIGTERM…): operations still
    /// in flight get an `abandoned` outcome now rather than at the next start.
    pub fn shutdown(&mut self, why: &str) {
        let ops = std::mem::take(&mut self.inflight);
        for (id, op) in ops {
            let _ = self
                .gate
                .abandon(&id, &op.request, op.started.elapsed(), why, &op.message);
        }
    }

    pub(crate) fn request_quit(&mut self, force: bool) {
        if force || self.inflight.is_empty() {
            self.should_quit = true;
        } else {
            self.ui.modal = Some(Modal::QuitConfirm { on_quit: false });
        }
    }
}

/// An audit record as a timeline line: "intent scale 5 (reason: INC-42)", "outcome ok: …".
fn action_line(rec: &AuditRecord) -> String {
    let mut s = format!("{} {}", rec.phase, rec.cli);
    if let Some(r) = rec.params.get("reason").and_then(|r| r.as_str()) {
        s.push_str(&format!(" (reason: {r})"));
    }
    if let Some(res) = &rec.result {
        s.push_str(&format!(": {res}"));
    }
    if let Some(m) = &rec.message {
        s.push_str(&format!(" {m}"));
    }
    s
}
