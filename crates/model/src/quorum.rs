//! Raft quorum arithmetic and fault-tolerance verdicts for managers and etcd members.

use std::collections::BTreeMap;

use super::Node;

/// Majority needed by Raft: floor(N/2)+1.
pub fn quorum_size(managers: usize) -> usize {
    managers / 2 + 1
}

/// Failures a cluster of N members tolerates by design: 1/2/3/4/5/6/7 → 0/0/1/1/2/2/3.
pub fn fault_tolerance(managers: usize) -> usize {
    managers.saturating_sub(1) / 2
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QuorumVerdict {
    /// Can lose at least one more member.
    Healthy,
    /// Still has quorum but cannot lose another member.
    AtRisk,
    /// Fewer reachable members than the quorum: no leader, no changes.
    Lost,
    /// No managers known at all (e.g. not a swarm, or not loaded yet).
    Unknown,
}

impl QuorumVerdict {
    pub fn label(self) -> &'static str {
        match self {
            QuorumVerdict::Healthy => "healthy",
            QuorumVerdict::AtRisk => "at risk",
            QuorumVerdict::Lost => "QUORUM LOST",
            QuorumVerdict::Unknown => "unknown",
        }
    }
}

/// How the managers spread over availability zones, and which AZ losses the managers reachable
/// now survive (a manager already down does not vote, wherever it is).
#[derive(Clone, Debug, PartialEq)]
pub struct AzSpread {
    /// Managers per AZ, largest first.
    pub counts: Vec<(String, usize)>,
    pub survives_one_az: bool,
    pub survives_two_azs: bool,
}

impl AzSpread {
    /// Every manager reachable: the spread by design.
    pub fn from_counts(counts: Vec<(String, usize)>) -> Option<AzSpread> {
        AzSpread::from_managers(counts.into_iter().map(|(az, n)| (az, n, n)).collect())
    }

    /// (AZ, managers, reachable managers) per AZ.
    pub fn from_managers(per_az: Vec<(String, usize, usize)>) -> Option<AzSpread> {
        if per_az.is_empty() {
            return None;
        }
        let total: usize = per_az.iter().map(|c| c.1).sum();
        let reachable: usize = per_az.iter().map(|c| c.2).sum();
        let q = quorum_size(total);
        let mut up: Vec<usize> = per_az.iter().map(|c| c.2).collect();
        up.sort_unstable_by(|a, b| b.cmp(a));
        let worst_one = up.first().copied().unwrap_or(0);
        let worst_two = up.iter().take(2).sum::<usize>();
        let azs = per_az.len();
        let mut counts: Vec<(String, usize)> =
            per_az.into_iter().map(|(az, n, _)| (az, n)).collect();
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Some(AzSpread {
            survives_one_az: azs > 1 && reachable.saturating_sub(worst_one) >= q,
            survives_two_azs: azs > 2 && reachable.saturating_sub(worst_two) >= q,
            counts,
        })
    }

    /// "2-2-1"
    pub fn shape(&self) -> String {
        let parts: Vec<String> = self.counts.iter().map(|c| c.1.to_string()).collect();
        parts.join("-")
    }

