//! Reading one object as the engine reports it (for the describe view): a handle the UI sends
//! (kind, id) to, separate from the write side so read-only mode has it too. Each read runs in
//! a task of its own and answers with `BackendMsg::Described`.

use std::future::Future;

use tokio::sync::mpsc;

use clusterdeck_model::feed::BackendMsg;
use clusterdeck_model::{ObjectKind, SourceKind};

#[derive(Clone, Debug)]
pub struct ReadHandle {
    pub cluster: String,
    pub source: SourceKind,
    pub tx: mpsc::Sender<(ObjectKind, String)>,
}

impl ReadHandle {
    /// `read` returns the object's JSON text, or why it could not be read.
    pub fn spawn<F, Fut>(
        cluster: String,
        source: SourceKind,
        out: mpsc::Sender<BackendMsg>,
        read: F,
    ) -> ReadHandle
    where
        F: Fn(ObjectKind, String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, String>> + Send + 'static,
    {
        let (tx, mut rx) = mpsc::channel::<(ObjectKind, String)>(8);
        let c = cluster.clone();
        tokio::spawn(async move {
            while let Some((kind, id)) = rx.recv().await {
                let fut = read(kind, id.clone());
                let out = out.clone();
                let cluster = c.clone();
                tokio::spawn(async move {
                    let json = fut.await;
                    let _ = out
                        .send(BackendMsg::Described {
                            cluster,
                            kind,
                            id,
                            json,
                        })
                        .await;
                });
            }
        });
        ReadHandle {
            cluster,
            source,
            tx,
        }
    }
}
