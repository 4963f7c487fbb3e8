//! Actions the console runs outside the one-object gate (a stack deploy, a pipeline hook, an
//! interactive session) are audited the same way: the intent (who, the target, the
//! parameters, secrets already redacted by the caller) before anything is sent, the outcome
//! (ok or failed, what it said, what it left, how long) after. Read-only mode runs none.

use std::time::Duration;

use serde_json::Value;

use crate::audit::{AuditObject, AuditRecord};
use crate::gate::{Gate, stamped};

#[derive(Clone, Debug, PartialEq)]
pub struct Activity {
    pub context: String,
    /// "swarm", "kubernetes", "ec2", "hook".
    pub backend: String,
    /// "stack-deploy", "stack-rm", "hook", "ssh", "exec".
    pub verb: String,
    /// The object's kind and the engine's id ("stack" and its name, "hook" and its name).
    pub kind: String,
    pub id: String,
    /// The name the operator sees.
    pub name: String,
    /// The command line an operator could type for the same (no secrets in it).
    pub cli: String,
    pub params: Value,
}

impl Gate {
    /// Records the intent; returns the op id the outcome will carry.
    pub fn activity_start(&mut self, a: &Activity) -> Result<String, String> {
        let Gate::Live(g) = self else {
            return Err(format!("read-only mode: no {} is run", a.verb));
        };
        let op_id = g.next_op_id();
        let rec = record(a, stamped(&g.operator, &op_id, "intent"));
        g.append(rec).map(|_| op_id).map_err(|e| {
            format!(
                "audit log {} cannot be written: {e}",
                g.audit.path().display()
            )
        })
    }

    /// Records how it ended: `Ok(message)` or `Err(why)`, with what it left (`after`).
    pub fn activity_end(
        &mut self,
        a: &Activity,
        op_id: &str,
        ended: &Result<String, String>,
        took: Duration,
        after: Value,
    ) -> Result<(), String> {
        let Gate::Live(g) = self else {
            return Ok(());
        };
        let (result, message) = match ended {
            Ok(m) => ("ok", m.clone()),
            Err(e) => ("failed", e.clone()),
        };
        let mut rec = AuditRecord {
            result: Some(result.into()),
            message: Some(message),
            duration_ms: Some(took.as_millis() as u64),
            ..record(a, stamped(&g.operator, op_id, "outcome"))
        };
        if !after.is_null() {
            rec.params = serde_json::json!({ "after": after });
        }
        g.append(rec).map(|_| ()).map_err(|e| {
            format!(
                "audit log {} cannot be written: {e}",
                g.audit.path().display()
            )
        })
    }
}

fn record(a: &Activity, base: AuditRecord) -> AuditRecord {
    AuditRecord {
        context: a.context.clone(),
        backend: a.backend.clone(),
        verb: a.verb.clone(),
        target: a.name.clone(),
        object: Some(AuditObject {
            kind: a.kind.clone(),
            id: a.id.clone(),
        }),
        params: a.params.clone(),
        cli: a.cli.clone(),
        ..base
    }
}
