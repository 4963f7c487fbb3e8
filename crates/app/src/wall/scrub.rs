//! Secrets never reach the wall. A room full of people (and cameras) reads it, so free text that
//! comes from the cluster (event messages, task errors, source errors) is redacted the way the
//! audit log redacts it, endpoint credentials are dropped, and labels (which often carry
//! tokens) are not kept at all. Done once, before the store, so no pane can show them.

use crate::backends::{BackendMsg, Change};
use crate::model::{Node, Replica, SourceHealth, SourceState};
use crate::ops::audit::redact::redact_text;

pub fn scrub(msg: BackendMsg) -> BackendMsg {
    match msg {
        BackendMsg::Snapshot {
            cluster,
            source,
            at,
            mut snapshot,
        } => {
            for n in snapshot.nodes.iter_mut().flatten() {
                node(n);
            }
            for r in snapshot.replicas.iter_mut().flatten() {
                replica(r);
            }
            BackendMsg::Snapshot {
                cluster,
                source,
                at,
                snapshot,
            }
        }
        BackendMsg::Changes {
            cluster,
            source,
            at,
            mut changes,
        } => {
            for c in &mut changes {
                match c {
                    Change::UpsertNode(n) => node(n),
                    Change::UpsertReplica(r) => replica(r),
                    Change::Event(e) => e.message = redact_text(&e.message),
                    _ => {}
                }
            }
            BackendMsg::Changes {
                cluster,
                source,
                at,
                changes,
            }
        }
        BackendMsg::Health {
            cluster,
            source,
            mut health,
        } => {
            self::health(&mut health);
            BackendMsg::Health {
                cluster,
                source,
                health,
            }
        }
        // Nothing else has a place on the wall (logs, operation progress, registry tags).
        other => other,
    }
}

fn node(n: &mut Node) {
    n.labels.clear();
}

fn replica(r: &mut Replica) {
    if let Some(e) = r.error.as_mut() {
        *e = redact_text(e);
    }
}

fn health(h: &mut SourceHealth) {
    if let Some(e) = h.endpoint.as_mut() {
        *e = without_userinfo(e);
    }
    match &mut h.state {
        SourceState::Degraded { reason }
        | SourceState::Unreachable { reason }
        | SourceState::Failed { reason } => {
            *reason = without_userinfo(&redact_text(reason));
        }
        _ => {}
    }
}

/// `tcp://user:secret@host:2376` → `tcp://host:2376`, wherever a URL appears in the text.
fn without_userinfo(s: &str) -> String {
    s.split(' ')
        .map(|word| match word.split_once("://") {
            Some((scheme, rest)) => {
                let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
                match authority.rsplit_once('@') {
                    Some((_, host)) => format!("{scheme}://{host}{path}"),
                    None => word.to_string(),
                }
            }
            None => word.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Event, NodeRole, Origin, Severity, SourceKind};
    use chrono::Utc;

    #[test]
    fn endpoint_credentials_and_secret_values_are_dropped() {
        assert_eq!(
            without_userinfo("tcp://ops:hunter2@10.0.0.1:2376/v1"),
            "tcp://10.0.0.1:2376/v1"
        );
        assert_eq!(
            without_userinfo("cannot reach ssh://ops@mgr1: refused"),
            "cannot reach ssh://mgr1: refused"
        );
        let mut h = SourceHealth::new(SourceState::Unreachable {
            reason: "tcp://a:b@h:1 said DB_PASSWORD=s3cret".into(),
        });
        h.endpoint = Some("tcp://a:b@h:1".into());
        let BackendMsg::Health { health, .. } = scrub(BackendMsg::Health {
            cluster: "c".into(),
            source: SourceKind::Swarm,
            health: h,
        }) else {
            panic!("health stays health");
        };
        assert_eq!(health.endpoint.as_deref(), Some("tcp://h:1"));
        let reason = health.reason().unwrap_or_default().to_string();
        assert!(
            !reason.contains("s3cret") && !reason.contains("a:b"),
            "{reason}"
        );
    }

    #[test]
    fn events_labels_and_task_errors_are_scrubbed() {
        let mut n = Node::sample(NodeRole::Worker);
        n.labels.insert("vault_token".into(), "hvs.abc".into());
        let e = Event {
            at: Utc::now(),
            source: SourceKind::Swarm,
            origin: Origin::External,
            severity: Severity::Info,
            object: "service".into(),
            target: "web".into(),
            message: "updated with API_TOKEN=xyz".into(),
        };
        let BackendMsg::Changes { changes, .. } = scrub(BackendMsg::Changes {
            cluster: "c".into(),
            source: SourceKind::Swarm,
            at: Utc::now(),
            changes: vec![Change::UpsertNode(n), Change::Event(e)],
        }) else {
            panic!("changes stay changes");
        };
        match (&changes[0], &changes[1]) {
            (Change::UpsertNode(n), Change::Event(e)) => {
                assert!(n.labels.is_empty());
                assert!(!e.message.contains("xyz"), "{}", e.message);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