    pub fn verdict(&self) -> &'static str {
        if self.survives_two_azs {
            "survives any two AZ failures"
        } else if self.survives_one_az {
            "survives any one AZ failure"
        } else {
            "an AZ failure loses quorum"
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Quorum {
    pub managers: usize,
    pub reachable: usize,
    pub leader: Option<String>,
    pub quorum: usize,
    /// Failures tolerated by design (N).
    pub tolerated: usize,
    /// Further failures survivable right now (reachable - quorum), 0 if lost.
    pub tolerates_now: usize,
    pub verdict: QuorumVerdict,
    /// Even counts add no tolerance over N-1 and are worth a warning; two is worse than one.
    pub even_warning: bool,
    pub az: Option<AzSpread>,
}

impl Quorum {
    pub fn from_nodes<'a>(nodes: impl IntoIterator<Item = &'a Node>) -> Quorum {
        let mut managers = 0;
        let mut reachable = 0;
        let mut leader = None;
        let mut per_az: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for n in nodes.into_iter().filter(|n| n.is_manager()) {
            managers += 1;
            let up = n.counts_for_quorum();
            reachable += usize::from(up);
            if n.leader && up {
                leader = Some(n.hostname.clone());
            }
            if let Some(az) = &n.az {
                let e = per_az.entry(az.clone()).or_default();
                e.0 += 1;
                e.1 += usize::from(up);
            }
        }
        let az = if per_az.values().map(|c| c.0).sum::<usize>() == managers {
            AzSpread::from_managers(per_az.into_iter().map(|(az, (n, r))| (az, n, r)).collect())
        } else {
            None
        };
        Quorum::compute(managers, reachable, leader, az)
    }

    pub fn compute(
        managers: usize,
        reachable: usize,
        leader: Option<String>,
        az: Option<AzSpread>,
    ) -> Quorum {
        let quorum = quorum_size(managers);
        let verdict = if managers == 0 {
            QuorumVerdict::Unknown
        } else if reachable < quorum {
            QuorumVerdict::Lost
        } else if reachable - quorum == 0 {
            QuorumVerdict::AtRisk
        } else {
            QuorumVerdict::Healthy
        };
        // Without a majority there is no leader, whatever a node last claimed.
        let leader = leader.filter(|_| verdict != QuorumVerdict::Lost);
        Quorum {
            managers,
            reachable,
            leader,
            quorum,
            tolerated: fault_tolerance(managers),
            tolerates_now: reachable.saturating_sub(quorum).min(reachable),
            verdict,
            even_warning: managers > 0 && managers.is_multiple_of(2),
            az,
        }
    }

    /// Human summary used on the overview and in refusals, e.g. "no leader: 1 of 3 managers reachable".
    pub fn summary(&self) -> String {
        match self.verdict {
            QuorumVerdict::Lost => format!(
                "no leader: {} of {} managers reachable (quorum needs {})",
                self.reachable, self.managers, self.quorum
            ),
            QuorumVerdict::Unknown => "no managers known".into(),
            _ => format!(
                "{} of {} managers reachable, tolerates {} more",
                self.reachable, self.managers, self.tolerates_now
            ),
        }
    }

    /// Verdict after `down` more managers become unreachable (used by the quorum guard).
    pub fn after_losing(&self, down: usize) -> QuorumVerdict {
        Quorum::compute(
            self.managers,
            self.reachable.saturating_sub(down),
            None,
            None,
        )
        .verdict
    }
}

/// One etcd member as the quorum view shows it: identity from the member list, the rest from
/// its own status answer (None when it did not answer).
#[derive(Clone, Debug, PartialEq)]
pub struct EtcdMember {
    /// Hex, as etcdctl prints it.
    pub id: String,
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub leader: bool,
    pub learner: bool,
    /// Answered, sees a leader, and reports no error or alarm.
    pub healthy: bool,
    pub status: Option<EtcdStatus>,
    /// Why it is not healthy: unreachable, no leader, an alarm…
    pub problem: Option<String>,
    /// Active alarms on this member ("NOSPACE", "CORRUPT").
    pub alarms: Vec<String>,
}

/// A member's answer to the maintenance Status call.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct EtcdStatus {
    pub version: String,
    /// Hex id of the leader this member follows; None when it sees none.
    pub leader_id: Option<String>,
    pub raft_term: u64,
    pub raft_index: u64,
    pub applied_index: u64,
    pub db_size: u64,
    pub db_size_in_use: u64,
    /// Round trip of the status call.
    pub latency_ms: u32,
}

impl EtcdMember {
    /// Entries the leader has that this member has not applied yet.
    pub fn lag(&self, leader_index: Option<u64>) -> Option<u64> {
        let s = self.status.as_ref()?;
        Some(leader_index?.saturating_sub(s.applied_index))
    }
}

