//! The gateway's JSON into the model. The gateway writes 64-bit numbers as decimal strings and
//! mixes field styles (`raft_term` in headers, `raftTerm` in bodies), so both are accepted.

use std::collections::HashMap;

use serde_json::Value;

use clusterdeck_model::{EtcdMember, EtcdStatus};

/// One endpoint's status answer.
#[derive(Clone, Debug, PartialEq)]
pub struct StatusAnswer {
    pub member_id: String,
    pub status: EtcdStatus,
    /// What the member itself reports as wrong (etcd ≥ 3.4: "etcdserver: no leader", alarms).
    pub errors: Vec<String>,
}

/// A member as the member list names it.
#[derive(Clone, Debug, PartialEq)]
pub struct Listed {
    pub id: String,
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub learner: bool,
}

fn field<'a>(v: &'a Value, names: &[&str]) -> Option<&'a Value> {
    names.iter().find_map(|n| v.get(*n))
}

fn number(v: &Value, names: &[&str]) -> u64 {
    match field(v, names) {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        _ => 0,
    }
}

/// Member ids in hex, as etcdctl prints them; 0 means "none".
pub(crate) fn id(v: &Value, names: &[&str]) -> Option<String> {
    match number(v, names) {
        0 => None,
        n => Some(format!("{n:x}")),
    }
}

fn strings(v: &Value, names: &[&str]) -> Vec<String> {
    field(v, names)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

pub fn status(v: &Value, latency: std::time::Duration) -> Option<StatusAnswer> {
    let header = v.get("header")?;
    let member_id = id(header, &["member_id", "memberId"])?;
    Some(StatusAnswer {
        member_id,
        status: EtcdStatus {
            version: field(v, &["version"])
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            leader_id: id(v, &["leader"]),
            raft_term: number(v, &["raftTerm", "raft_term"]),
            raft_index: number(v, &["raftIndex", "raft_index"]),
            applied_index: number(v, &["raftAppliedIndex", "raft_applied_index"]),
            db_size: number(v, &["dbSize", "db_size"]),
            db_size_in_use: number(v, &["dbSizeInUse", "db_size_in_use"]),
            latency_ms: u32::try_from(latency.as_millis()).unwrap_or(u32::MAX),
        },
        errors: strings(v, &["errors"]),
    })
}

pub fn members(v: &Value) -> Vec<Listed> {
    let Some(list) = v.get("members").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|m| {
            Some(Listed {
                id: id(m, &["ID", "id"])?,
                name: field(m, &["name"])
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                peer_urls: strings(m, &["peerURLs", "peer_urls"]),
                client_urls: strings(m, &["clientURLs", "client_urls"]),
                learner: field(m, &["isLearner", "is_learner"])
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            })
        })
        .collect()
}

/// (member id, alarm) pairs; the gateway omits the list when there is none.
pub fn alarms(v: &Value) -> Vec<(String, String)> {
    let Some(list) = v.get("alarms").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|a| {
            let member = id(a, &["memberID", "member_id"])?;
            // proto3 JSON omits the zero value, NONE; NOSPACE and CORRUPT come as names.
            let alarm = match field(a, &["alarm"]) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => match n.as_u64() {
                    Some(1) => "NOSPACE".into(),
                    Some(2) => "CORRUPT".into(),
                    _ => return None,
                },
                _ => return None,
            };
            (alarm != "NONE").then_some((member, alarm))
        })
        .collect()
}

/// Everything known this round, joined per member.
pub struct Round<'a> {
    /// The member list (this round's, or the last one seen when no member could give it).
    pub listed: &'a [Listed],
    /// Per endpoint polled: its answer or why there was none.
    pub answers: &'a [(String, Result<StatusAnswer, String>)],
    pub alarms: &'a [(String, String)],
}

