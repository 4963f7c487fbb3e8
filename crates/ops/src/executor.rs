//! Where released operations go: the queue of the backend task that owns the target. The gate
//! is the only caller; a backend gets its end of the queue from the backend kit.

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use crate::OpRequest;
use crate::model::{Facts, OpId, SourceKind};

/// An operation released by the gate (after the audit intent was written) to the backend that
/// owns its target.
#[derive(Clone, Debug, PartialEq)]
pub struct OpCommand {
    pub op_id: OpId,
    pub request: OpRequest,
    /// What the confirmed plan showed of the target: the backend compares it with the engine
    /// right before it writes, and refuses if it moved.
    pub expect: Facts,
}

/// The handle the executor uses to reach a running backend.
#[derive(Clone, Debug)]
pub struct BackendHandle {
    pub cluster: String,
    pub source: SourceKind,
    pub ops: mpsc::Sender<OpCommand>,
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

    pub(crate) fn send(&self, cmd: OpCommand) -> Result<(), String> {
        let req = &cmd.request;
        let source = req
            .source()
            .ok_or_else(|| format!("{} is not resolved to an object", req.target()))?;
        let handle = self
            .handles
            .iter()
            .find(|h| h.cluster == req.cluster() && h.source == source)
            .ok_or_else(|| {
                format!(
                    "no {} backend running for context {}",
                    source.label(),
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
