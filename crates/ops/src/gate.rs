//! The one gate every mutation passes. A `PendingOp` can only be made by `Gate::check`, a
//! `ConfirmedOp` only by confirming a `PendingOp`, and only a `ConfirmedOp` reaches the
//! executor, after its intent is durably in the audit log. In read-only mode no executor exists.

use std::time::Duration;

use crate::executor::{Executor, OpCommand};
use crate::model::{ClusterState, Drift, Facts};
use chrono::{SecondsFormat, Utc};

use super::audit::redact::{redact_text, redact_value};
use super::audit::ship::Shipper;
use super::audit::{AuditLog, AuditObject, AuditRecord, Operator};
use super::{OpId, OpRequest, Plan, Risk, plan};

/// A planned operation waiting for confirmation (held by the confirm modal).
#[derive(Clone, Debug, PartialEq)]
pub struct PendingOp {
    request: OpRequest,
    plan: Plan,
    /// What the plan showed of the target, compared again at release and by the backend.
    expect: Facts,
    /// Why, or the ticket it answers (recorded in the intent).
    reason: Option<String>,
}

impl PendingOp {
    /// The operator's reason or ticket reference; blank is none.
    pub fn with_reason(mut self, reason: &str) -> PendingOp {
        let r = reason.trim();
        self.reason = (!r.is_empty()).then(|| r.to_string());
        self
    }

    pub fn request(&self) -> &OpRequest {
        &self.request
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn expect(&self) -> &Facts {
        &self.expect
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
                expect: self.expect,
                reason: self.reason,
            }),
        }
    }
}

/// An operation the operator confirmed; only the gate can release it.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfirmedOp {
    request: OpRequest,
    plan: Plan,
    expect: Facts,
    reason: Option<String>,
}

impl ConfirmedOp {
    pub fn request(&self) -> &OpRequest {
        &self.request
    }
}

/// What `release` hands back: the id to follow progress by and the intent record.
#[derive(Clone, Debug, PartialEq)]
pub struct Released {
    pub op_id: OpId,
    pub request: OpRequest,
    pub intent: AuditRecord,
}

pub struct LiveGate {
    pub(crate) audit: AuditLog,
    executor: Executor,
    pub(crate) operator: Operator,
    seq: u64,
    shipper: Option<Shipper>,
}

impl LiveGate {
    /// Appends durably, then wakes the syslog shipper (which never blocks this path).
    /// `<time>-<pid>-<n>`: unique on the host, ordered within this console.
    pub(crate) fn next_op_id(&mut self) -> String {
        self.seq += 1;
        format!(
            "{}-{}-{}",
            Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
            std::process::id(),
            self.seq
        )
    }

    pub(crate) fn append(&self, rec: AuditRecord) -> std::io::Result<AuditRecord> {
        let r = self.audit.append(rec)?;
        if let Some(s) = &self.shipper {
            s.notify();
        }
        Ok(r)
    }
}

pub enum Gate {
    /// Refuses every mutation before any backend sees it; there is no executor to leak to.
    ReadOnly,
    Live(Box<LiveGate>),
}

impl Gate {
    pub fn read_only() -> Gate {
        Gate::ReadOnly
    }

    pub fn live(audit: AuditLog, executor: Executor, operator: Operator) -> Gate {
        Gate::Live(Box::new(LiveGate {
            audit,
            executor,
            operator,
            seq: 0,
            shipper: None,
        }))
    }

    /// Forwards every record to syslog as well.
    pub fn with_shipper(mut self, shipper: Shipper) -> Gate {
        if let Gate::Live(g) = &mut self {
            g.shipper = Some(shipper);
        }
        self
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
        if cluster.read_only {
            return Err(format!(
                "context {} is read-only (config): {} {} refused; nothing was sent",
                cluster.name,
                request.verb(),
                request.target()
            ));
        }
        let request = request.resolve(cluster)?;
        let plan = plan(&request, cluster, in_flight)?;
        let expect = facts(&request, cluster);
        Ok(PendingOp {
            request,
            plan,
            expect,
            reason: None,
        })
    }

