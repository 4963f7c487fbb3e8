//! Deployments' rollout history, from the ReplicaSets they own: which image `rollout undo`
//! would bring back, so the plan can say so before anything is sent. Bounded by each
//! Deployment's `revisionHistoryLimit` (10 by default).

use std::collections::{BTreeMap, HashMap};

use crate::convert::Revision;
use clusterdeck_model::Workload;

#[derive(Default)]
pub struct History {
    /// deployment id → revision → image.
    revisions: HashMap<String, BTreeMap<u64, String>>,
    /// ReplicaSet id → (deployment id, revision), to forget one when it is deleted.
    sets: HashMap<String, (String, u64)>,
    /// The Deployments as last converted, to send again when their history changes.
    deployments: HashMap<String, Workload>,
}

impl History {
    /// The image of the newest revision before the current one.
    fn previous(&self, w: &Workload) -> Option<String> {
        self.revisions
            .get(&w.id)?
            .range(..w.spec_version)
            .next_back()
            .map(|(_, image)| image.clone())
    }

    /// Every revision kept, newest first.
    fn all(&self, w: &Workload) -> Vec<(u64, String)> {
        self.revisions
            .get(&w.id)
            .map(|r| r.iter().rev().map(|(n, i)| (*n, i.clone())).collect())
            .unwrap_or_default()
    }

    /// Remembers a Deployment and returns it with its previous image filled in.
    pub fn deployment(&mut self, mut w: Workload) -> Workload {
        w.previous_image = self.previous(&w);
        w.revisions = self.all(&w);
        self.deployments.insert(w.id.clone(), w.clone());
        w
    }

    pub fn forget_deployment(&mut self, id: &str) {
        self.deployments.remove(id);
    }

    /// A ReplicaSet appeared or changed: the Deployment, if what it would roll back to changed.
    pub fn set(&mut self, r: Revision) -> Option<Workload> {
        if let Some((dep, rev)) = self
            .sets
            .insert(r.id.clone(), (r.deployment.clone(), r.revision))
            && (dep != r.deployment || rev != r.revision)
            && let Some(revs) = self.revisions.get_mut(&dep)
        {
            revs.remove(&rev);
        }
        self.revisions
            .entry(r.deployment.clone())
            .or_default()
            .insert(r.revision, r.image);
        self.refreshed(&r.deployment)
    }

    /// A ReplicaSet was deleted.
    pub fn remove_set(&mut self, id: &str) -> Option<Workload> {
        let (dep, rev) = self.sets.remove(id)?;
        if let Some(revs) = self.revisions.get_mut(&dep) {
            revs.remove(&rev);
            if revs.is_empty() {
                self.revisions.remove(&dep);
            }
        }
        self.refreshed(&dep)
    }

    /// A full relist: the history is replaced; the Deployments whose answer changed.
    pub fn relist(&mut self, sets: Vec<Revision>) -> Vec<Workload> {
        self.revisions.clear();
        self.sets.clear();
        for r in sets {
            self.sets
                .insert(r.id.clone(), (r.deployment.clone(), r.revision));
            self.revisions
                .entry(r.deployment)
                .or_default()
                .insert(r.revision, r.image);
        }
        let ids: Vec<String> = self.deployments.keys().cloned().collect();
        ids.iter().filter_map(|id| self.refreshed(id)).collect()
    }

    /// Fills in the previous image of Deployments gathered for the first snapshot.
    pub fn fill(&self, workloads: &mut [Workload]) {
        for w in workloads
            .iter_mut()
            .filter(|w| self.deployments.contains_key(&w.id))
        {
            w.previous_image = self.previous(w);
            w.revisions = self.all(w);
        }
    }

    fn refreshed(&mut self, dep: &str) -> Option<Workload> {
        let w = self.deployments.get(dep)?;
        let prev = self.previous(w);
        let all = self.all(w);
        if prev == w.previous_image && all == w.revisions {
            return None;
        }
        let w = self.deployments.get_mut(dep)?;
        w.previous_image = prev;
        w.revisions = all;
        Some(w.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn web(revision: u64) -> Workload {
        let d: k8s_openapi::api::apps::v1::Deployment = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web", "namespace": "shop",
                "annotations": {"deployment.kubernetes.io/revision": revision.to_string()}},
            "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "main"}]}}}
        }))
        .expect("a deployment");
        crate::convert::deployment(&d).expect("converts")
    }

    fn rs(name: &str, revision: u64, image: &str) -> Revision {
        Revision {
            id: format!("replicaset/shop/{name}"),
            deployment: "deployment/shop/web".into(),
            revision,
            image: image.into(),
        }
    }

    #[test]
    fn the_previous_image_follows_the_revisions() {
        let mut h = History::default();
        assert_eq!(h.deployment(web(1)).previous_image, None);
        assert!(h.set(rs("web-a", 1, "web:1")).is_none(), "nothing before 1");
        // Rolled out to 2: the Deployment first, then its new ReplicaSet.
        assert_eq!(
            h.deployment(web(2)).previous_image.as_deref(),
            Some("web:1")
        );
        assert!(h.set(rs("web-b", 2, "web:2")).is_none(), "unchanged answer");
        // Undo: revision 1's ReplicaSet becomes revision 3.
        let w = h.deployment(web(3));
        assert_eq!(w.previous_image.as_deref(), Some("web:2"));
        assert!(
            h.set(rs("web-a", 3, "web:1")).is_none(),
            "revision 1 became 3; 2 is still the one before"
        );
        assert_eq!(
            h.revisions["deployment/shop/web"].len(),
            2,
            "1 was moved, not kept"
        );
        // The old set deleted (history limit): nothing left to go back to.
        let w = h.remove_set("replicaset/shop/web-b").expect("changed");
        assert_eq!(w.previous_image, None);
    }

    #[test]
    fn a_relist_replaces_the_history() {
        let mut h = History::default();
        h.deployment(web(2));
        let changed = h.relist(vec![rs("web-a", 1, "web:1"), rs("web-b", 2, "web:2")]);
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].previous_image.as_deref(), Some("web:1"));
        let mut snapshot = vec![web(2)];
        h.fill(&mut snapshot);
        assert_eq!(snapshot[0].previous_image.as_deref(), Some("web:1"));
        assert!(h.relist(Vec::new()).len() == 1, "forgotten again");
    }
}
