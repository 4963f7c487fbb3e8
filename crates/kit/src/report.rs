//! How a backend tells the run loop what it knows.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use tokio::sync::mpsc;

use clusterdeck_model::feed::{BackendMsg, Change, OpId, OpUpdate, Snapshot};
use clusterdeck_model::{Drift, SourceHealth, SourceKind, SourceState};

use crate::supervise::{Writer, next_op};

/// Operations handed to a backend and not yet given an outcome (so a crash can close them).
pub(crate) type OpenOps = Arc<Mutex<BTreeSet<OpId>>>;

/// One backend's voice: every message it sends names its context and source. Cloned for the
/// tasks that run its operations; health is reported by the task that owns the connection.
#[derive(Clone)]
pub struct Reporter {
    cluster: String,
    source: SourceKind,
    tx: mpsc::Sender<BackendMsg>,
    open: OpenOps,
    /// The health last sent, so only changes go out.
    last: Option<SourceHealth>,
    endpoint: Option<String>,
    tls_unverified: bool,
}

impl Reporter {
    pub(crate) fn new(
        cluster: String,
        source: SourceKind,
        tx: mpsc::Sender<BackendMsg>,
        open: OpenOps,
    ) -> Reporter {
        Reporter {
            cluster,
            source,
            tx,
            open,
            last: None,
            endpoint: None,
            tls_unverified: false,
        }
    }

    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    pub fn source(&self) -> SourceKind {
        self.source
    }

    /// The raw channel, for messages of a backend's own (log lines).
    pub fn sender(&self) -> mpsc::Sender<BackendMsg> {
        self.tx.clone()
    }

    /// Sends one message; false once the console has gone.
    pub async fn send(&self, m: BackendMsg) -> bool {
        self.tx.send(m).await.is_ok()
    }

    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Resolves when the console has gone.
    pub async fn closed(&self) {
        self.tx.closed().await
    }

    /// The endpoint shown beside the health from now on.
    pub fn set_endpoint(&mut self, endpoint: Option<String>) {
        self.endpoint = endpoint;
    }

    /// Whether the connection skips verifying the server's certificate (said in the header).
    pub fn set_tls_unverified(&mut self, unverified: bool) {
        self.tls_unverified = unverified;
    }

    /// The last health sent.
    pub fn last_health(&self) -> Option<&SourceHealth> {
        self.last.as_ref()
    }

    /// Reports the source's state, only when it differs from the last report; the moment the
    /// data went stale is kept while it stays stale.
    pub async fn health(&mut self, state: SourceState) -> bool {
        let mut h =
            SourceHealth::next(self.last.as_ref(), state, self.endpoint.clone(), Utc::now());
        h.tls_unverified = self.tls_unverified;
        if self.last.as_ref() == Some(&h) {
            return true;
        }
        self.last = Some(h.clone());
        self.send(BackendMsg::Health {
            cluster: self.cluster.clone(),
            source: self.source,
            health: h,
        })
        .await
    }

    /// Everything this source owns, replacing what the store had from it.
    pub async fn snapshot(&self, snapshot: Snapshot) -> bool {
        self.send(BackendMsg::Snapshot {
            cluster: self.cluster.clone(),
            source: self.source,
            at: Utc::now(),
            snapshot,
        })
        .await
    }

    /// What changed; an empty list still tells the store the data is fresh.
    pub async fn changes(&self, changes: Vec<Change>) -> bool {
        self.send(BackendMsg::Changes {
            cluster: self.cluster.clone(),
            source: self.source,
            at: Utc::now(),
            changes,
        })
        .await
    }

    pub async fn progress(
        &self,
        op_id: &OpId,
        progress: Option<(u32, u32)>,
        message: String,
    ) -> bool {
        self.send(OpUpdate::progress(op_id.clone(), progress, message))
            .await
    }

    /// The end of an operation: sent once.
    pub async fn outcome(&self, op_id: OpId, result: Result<String, String>) -> bool {
        self.close(&op_id);
        self.send(OpUpdate::outcome(op_id, result)).await
    }

    /// The end of an operation not sent because its target moved since the plan.
    pub async fn refused(&self, op_id: OpId, drift: Drift) -> bool {
        self.close(&op_id);
        self.send(OpUpdate::refused(op_id, drift)).await
    }

    /// The operation has its outcome: a crash of the backend no longer needs to give it one.
    fn close(&self, op_id: &OpId) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(op_id);
        }
    }

    /// For `how_long`, answers every operation released to this backend with "not sent: `why`"
    /// instead of letting it wait for an engine that is not there. False once the console has
    /// gone.
    pub async fn refuse_for(
        &self,
        ops: &mut Option<Writer>,
        how_long: Duration,
        why: &str,
    ) -> bool {
        let until = tokio::time::Instant::now() + how_long;
        loop {
            tokio::select! {
                _ = self.closed() => return false,
                _ = tokio::time::sleep_until(until) => return true,
                cmd = next_op(ops) => match cmd {
                    Some(cmd) => {
                        if !self.outcome(cmd.op_id, Err(format!("not sent: {why}"))).await {
                            return false;
                        }
                    }
                    None => *ops = None,
                }
            }
        }
    }
}
