//! Interactive sessions the console opens for the operator (ssh to a node or instance, a shell
//! in a task or pod), audited like actions: the intent (who, the target, the command) before
//! the session starts, the outcome (exit status, how long) after it ends. What is typed and
//! printed in the session is never recorded. Read-only mode offers none.

use std::time::Duration;

use crate::activity::Activity;
use crate::gate::Gate;

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

impl From<&Session> for Activity {
    fn from(s: &Session) -> Activity {
        Activity {
            context: s.context.clone(),
            backend: s.backend.clone(),
            verb: s.verb.clone(),
            kind: s.kind.clone(),
            id: s.id.clone(),
            name: s.name.clone(),
            cli: s.cli.clone(),
            params: serde_json::json!({ "program": s.argv.first() }),
        }
    }
}

impl Gate {
    /// Records the intent; returns the op id the outcome will carry.
    pub fn session_start(&mut self, s: &Session) -> Result<String, String> {
        if !matches!(self, Gate::Live(_)) {
            return Err("read-only mode: no sessions are opened".into());
        }
        self.activity_start(&s.into())
    }

    /// Records how the session ended: its exit status (or why it could not run) and duration.
    pub fn session_end(
        &mut self,
        s: &Session,
        op_id: &str,
        ended: &Result<i32, String>,
        took: Duration,
    ) -> Result<(), String> {
        let ended = match ended {
            Ok(0) => Ok("exit 0".to_string()),
            Ok(code) => Err(format!("exit {code}")),
            Err(e) => Err(e.clone()),
        };
        let a: Activity = s.into();
        self.activity_end(&a, op_id, &ended, took, serde_json::Value::Null)
    }
}
