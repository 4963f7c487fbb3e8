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

/// How the managers spread over availability zones, and which AZ losses they survive.
#[derive(Clone, Debug, PartialEq)]
pub struct AzSpread {
    /// Managers per AZ, largest first.
    pub counts: Vec<(String, usize)>,
    pub survives_one_az: bool,
    pub survives_two_azs: bool,
}

impl AzSpread {
    pub fn from_counts(mut counts: Vec<(String, usize)>) -> Option<AzSpread> {
        if counts.is_empty() {
            return None;
        }
        counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let total: usize = counts.iter().map(|c| c.1).sum();
        let q = quorum_size(total);
        let worst_one = counts.first().map_or(0, |c| c.1);
        let worst_two = counts.iter().take(2).map(|c| c.1).sum::<usize>();
        Some(AzSpread {
            survives_one_az: counts.len() > 1 && total - worst_one >= q,
            survives_two_azs: counts.len() > 2 && total - worst_two >= q,
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
        let mut per_az: BTreeMap<String, usize> = BTreeMap::new();
        for n in nodes.into_iter().filter(|n| n.is_manager()) {
            managers += 1;
            if n.counts_for_quorum() {
                reachable += 1;
            }
            if n.leader && n.counts_for_quorum() {
                leader = Some(n.hostname.clone());
            }
            if let Some(az) = &n.az {
                *per_az.entry(az.clone()).or_default() += 1;
            }
        }
        let az = if per_az.values().sum::<usize>() == managers {
            AzSpread::from_counts(per_az.into_iter().collect())
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

#[derive(Clone, Debug, PartialEq)]
pub struct EtcdMember {
    pub id: String,
    pub name: String,
    pub peer_urls: Vec<String>,
    pub client_urls: Vec<String>,
    pub leader: bool,
    pub learner: bool,
    pub healthy: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
