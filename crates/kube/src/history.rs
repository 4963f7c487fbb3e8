//! Deployments' rollout history, from the ReplicaSets they own: which image `rollout undo`
//! would bring back, so the plan can say so before anything is sent. Bounded by each
//! Deployment's `revisionHistoryLimit` (10 by default).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::Value;

use crate::convert::Revision;
use clusterdeck_kit::diff;
use clusterdeck_model::{Time, Workload};

/// What is kept of one revision.
#[derive(Clone, Debug, PartialEq)]
struct Kept {
    image: String,
    created: Option<Time>,
    cause: Option<String>,
    template: Arc<Value>,
}

#[derive(Default)]
pub struct History {
    /// deployment id → revision → what it was.
    revisions: HashMap<String, BTreeMap<u64, Kept>>,
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
            .map(|(_, k)| k.image.clone())
    }

    /// Every revision kept, newest first, with what going back to it changes.
    fn all(&self, w: &Workload) -> Vec<clusterdeck_model::Revision> {
        let Some(revs) = self.revisions.get(&w.id) else {
            return Vec::new();
        };
        let current = revs.get(&w.spec_version).map(|k| &k.template);
        revs.iter()
            .rev()
            .map(|(n, k)| clusterdeck_model::Revision {
                number: *n,
                image: k.image.clone(),
                created: k.created,
                cause: k.cause.clone(),
                template: Arc::clone(&k.template),
                changes: match current {
                    Some(cur) if *n != w.spec_version => diff::pod_templates(cur, &k.template),
                    _ => Vec::new(),
                },
            })
            .collect()
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
            .insert(r.revision, kept(&r));
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
                .entry(r.deployment.clone())
                .or_default()
                .insert(r.revision, kept(&r));
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

fn kept(r: &Revision) -> Kept {
    Kept {
        image: r.image.clone(),
        created: r.created,
        cause: r.cause.clone(),
        template: Arc::new(r.template.clone()),
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
            created: None,
            cause: None,
            template: serde_json::json!({"spec": {"containers": [{"name": "main", "image": image}]}}),
        }
    }

    #[test]
    fn each_revision_says_what_going_back_to_it_changes() {
        let mut h = History::default();
        let mut w = web(2);
        w.spec_version = 2;
        h.deployment(w);
        h.set(rs("web-a", 1, "web:1"));
        let mut with_env = rs("web-b", 2, "web:2");
        with_env.template["spec"]["containers"][0]["env"] =
            serde_json::json!([{"name": "DEBUG", "value": "1"}]);
        let w = h.set(with_env).expect("refreshed");
        let numbers: Vec<u64> = w.revisions.iter().map(|r| r.number).collect();
        assert_eq!(numbers, vec![2, 1]);
        assert!(w.revisions[0].changes.is_empty());
        assert_eq!(
            w.revisions[1].changes,
            vec![
                "image web:2 → web:1".to_string(),
                "env DEBUG removed".to_string()
            ]
        );
    }

    #[test]
    fn the_previous_image_follows_the_revisions() {
        let mut h = History::default();
        assert_eq!(h.deployment(web(1)).previous_image, None);
        // A new ReplicaSet sends the Deployment again (its revision list grew), but there is
        // nothing before 1.
        let w = h.set(rs("web-a", 1, "web:1")).expect("revisions changed");
        assert_eq!(w.previous_image, None);
        // Rolled out to 2: the Deployment first, then its new ReplicaSet.
        assert_eq!(
            h.deployment(web(2)).previous_image.as_deref(),
            Some("web:1")
        );
        let w = h.set(rs("web-b", 2, "web:2")).expect("revisions changed");
        assert_eq!(w.previous_image.as_deref(), Some("web:1"));
        assert!(h.set(rs("web-b", 2, "web:2")).is_none(), "unchanged answer");
        // Undo: revision 1's ReplicaSet becomes revision 3.
        let w = h.deployment(web(3));
        assert_eq!(w.previous_image.as_deref(), Some("web:2"));
        let w = h.set(rs("web-a", 3, "web:1")).expect("1 became 3");
        assert_eq!(
            w.previous_image.as_deref(),
            Some("web:2"),
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
