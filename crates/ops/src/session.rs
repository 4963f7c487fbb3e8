//! Interactive sessions the console opens for the operator (ssh to a node or instance, a shell
//! in a task or pod), audited like actions: the intent (who, the target, the command) before
//! the session starts, the outcome (exit status, how long) after it ends. What is typed and
//! printed in the session is never recorded. Read-only mode offers none.

use std::time::Duration;

use crate::audit::{AuditObject, AuditRecord};
use crate::gate::{Gate, stamped};

/// What a session is opened on and with what.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub context: String,
    /// "swarm", "kubernetes", "ec2".
    pub backend: String,
    /// "ssh" or "exec".
    pub verb: String,
    /// The object's kind and the engine's id ("node", "task", "pod", "instance").
    pub kind: String,
    pub id: String,
    /// The name the operator sees.
    pub name: String,
    /// The command line run, as the operator could type it (no secrets in it).
    pub cli: String,
    /// The program and its arguments.
    pub argv: Vec<String>,
}

impl Gate {
    /// Records the intent; returns the op id the outcome will carry.
    pub fn session_start(&mut self, s: &Session) -> Result<String, String> {
        let Gate::Live(g) = self else {
            return Err("read-only mode: no sessions are opened".into());
        };
        let op_id = g.next_op_id();
        let rec = AuditRecord {
            cli: s.cli.clone(),
            ..record(s, stamped(&g.operator, &op_id, "intent"))
        };
        g.append(rec).map(|_| op_id).map_err(|e| {
            format!(
                "audit log {} cannot be written: {e}",
                g.audit.path().display()
            )
        })
    }

    /// Records how the session ended: its exit status (or why it could not run) and duration.
    pub fn session_end(
        &mut self,
        s: &Session,
        op_id: &str,
        ended: &Result<i32, String>,
        took: Duration,
    ) -> Result<(), String> {
        let Gate::Live(g) = self else {
            return Ok(());
        };
        let (result, message) = match ended {
            Ok(0) => ("ok", "exit 0".to_string()),
            Ok(code) => ("failed", format!("exit {code}")),
            Err(e) => ("failed", e.clone()),
        };
        let rec = AuditRecord {
            cli: s.cli.clone(),
            result: Some(result.into()),
            message: Some(message),
            duration_ms: Some(took.as_millis() as u64),
            ..record(s, stamped(&g.operator, op_id, "outcome"))
        };
        g.append(rec).map(|_| ()).map_err(|e| {
            format!(
                "audit log {} cannot be written: {e}",
                g.audit.path().display()
            )
        })
    }
}

fn record(s: &Session, base: AuditRecord) -> AuditRecord {
    AuditRecord {
        context: s.context.clone(),
        backend: s.backend.clone(),
        verb: s.verb.clone(),
        target: s.name.clone(),
        object: Some(AuditObject {
            kind: s.kind.clone(),
            id: s.id.clone(),
        }),
        params: serde_json::json!({ "program": s.argv.first() }),
        ..base
    }
}