    /// Writes the intent (synced) and hands the operation to its backend. If the intent
    /// cannot be written, nothing runs. The plan is made again on the state shown now: a
    /// refusal that holds now (stale data, the quorum guard) or a target that moved since the
    /// modal opened ends the operation `refused` before anything is sent.
    pub fn release(
        &mut self,
        op: ConfirmedOp,
        cluster: Option<&ClusterState>,
        in_flight: &[(OpRequest, String)],
    ) -> Result<Released, String> {
        let Gate::Live(g) = self else {
            return Err("read-only mode: refused".into());
        };
        let again = still_holds(&op, cluster, in_flight);
        let op_id = g.next_op_id();
        let mut intent = record(&g.operator, &op_id, "intent", &op.request, None, None, None);
        if let serde_json::Value::Object(m) = &mut intent.params {
            if !op.plan.before.is_null() {
                m.insert("before".into(), redact_value(&op.plan.before));
            }
            if !op.expect.is_empty() {
                m.insert("expected".into(), facts_json(&op.expect));
            }
            if let Some(r) = &op.reason {
                m.insert("reason".into(), redact_text(r).into());
            }
        }
        let intent = g.append(intent).map_err(|e| {
            format!(
                "refused: audit log {} cannot be written: {e}",
                g.audit.path().display()
            )
        })?;
        if let Err(why) = again {
            let mut rec = record(
                &g.operator,
                &op_id,
                "outcome",
                &op.request,
                Some("refused"),
                Some(why.clone()),
                Some(0),
            );
            if let (Some(c), serde_json::Value::Object(m)) = (cluster, &mut rec.params) {
                m.insert("expected".into(), facts_json(&op.expect));
                m.insert("found".into(), facts_json(&facts(&op.request, c)));
            }
            let _ = g.append(rec);
            return Err(why);
        }
        let cmd = OpCommand {
            op_id: op_id.clone(),
            request: op.request.clone(),
            expect: op.expect.clone(),
        };
        if let Err(e) = g.executor.send(cmd) {
            // The intent is on record; so must be its failure.
            let _ = g.append(record(
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

    /// Outcomes for operations whose console died (or quit) before their result was known:
    /// intents on this host without an outcome whose process is gone. Run at start.
    pub fn recover_abandoned(&mut self) -> Vec<AuditRecord> {
        let Gate::Live(g) = self else {
            return Vec::new();
        };
        let Ok(tail) = g.audit.read_tail(RECOVERY_WINDOW) else {
            return Vec::new();
        };
        let mut open: Vec<&AuditRecord> = tail.iter().filter(|r| r.phase == "intent").collect();
        open.retain(|i| {
            !tail
                .iter()
                .any(|o| o.phase == "outcome" && o.op_id == i.op_id)
        });
        let mut written = Vec::new();
        for intent in open {
            let pid = op_pid(&intent.op_id);
            if intent.host != g.operator.host || pid.is_none_or(process_alive) {
                continue;
            }
            let mut rec = intent.clone();
            rec.phase = "outcome".into();
            rec.time = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
            rec.result = Some("abandoned".into());
            rec.message = Some(format!(
                "the console (pid {}) exited before the outcome was known; check the cluster",
                pid.unwrap_or(0)
            ));
            rec.duration_ms = chrono::DateTime::parse_from_rfc3339(&intent.time)
                .ok()
                .map(|t| {
                    (Utc::now() - t.with_timezone(&Utc))
                        .num_milliseconds()
                        .max(0) as u64
                });
            let op_id = rec.op_id.clone();
            let done = |r: &AuditRecord| r.phase == "outcome" && r.op_id == op_id;
            if let Ok(Some(r)) = g.audit.append_unless(rec, done) {
                written.push(r);
            }
        }
        written
    }

    /// Records that the console ended (`why`: quit, SIGHUP, SIGTERM) with this operation
    /// still in flight, and how far it had got (`progress`, its last progress message). A quit
    /// was the operator's choice (`abandoned`); a signal is the session dropping (`unknown`).
    pub fn abandon(
        &mut self,
        op_id: &str,
        request: &OpRequest,
        duration: Duration,
        why: &str,
        progress: &str,
    ) -> Result<AuditRecord, String> {
        let Gate::Live(g) = self else {
            return Err("read-only mode has no operations".into());
        };
        let at = if progress.is_empty() {
            "before its first progress report".to_string()
        } else {
            progress.to_string()
        };
        let (result, message) = if why == "quit" {
            (
                "abandoned",
                format!(
                    "the console quit while the action was in flight ({at}); its result is unknown"
                ),
            )
        } else {
            ("unknown", format!("console ended ({why}) while {at}"))
        };
        let rec = record(
            &g.operator,
            op_id,
            "outcome",
            request,
            Some(result),
            Some(message),
            Some(duration.as_millis() as u64),
        );
        g.append(rec)
            .map_err(|e| format!("audit outcome not written: {e}"))
    }

    /// Records the outcome of a released operation; `drift` when the backend refused it
    /// because its target moved since the plan (the result is then `refused`, with what was
    /// expected and what was found).
    pub fn outcome(
        &mut self,
        op_id: &str,
        request: &OpRequest,
        result: &Result<String, String>,
        drift: Option<&Drift>,
        duration: Duration,
    ) -> Result<AuditRecord, String> {
        let Gate::Live(g) = self else {
            return Err("read-only mode has no operations".into());
        };
        let (res, msg) = match (result, drift) {
            (Ok(m), _) => ("ok", m.clone()),
            (Err(m), Some(_)) => ("refused", m.clone()),
            (Err(m), None) => ("error", m.clone()),
        };
        let mut rec = record(
            &g.operator,
            op_id,
            "outcome",
            request,
            Some(res),
            Some(msg),
            Some(duration.as_millis() as u64),
        );
        if let (Some(d), serde_json::Value::Object(m)) = (drift, &mut rec.params) {
            let side = |found: bool| {
                let pairs = d.moved.iter().map(|mv| {
                    let v = if found { &mv.found } else { &mv.expected };
                    (mv.field.clone(), serde_json::Value::String(v.clone()))
                });
                redact_value(&serde_json::Value::Object(pairs.collect()))
            };
            m.insert("expected".into(), side(false));
            m.insert("found".into(), side(true));
        }
        g.append(rec)
            .map_err(|e| format!("audit outcome not written: {e}"))
    }

    /// Whether records are forwarded to syslog.
    /// An acknowledgement or note on an incident, in the audit log like every action (phase
    /// `note`: nothing was sent to a cluster). Returns the record as written.
    pub fn annotate(
        &mut self,
        context: &str,
        verb: &str,
        incident: &str,
        text: &str,
    ) -> Result<AuditRecord, String> {
        let Gate::Live(g) = self else {
            return Err("read-only mode: nothing is recorded".into());
        };
        let op_id = g.next_op_id();
        let rec = AuditRecord {
            context: context.to_string(),
            backend: "console".into(),
            verb: verb.to_string(),
            target: incident.to_string(),
            object: Some(AuditObject {
                kind: "incident".into(),
                id: incident.to_string(),
            }),
            params: serde_json::json!({ "text": redact_text(text) }),
            cli: format!("{verb} {incident}"),
            result: Some("ok".into()),
            ..stamped(&g.operator, &op_id, "note")
        };
        g.append(rec).map_err(|e| {
            format!(
                "audit log {} cannot be written: {e}",
                g.audit.path().display()
            )
        })
    }

    pub fn ships(&self) -> bool {
        matches!(self, Gate::Live(g) if g.shipper.is_some())
    }

    pub fn audit_log(&self) -> Option<&AuditLog> {
        match self {
            Gate::Live(g) => Some(&g.audit),
            Gate::ReadOnly => None,
        }
    }
}

/// The confirmed plan, made again on the state shown now: a refusal that holds now (stale
/// data, the quorum guard) or a target that moved since the modal opened.
fn still_holds(
    op: &ConfirmedOp,
    cluster: Option<&ClusterState>,
    in_flight: &[(OpRequest, String)],
) -> Result<(), String> {
    let c = cluster.ok_or_else(|| format!("context {} is gone", op.request.cluster()))?;
    plan(&op.request, c, in_flight)
        .map_err(|e| format!("{e} (checked again at confirmation); nothing done"))?;
    match op
        .expect
        .drift(&op.request.target.name, &facts(&op.request, c))
    {
        Some(d) => Err(d.message()),
        None => Ok(()),
    }
}

/// What the state shown says of the request's target, in the fields a plan shows.
pub fn facts(req: &OpRequest, cluster: &ClusterState) -> Facts {
    use crate::Op;
    let id = req.target.id();
    match &req.op {
        Op::AddNodes { .. } => Facts::default(),
        Op::Instance { .. } => {
            let mut f = cluster
                .instances
                .get(id)
                .map(Facts::of_instance)
                .unwrap_or_default();
            // A manager's machine: the quorum verdict rests on the other managers' machines.
            let runs_manager = cluster
                .instances
                .get(id)
                .and_then(|i| i.node_id.as_deref())
                .and_then(|n| cluster.nodes.get(n))
                .is_some_and(|n| n.is_manager());
            if runs_manager {
                for m in cluster.nodes.values().filter(|m| m.is_manager()) {
                    if let Some(i) = m
                        .instance_id
                        .as_deref()
                        .and_then(|i| cluster.instances.get(i))
                        && i.id != id
                    {
                        f = f.with(
                            &format!("{} (manager {})", i.id, m.hostname),
                            i.state.label(),
                        );
                    }
                }
            }
            f
        }
        Op::SetAvailability { .. } | Op::SetRole { .. } => cluster
            .nodes
            .get(id)
            .map(Facts::of_node)
            .unwrap_or_default(),
        _ => cluster
            .workloads
            .get(id)
            .map(Facts::of_workload)
            .unwrap_or_default(),
    }
}

fn facts_json(f: &Facts) -> serde_json::Value {
    let m =
        f.0.iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())));
    redact_value(&serde_json::Value::Object(m.collect()))
}

/// Audit records scanned at start for intents without outcomes.
const RECOVERY_WINDOW: usize = 5000;

/// The pid embedded in an op id `<time>-<pid>-<seq>`.
fn op_pid(op_id: &str) -> Option<i32> {
    let mut parts = op_id.rsplitn(3, '-');
    let _seq = parts.next()?;
    parts.next()?.parse().ok()
}

fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
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
        context: req.cluster().to_string(),
        backend: req.source().map_or("?", |s| s.label()).to_string(),
        verb: req.verb().to_string(),
        target: req.target(),
        object: req.target.object.as_ref().map(|o| AuditObject {
            kind: o.kind.label().to_string(),
            id: o.id.clone(),
        }),
        params: redact_value(&req.params()),
        cli: redact_text(&req.cli()),
        result: result.map(str::to_string),
        message: message.map(|m| redact_text(&m)),
        duration_ms,
        ..stamped(op, op_id, phase)
    }
}

/// Who, where, when and which operation: what every record of this console starts with.
pub(crate) fn stamped(op: &Operator, op_id: &str, phase: &str) -> AuditRecord {
    AuditRecord {
        v: 1,
        time: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        op_id: op_id.to_string(),
        phase: phase.to_string(),
        user: op.user.clone(),
        uid: op.uid,
        claimed_user: op.claimed.clone(),
        ssh_client: op.ssh_client.clone(),
        tty: op.tty.clone(),
        host: op.host.clone(),
        ..AuditRecord::default()
    }
}
