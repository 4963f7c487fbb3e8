//! The one gate every mutation passes. A `PendingOp` can only be made by `Gate::check`, a
//! `ConfirmedOp` only by confirming a `PendingOp`, and only a `ConfirmedOp` reaches the
//! executor, after its intent is durably in the audit log. In read-only mode no executor exists.

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use tokio::sync::mpsc::error::TrySendError;

use crate::app::store::ClusterState;
use crate::backends::{BackendHandle, OpCommand};

use super::audit::{AuditLog, AuditRecord, Operator};
use super::{OpId, OpRequest, Plan, Risk, plan};

/// A planned operation waiting for confirmation (held by the confirm modal).
#[derive(Clone, Debug, PartialEq)]
pub struct PendingOp {
    request: OpRequest,
    plan: Plan,
}

impl PendingOp {
    pub fn request(&self) -> &OpRequest {
        &self.request
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Confirms with what the operator typed (ignored for normal risk).
    pub fn confirm(self, typed: &str) -> Result<ConfirmedOp, Box<(PendingOp, String)>> {
        match (&self.plan.risk, &self.plan.confirm_text) {
            (Risk::High, Some(expected)) if typed.trim() != expected => {
                let msg = format!("type {expected} to confirm");
                Err(Box::new((self, msg)))
            }
            _ => Ok(ConfirmedOp {
                request: self.request,
                plan: self.plan,
            }),
        }
    }
}

/// An operation the operator confirmed; only the gate can release it.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfirmedOp {
    request: OpRequest,
    plan: Plan,
}

/// What `release` hands back: the id to follow progress by and the intent record.
#[derive(Clone, Debug, PartialEq)]
pub struct Released {
    pub op_id: OpId,
    pub request: OpRequest,
    pub intent: AuditRecord,
}

/// Routes released operations to the backend task that owns the target.
#[derive(Clone, Debug, Default)]
pub struct Executor {
    handles: Vec<BackendHandle>,
}

impl Executor {
    pub fn new(handles: Vec<BackendHandle>) -> Executor {
        Executor { handles }
    }

    fn send(&self, cmd: OpCommand) -> Result<(), String> {
        let req = &cmd.request;
        let handle = self
            .handles
            .iter()
            .find(|h| h.cluster == req.cluster() && h.source == req.backend())
            .ok_or_else(|| {
                format!(
                    "no {} backend running for context {}",
                    req.backend().label(),
                    req.cluster()
                )
            })?;
        // Never block the UI: a full queue is a refusal, not a wait.
        handle.ops.try_send(cmd).map_err(|e| match e {
            TrySendError::Full(_) => "backend is busy; try again".to_string(),
            TrySendError::Closed(_) => "backend has stopped".to_string(),
        })
    }
}

pub struct LiveGate {
    audit: AuditLog,
    executor: Executor,
    operator: Operator,
    seq: u64,
}

pub enum Gate {
    /// Refuses every mutation before any backend sees it; there is no executor to leak to.
    ReadOnly,
    Live(LiveGate),
}

impl Gate {
    pub fn read_only() -> Gate {
        Gate::ReadOnly
    }

    pub fn live(audit: AuditLog, executor: Executor, operator: Operator) -> Gate {
        Gate::Live(LiveGate {
            audit,
            executor,
            operator,
            seq: 0,
        })
    }

    pub fn is_read_only(&self) -> bool {
        matches!(self, Gate::ReadOnly)
    }

    /// Read-only check, then plan. `Err` is the refusal shown to the operator.
    pub fn check(
        &self,
        request: OpRequest,
        cluster: Option<&ClusterState>,
        in_flight: &[(OpRequest, String)],
    ) -> Result<PendingOp, String> {
        if self.is_read_only() {
            return Err(format!(
                "read-only mode: {} {} refused; nothing was sent",
                request.verb(),
                request.target()
            ));
        }
        let cluster = cluster.ok_or_else(|| format!("unknown context {}", request.cluster()))?;
        let plan = plan(&request, cluster, in_flight)?;
        Ok(PendingOp { request, plan })
    }

    /// Writes the intent (synced) and hands the operation to its backend. If the intent
    /// cannot be written, nothing runs.
    pub fn release(&mut self, op: ConfirmedOp) -> Result<Released, String> {
        let Gate::Live(g) = self else {
            return Err("read-only mode: refused".into());
        };
        g.seq += 1;
        let op_id = format!(
            "{}-{}-{}",
            Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
            std::process::id(),
            g.seq
        );
        let intent = record(&g.operator, &op_id, "intent", &op.request, None, None, None);
        let intent = g.audit.append(intent).map_err(|e| {
            format!(
                "refused: audit log {} cannot be written: {e}",
                g.audit.path().display()
            )
        })?;
        let cmd = OpCommand {
            op_id: op_id.clone(),
            request: op.request.clone(),
        };
        if let Err(e) = g.executor.send(cmd) {
            // The intent is on record; so must be its failure.
            let _ = g.audit.append(record(
                &g.operator,
                &op_id,
                "outcome",
                &op.request,
                Some("error"),
                Some(e.clone()),
                Some(0),
            ));
            return Err(e);
        }
        Ok(Released {
            op_id,
            request: op.request,
            intent,
        })
    }

    /// Records the outcome of a released operation.
    pub fn outcome(
        &mut self,
        op_id: &str,
        request: &OpRequest,
        result: &Result<String, String>,
        duration: Duration,
    ) -> Result<AuditRecord, String> {
        let Gate::Live(g) = self else {
            return Err("read-only mode has no operations".into());
        };
        let (res, msg) = match result {
            Ok(m) => ("ok", m.clone()),
            Err(m) => ("error", m.clone()),
        };
        g.audit
            .append(record(
                &g.operator,
                op_id,
                "outcome",
                request,
                Some(res),
                Some(msg),
                Some(duration.as_millis() as u64),
            ))
            .map_err(|e| format!("audit outcome not written: {e}"))
    }

    pub fn audit_log(&self) -> Option<&AuditLog> {
        match self {
            Gate::Live(g) => Some(&g.audit),
            Gate::ReadOnly => None,
        }
    }
}

fn record(
    op: &Operator,
    op_id: &str,
    phase: &str,
    req: &OpRequest,
    result: Option<&str>,
    message: Option<String>,
    duration_ms: Option<u64>,
) -> AuditRecord {
    AuditRecord {
        v: 1,
        time: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        op_id: op_id.to_string(),
        phase: phase.to_string(),
        user: op.user.clone(),
        ssh_client: op.ssh_client.clone(),
        tty: op.tty.clone(),
        host: op.host.clone(),
        context: req.cluster().to_string(),
        backend: req.backend().label().to_string(),
        verb: req.verb().to_string(),
        target: req.target().to_string(),
        params: req.params(),
        cli: req.cli(),
        result: result.map(str::to_string),
        message,
        duration_ms,
        prev_sha256: String::new(),
    }
}
