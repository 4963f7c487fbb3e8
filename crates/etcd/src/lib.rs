//! The etcd quorum view: every few seconds, each member's Status (concurrently, each with its
//! own timeout, so one dead member never delays the others), the member list and the alarms,
//! through the v3 JSON gateway. Read-only by design: clusterdeck changes etcd through the
//! orchestrator that owns it, never directly.
//!
//! Members are polled at the configured endpoints and at every client URL the member list
//! names, so one endpoint is enough to see the whole cluster (as `etcdctl --cluster` does).

mod convert;
mod describe;
mod http;

use std::time::Duration;

use futures_util::future::join_all;
use tokio::sync::mpsc;

pub use describe::spawn_reader;
pub use http::EtcdTls;

use clusterdeck_kit::{BackendMsg, Change, Reporter, Snapshot};
use clusterdeck_model::{EtcdMember, Quorum, QuorumVerdict, SourceKind, SourceState};
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
    let cluster = settings.cluster.clone();
    clusterdeck_kit::spawn(&cluster, SourceKind::Etcd, false, tx, move |rep, _| {
        run(settings.clone(), rep)
    });
}

async fn run(s: EtcdSettings, mut rep: Reporter) {
    rep.set_endpoint(Some(s.endpoints.join(", ")));
    let mut poller = Poller {
        listed: Vec::new(),
        loaded: false,
    };
    if !rep.health(SourceState::Connecting).await {
        return;
    }
    let http = match http::Http::new(&s.tls, s.timeout) {
        Ok(h) => h,
        Err(e) => {
            let _ = rep.health(SourceState::NotConfigured { hint: e }).await;
            return;
        }
    };
    loop {
        if !poller.poll(&s, &http, &mut rep).await {
            return;
        }
        tokio::select! {
            _ = rep.closed() => return,
            _ = tokio::time::sleep(s.poll) => {}
        }
    }
}

struct Poller {
    /// The last member list any member gave: kept when none can give it now (no quorum on 3.5+).
    listed: Vec<Listed>,
    loaded: bool,
}

impl Poller {
    /// One round; false once the console has gone.
    async fn poll(&mut self, s: &EtcdSettings, http: &http::Http, rep: &mut Reporter) -> bool {
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
        if !self.publish(rep, members).await {
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
        } else if matches!(q.verdict, QuorumVerdict::Lost | QuorumVerdict::Unknown) {
            SourceState::Degraded {
                reason: q.etcd_summary(),
            }
        } else {
            SourceState::Connected
        };
        rep.health(state).await
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

    async fn publish(&mut self, rep: &Reporter, members: Vec<EtcdMember>) -> bool {
        if !self.loaded {
            self.loaded = true;
            return rep
                .snapshot(Snapshot {
                    etcd: Some(members),
                    ..Snapshot::default()
                })
                .await;
        }
        // Latency changes every round; the store compares and redraws only on change.
        rep.changes(vec![Change::Etcd(members)]).await
    }
}