impl Quorum {
    /// Raft arithmetic over the voting members (learners do not vote). A majority that answers
    /// but sees no leader is still lost: no writes go through.
    pub fn from_etcd(members: &[EtcdMember]) -> Quorum {
        let voters: Vec<&EtcdMember> = members.iter().filter(|m| !m.learner).collect();
        let reachable = voters.iter().filter(|m| m.status.is_some()).count();
        let leader = voters.iter().find(|m| m.leader).map(|m| m.name.clone());
        let mut q = Quorum::compute(voters.len(), reachable, leader.clone(), None);
        if leader.is_none() && q.verdict != QuorumVerdict::Unknown {
            q.verdict = QuorumVerdict::Lost;
            q.tolerates_now = 0;
        } else if q.verdict == QuorumVerdict::Lost {
            // Too few members answer here, yet those that do follow a leader: the others are
            // cut off from this console, not necessarily from each other. Not known, not lost.
            q.verdict = QuorumVerdict::Unknown;
            q.leader = leader;
        }
        q
    }

    /// "3 of 3 members reachable…" for etcd (the Swarm wording says managers).
    pub fn etcd_summary(&self) -> String {
        match self.verdict {
            QuorumVerdict::Lost => format!(
                "no leader: {} of {} members reachable (quorum needs {})",
                self.reachable, self.managers, self.quorum
            ),
            QuorumVerdict::Unknown if self.managers == 0 => "no members known".into(),
            QuorumVerdict::Unknown => format!(
                "unknown: only {} of {} members answer here, and they follow leader {}: \
                 the others may be cut off from this console only",
                self.reachable,
                self.managers,
                self.leader.as_deref().unwrap_or("?")
            ),
            _ => format!(
                "{} of {} members reachable, tolerates {} more",
                self.reachable, self.managers, self.tolerates_now
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, up: bool, leader: bool) -> EtcdMember {
        EtcdMember {
            id: name.into(),
            name: name.into(),
            peer_urls: vec![],
            client_urls: vec![],
            leader,
            learner: false,
            healthy: up,
            status: up.then(EtcdStatus::default),
            problem: None,
            alarms: vec![],
        }
    }

    #[test]
    fn too_few_members_answering_yet_following_a_leader_is_unknown_not_lost() {
        // e1 answers and follows e2; e2 and e3 do not answer this console.
        let members = vec![
            member("e1", true, false),
            member("e2", false, true),
            member("e3", false, false),
        ];
        let q = Quorum::from_etcd(&members);
        assert_eq!(q.verdict, QuorumVerdict::Unknown);
        assert_eq!(
            q.etcd_summary(),
            "unknown: only 1 of 3 members answer here, and they follow leader e2: the others may be cut off from this console only"
        );
    }

    #[test]
    fn etcd_verdicts_follow_reachability_and_the_leader() {
        let all = [
            member("a", true, true),
            member("b", true, false),
            member("c", true, false),
        ];
        assert_eq!(Quorum::from_etcd(&all).verdict, QuorumVerdict::Healthy);
        let one = [
            member("a", true, true),
            member("b", true, false),
            member("c", false, false),
        ];
        assert_eq!(Quorum::from_etcd(&one).verdict, QuorumVerdict::AtRisk);
        let two = [
            member("a", true, false),
            member("b", false, false),
            member("c", false, false),
        ];
        let q = Quorum::from_etcd(&two);
        assert_eq!(q.verdict, QuorumVerdict::Lost);
        assert_eq!(
            q.etcd_summary(),
            "no leader: 1 of 3 members reachable (quorum needs 2)"
        );
        // A majority answering without a leader (an election in progress) cannot write either.
        let no_leader = [
            member("a", true, false),
            member("b", true, false),
            member("c", true, false),
        ];
        assert_eq!(Quorum::from_etcd(&no_leader).verdict, QuorumVerdict::Lost);
        let mut learner = member("d", false, false);
        learner.learner = true;
        let with_learner = [
            member("a", true, true),
            member("b", true, false),
            member("c", true, false),
            learner,
        ];
        assert_eq!(Quorum::from_etcd(&with_learner).managers, 3);
    }

    #[test]
    fn raft_majority_table() {
        let tol: Vec<usize> = (1..=7).map(fault_tolerance).collect();
        assert_eq!(tol, vec![0, 0, 1, 1, 2, 2, 3]);
        assert_eq!(quorum_size(3), 2);
        assert_eq!(quorum_size(4), 3);
        assert_eq!(quorum_size(5), 3);
    }

    #[test]
    fn verdicts() {
        assert_eq!(
            Quorum::compute(3, 3, None, None).verdict,
            QuorumVerdict::Healthy
        );
        let one_down = Quorum::compute(3, 2, None, None);
        assert_eq!(one_down.verdict, QuorumVerdict::AtRisk);
        assert_eq!(one_down.tolerates_now, 0);
        assert_eq!(
            Quorum::compute(3, 1, None, None).verdict,
            QuorumVerdict::Lost
        );
        assert_eq!(
            Quorum::compute(3, 1, None, None).summary(),
            "no leader: 1 of 3 managers reachable (quorum needs 2)"
        );
        assert!(Quorum::compute(2, 2, None, None).even_warning);
        // Two managers are less safe than one: both tolerate nothing, two can lose either.
        assert_eq!(
            Quorum::compute(2, 2, None, None).verdict,
            QuorumVerdict::AtRisk
        );
    }

    fn spread(c: &[usize]) -> AzSpread {
        AzSpread::from_counts(
            c.iter()
                .enumerate()
                .map(|(i, n)| (format!("az{i}"), *n))
                .collect(),
        )
        .expect("non-empty")
    }

    #[test]
    fn az_spreads_from_the_brief() {
        assert!(!spread(&[3, 2]).survives_one_az);
        assert!(spread(&[2, 2, 1]).survives_one_az);
        assert!(!spread(&[2, 2, 1]).survives_two_azs);
        assert!(!spread(&[2, 1, 1, 1]).survives_two_azs);
        assert!(spread(&[1, 1, 1, 1, 1]).survives_two_azs);
        assert_eq!(spread(&[1, 2, 2]).shape(), "2-2-1");
    }

    #[test]
    fn the_spread_counts_only_managers_that_are_up() {
        // 1-1-1 with one manager down: the two left hold quorum, but either AZ failing loses it.
        let s = AzSpread::from_managers(vec![
            ("a".into(), 1, 1),
            ("b".into(), 1, 1),
            ("c".into(), 1, 0),
        ])
        .expect("spread");
        assert_eq!(s.shape(), "1-1-1");
        assert!(!s.survives_one_az);
        assert_eq!(s.verdict(), "an AZ failure loses quorum");
    }

    fn manager(i: usize, az: &str, up: bool, leader: bool) -> Node {
        let mut n = Node::sample(crate::NodeRole::Manager);
        n.id = format!("m{i}");
        n.hostname = format!("mgr{i}");
        n.az = Some(az.to_string());
        n.leader = leader;
        if !up {
            n.reachability = Some(crate::Reachability::Unreachable);
            n.status = crate::NodeStatus::Down;
        }
        n
    }

    proptest::proptest! {
        /// Whatever the managers, their AZs and which are up, the verdict never claims more
        /// than Raft gives: the failures it says are survivable leave a majority of all
        /// managers, and a lost quorum names no leader.
        #[test]
        fn the_verdict_never_claims_more_tolerance_than_raft_gives(
            managers in proptest::collection::vec((0usize..4, proptest::bool::ANY), 1..8),
            leader in 0usize..8,
        ) {
            let azs = ["a", "b", "c", "d"];
            let nodes: Vec<Node> = managers
                .iter()
                .enumerate()
                .map(|(i, (az, up))| manager(i, azs[*az], *up, i == leader))
                .collect();
            let q = Quorum::from_nodes(&nodes);
            let n = managers.len();
            let up = managers.iter().filter(|m| m.1).count();
            let need = n / 2 + 1;
            proptest::prop_assert_eq!(q.quorum, need);
            proptest::prop_assert_eq!(q.tolerates_now, up.saturating_sub(need));
            if up < need {
                proptest::prop_assert_eq!(q.verdict, QuorumVerdict::Lost);
                proptest::prop_assert!(q.leader.is_none());
            }
            let up_in = |az: &str| managers.iter().filter(|m| azs[m.0] == az && m.1).count();
            if let Some(s) = &q.az {
                for a in azs {
                    if s.survives_one_az {
                        proptest::prop_assert!(up - up_in(a) >= need, "losing {} leaves no quorum", a);
                    }
                    for b in azs {
                        if a != b && s.survives_two_azs {
                            proptest::prop_assert!(up - up_in(a) - up_in(b) >= need);
                        }
                    }
                }
            }
        }
    }
}
