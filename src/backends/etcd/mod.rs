//! The etcd quorum view: every few seconds, each member's Status (concurrently, each with its
//! own timeout, so one dead member never delays the others), the member list and the alarms,
//! through the v3 JSON gateway. Read-only by design: clusterdeck changes etcd through the
//! orchestrator that owns it, never directly.
//!
//! Members are polled at the configured endpoints and at every client URL the member list
//! names, so one endpoint is enough to see the whole cluster (as `etcdctl --cluster` does).

mod convert;
mod http;

use std::time::Duration;

use chrono::Utc;
use futures_util::future::join_all;
use tokio::sync::mpsc;

pub use http::EtcdTls;

use super::{BackendMsg, Change, Snapshot};
use crate::model::{EtcdMember, Quorum, QuorumVerdict, SourceHealth, SourceKind, SourceState};
use convert::{Listed, Round, StatusAnswer};

#[derive(Clone, Debug)]
pub struct EtcdSettings {
    pub cluster: String,
    pub endpoints: Vec<String>,
    pub tls: EtcdTls,
    pub poll: Duration,
    /// Per call; a member slower than this counts as unreachable.
    pub timeout: Duration,
}

impl EtcdSettings {
    pub fn new(cluster: String, endpoints: Vec<String>, tls: EtcdTls) -> EtcdSettings {
        EtcdSettings {
            cluster,
            endpoints,
            tls,
            poll: Duration::from_secs(2),
            timeout: Duration::from_secs(2),
        }
    }
}

/// Starts the poller. There is no write side: etcd is only watched.
pub fn spawn(settings: EtcdSettings, tx: mpsc::Sender<BackendMsg>) {
    tokio::spawn(run(settings, tx));
}

async fn run(s: EtcdSettings, tx: mpsc::Sender<BackendMsg>) {
    let mut poller = Poller {
        health: None,
        listed: Vec::new(),
        loaded: false,
    };
    if !poller.set_health(&s, &tx, SourceState::Connecting).await {
        return;
    }
    let http = match http::Http::new(&s.tls, s.timeout) {
        Ok(h) => h,
        Err(e) => {
            let _ = poller
                .set_health(&s, &tx, SourceState::NotConfigured { hint: e })
                .await;
            return;
        }
    };
    loop {
        if !poller.poll(&s, &http, &tx).await {
            return;
        }
        tokio::select! {
            _ = tx.closed() => return,
            _ = tokio::time::sleep(s.poll) => {}
        }
    }
}

struct Poller {
    health: Option<SourceHealth>,
    /// The last member list any member gave: kept when none can give it now (no quorum on 3.5+).
    listed: Vec<Listed>,
    loaded: bool,
}

impl Poller {
    /// One round; false once the console has gone.
    async fn poll(
        &mut self,
        s: &EtcdSettings,
        http: &http::Http,
        tx: &mpsc::Sender<BackendMsg>,
    ) -> bool {
        let endpoints = self.endpoints(s);
        let answers: Vec<(String, Result<StatusAnswer, String>)> =
            join_all(endpoints.iter().map(|ep| async move {
                let r = http
                    .post(ep, "/v3/maintenance/status", "{}")
                    .await
                    .and_then(|(v, took)| {
                        convert::status(&v, took).ok_or_else(|| "not an etcd status answer".into())
                    });
                (ep.clone(), r)
            }))
            .await;
        // The list and alarms from any member that answered, the leader first.
        let mut order: Vec<&String> = answers
            .iter()
            .filter(|(_, a)| a.is_ok())
            .map(|(ep, _)| ep)
            .collect();
        order.sort_by_key(|ep| {
            !answers.iter().any(|(e, a)| {
                e == *ep
                    && a.as_ref()
                        .is_ok_and(|a| a.status.leader_id.as_deref() == Some(&a.member_id))
            })
        });
        let mut alarms = Vec::new();
        for ep in order {
            if let Ok((v, _)) = http.post(ep, "/v3/cluster/member/list", "{}").await {
                let listed = convert::members(&v);
                if !listed.is_empty() {
                    self.listed = listed;
                }
                if let Ok((v, _)) = http
                    .post(ep, "/v3/maintenance/alarm", r#"{"action":"GET"}"#)
                    .await
                {
                    alarms = convert::alarms(&v);
                }
                break;
            }
        }
        let members = convert::assemble(&Round {
            listed: &self.listed,
            answers: &answers,
            alarms: &alarms,
        });
        let q = Quorum::from_etcd(&members);
        if !self.publish(s, tx, members).await {
            return false;
        }
        let answered = answers.iter().filter(|(_, a)| a.is_ok()).count();
        let state = if answered == 0 {
            let reasons: Vec<String> = answers
                .iter()
                .filter_map(|(ep, a)| a.as_ref().err().map(|e| format!("{ep}: {e}")))
                .collect();
            SourceState::Unreachable {
                reason: reasons.join("; "),
            }
        } else {
            if q.verdict == QuorumVerdict::Lost {
                SourceState::Degraded {
                    reason: q.etcd_summary(),
                }
            } else {
                SourceState::Connected
            }
        };
        self.set_health(s, tx, state).await
    }

    /// The configured endpoints, then the client URL of every listed member not among them.
    fn endpoints(&self, s: &EtcdSettings) -> Vec<String> {
        let mut eps: Vec<String> = s
            .endpoints
            .iter()
            .map(|e| e.trim_end_matches('/').to_string())
            .collect();
        for l in &self.listed {
            let known = l
                .client_urls
                .iter()
                .any(|u| eps.iter().any(|e| convert::same_url(u, e)));
            if !known && let Some(u) = l.client_urls.first() {
                eps.push(u.trim_end_matches('/').to_string());
            }
        }
        eps
    }

    async fn publish(
        &mut self,
        s: &EtcdSettings,
        tx: &mpsc::Sender<BackendMsg>,
        members: Vec<EtcdMember>,
    ) -> bool {
        let at = Utc::now();
        let msg = if !self.loaded {
            self.loaded = true;
            BackendMsg::Snapshot {
                cluster: s.cluster.clone(),
                source: SourceKind::Etcd,
                at,
                snapshot: Snapshot {
                    etcd: Some(members),
                    ..Snapshot::default()
                },
            }
        } else {
            // Latency changes every round; the store compares and redraws only on change.
            BackendMsg::Changes {
                cluster: s.cluster.clone(),
                source: SourceKind::Etcd,
                at,
                changes: vec![Change::Etcd(members)],
            }
        };
        tx.send(msg).await.is_ok()
    }

    async fn set_health(
        &mut self,
        s: &EtcdSettings,
        tx: &mpsc::Sender<BackendMsg>,
        state: SourceState,
    ) -> bool {
        let h = SourceHealth::next(
            self.health.as_ref(),
            state,
            Some(s.endpoints.join(", ")),
            Utc::now(),
        );
        if self.health.as_ref() == Some(&h) {
            return true;
        }
        self.health = Some(h.clone());
        tx.send(BackendMsg::Health {
            cluster: s.cluster.clone(),
            source: SourceKind::Etcd,
            health: h,
        })
        .await
        .is_ok()
    }
}