pub fn assemble(r: &Round) -> Vec<EtcdMember> {
    let by_member: HashMap<&str, &StatusAnswer> = r
        .answers
        .iter()
        .filter_map(|(_, a)| a.as_ref().ok())
        .map(|a| (a.member_id.as_str(), a))
        .collect();
    // The leader as the answering members see it; a member that sees none does not vote here.
    let leader = r
        .answers
        .iter()
        .filter_map(|(_, a)| a.as_ref().ok()?.status.leader_id.clone())
        .max_by_key(|id| {
            r.answers
                .iter()
                .filter(|(_, a)| {
                    a.as_ref()
                        .is_ok_and(|s| s.status.leader_id.as_ref() == Some(id))
                })
                .count()
        });
    let failure_of = |urls: &[String]| {
        r.answers.iter().find_map(|(ep, a)| match a {
            Err(e) if urls.iter().any(|u| same_url(u, ep)) => Some(e.clone()),
            _ => None,
        })
    };
    let mut out: Vec<EtcdMember> = r
        .listed
        .iter()
        .map(|l| {
            let answer = by_member.get(l.id.as_str()).copied();
            member(
                l.id.clone(),
                l.name.clone(),
                l,
                answer,
                failure_of(&l.client_urls),
                leader.as_deref(),
                r.alarms,
            )
        })
        .collect();
    // Endpoints that answered for a member the list does not have (or no list at all).
    for (ep, a) in r.answers {
        match a {
            Ok(a) if !r.listed.iter().any(|l| l.id == a.member_id) => {
                let l = Listed {
                    id: a.member_id.clone(),
                    name: ep.clone(),
                    peer_urls: Vec::new(),
                    client_urls: vec![ep.clone()],
                    learner: false,
                };
                out.push(member(
                    l.id.clone(),
                    ep.clone(),
                    &l,
                    Some(a),
                    None,
                    leader.as_deref(),
                    r.alarms,
                ));
            }
            Err(e)
                if !r
                    .listed
                    .iter()
                    .any(|l| l.client_urls.iter().any(|u| same_url(u, ep))) =>
            {
                let l = Listed {
                    id: String::new(),
                    name: ep.clone(),
                    peer_urls: Vec::new(),
                    client_urls: vec![ep.clone()],
                    learner: false,
                };
                out.push(member(
                    String::new(),
                    ep.clone(),
                    &l,
                    None,
                    Some(e.clone()),
                    leader.as_deref(),
                    r.alarms,
                ));
            }
            _ => {}
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn member(
    id: String,
    name: String,
    l: &Listed,
    answer: Option<&StatusAnswer>,
    failure: Option<String>,
    leader: Option<&str>,
    alarms: &[(String, String)],
) -> EtcdMember {
    let mine: Vec<String> = alarms
        .iter()
        .filter(|(m, _)| *m == id)
        .map(|(_, a)| a.clone())
        .collect();
    let problem = match answer {
        None => Some(failure.unwrap_or_else(|| "did not answer".into())),
        Some(a) if a.status.leader_id.is_none() => Some("sees no leader".into()),
        Some(a) if !a.errors.is_empty() => Some(a.errors.join("; ")),
        Some(_) if !mine.is_empty() => Some(format!("alarm {}", mine.join(", "))),
        Some(_) => None,
    };
    EtcdMember {
        leader: answer.is_some() && leader == Some(id.as_str()),
        id,
        name,
        peer_urls: l.peer_urls.clone(),
        client_urls: l.client_urls.clone(),
        learner: l.learner,
        healthy: problem.is_none(),
        status: answer.map(|a| a.status.clone()),
        problem,
        alarms: mine,
    }
}

/// `http://127.0.0.1:2379/` and `http://127.0.0.1:2379` are one endpoint.
pub fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;

    // Shapes as etcd 3.4's gateway answers them.
    fn status_json(member: &str, leader: &str) -> Value {
        json!({"header":{"cluster_id":"1","member_id":member,"revision":"9","raft_term":"2"},
               "version":"3.4.23","dbSize":"20480","leader":leader,"raftIndex":"40",
               "raftTerm":"2","raftAppliedIndex":"38","dbSizeInUse":"16384"})
    }

    #[test]
    fn status_numbers_come_as_strings_and_ids_print_in_hex() {
        let a = status(&status_json("255", "255"), Duration::from_millis(3)).expect("parses");
        assert_eq!(a.member_id, "ff");
        assert_eq!(a.status.leader_id.as_deref(), Some("ff"));
        assert_eq!((a.status.raft_index, a.status.applied_index), (40, 38));
        assert_eq!(a.status.db_size, 20480);
        assert_eq!(a.status.latency_ms, 3);
        let none = status(&status_json("255", "0"), Duration::ZERO).expect("parses");
        assert_eq!(none.status.leader_id, None);
    }

    #[test]
    fn members_and_alarms() {
        let m = members(&json!({"members":[
            {"ID":"16","name":"e1","peerURLs":["http://a:2380"],"clientURLs":["http://a:2379"]},
            {"ID":"17","name":"e2","peerURLs":["http://b:2380"],"isLearner":true}]}));
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].id.as_str(), m[1].learner), ("10", true));
        assert!(alarms(&json!({})).is_empty());
        assert_eq!(
            alarms(&json!({"alarms":[{"memberID":"16","alarm":"NOSPACE"}]})),
            [("10".to_string(), "NOSPACE".to_string())]
        );
    }

    #[test]
    fn assembly_marks_leader_unreachable_and_alarmed_members() {
        let listed = members(&json!({"members":[
            {"ID":"1","name":"e1","clientURLs":["http://a:1"]},
            {"ID":"2","name":"e2","clientURLs":["http://b:1"]},
            {"ID":"3","name":"e3","clientURLs":["http://c:1/"]}]}));
        let answers = vec![
            (
                "http://a:1".to_string(),
                status(&status_json("1", "1"), Duration::ZERO).ok_or_else(String::new),
            ),
            (
                "http://b:1".to_string(),
                status(&status_json("2", "1"), Duration::ZERO).ok_or_else(String::new),
            ),
            (
                "http://c:1".to_string(),
                Err("Connection refused".to_string()),
            ),
        ];
        let alarms = vec![("2".to_string(), "NOSPACE".to_string())];
        let out = assemble(&Round {
            listed: &listed,
            answers: &answers,
            alarms: &alarms,
        });
        let view: Vec<_> = out
            .iter()
            .map(|m| (m.name.as_str(), m.leader, m.healthy, m.problem.as_deref()))
            .collect();
        assert_eq!(
            view,
            [
                ("e1", true, true, None),
                ("e2", false, false, Some("alarm NOSPACE")),
                ("e3", false, false, Some("Connection refused")),
            ]
        );
    }
}
