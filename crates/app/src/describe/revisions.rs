//! What changes between any two kept revisions of a Deployment (`:diff NAME FROM TO`), shown in
//! the describe view (so it scrolls, searches and saves like any object): each revision's image,
//! change-cause and age, then the pod template's changes field by field, environment values
//! never shown.

use serde_json::json;

use super::DescribeView;
use crate::backends::diff;
use crate::model::{ObjectKind, Revision, Workload};
use crate::state::{App, Modal};

impl App {
    pub(crate) fn open_revision_diff(
        &mut self,
        target: &str,
        from: u64,
        to: u64,
    ) -> Result<(), String> {
        let w = self
            .cluster()
            .and_then(|c| c.workload_by_name(target))
            .filter(|w| w.kind == ObjectKind::Deployment)
            .ok_or_else(|| format!("no Deployment named {target} in this context"))?;
        let view = revision_diff(w, from, to)?;
        self.describe = view;
        self.ui.input = None;
        self.ui.modal = Some(Modal::Describe);
        Ok(())
    }
}

/// The view of `from` → `to`, or which revisions are kept.
pub fn revision_diff(w: &Workload, from: u64, to: u64) -> Result<DescribeView, String> {
    let find = |n: u64| {
        w.revisions.iter().find(|r| r.number == n).ok_or_else(|| {
            let kept: Vec<String> = w.revisions.iter().map(|r| r.number.to_string()).collect();
            format!(
                "{} keeps no revision {n}; kept: {}",
                w.name,
                if kept.is_empty() {
                    "none known".into()
                } else {
                    kept.join(", ")
                }
            )
        })
    };
    let (a, b) = (find(from)?, find(to)?);
    let mut changes = diff::pod_templates(&a.template, &b.template);
    if changes.is_empty() {
        changes.push("no change in the pod template".into());
    }
    let about = |r: &Revision| {
        json!({
            "revision": r.number,
            "current": r.number == w.spec_version,
            "image": r.image,
            "created": r.created.map(|t| t.to_rfc3339()),
            "change-cause": r.cause,
        })
    };
    Ok(DescribeView {
        title: format!("{} revision {from} → {to}", w.name),
        kind: Some(ObjectKind::Deployment),
        id: format!("{}-rev{from}-rev{to}", w.name),
        json: Some(json!({"from": about(a), "to": about(b), "changes": changes})),
        ..DescribeView::default()
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use serde_json::Value;

    fn rev(n: u64, image: &str, env: Value) -> Revision {
        Revision {
            number: n,
            image: image.into(),
            template: Arc::new(
                json!({"spec": {"containers": [{"name": "main", "image": image, "env": env}]}}),
            ),
            ..Revision::default()
        }
    }

    #[test]
    fn any_two_revisions_are_compared_and_unknown_ones_named() {
        let w = Workload {
            id: "deployment/shop/web".into(),
            kind: ObjectKind::Deployment,
            name: "web".into(),
            mode: crate::model::ServiceMode::Replicated,
            desired: 1,
            running: 1,
            image: "web:3".into(),
            containers: vec![],
            previous_image: None,
            changed: vec![],
            stack: None,
            update: None,
            update_config: crate::model::UpdateConfig::default(),
            spec_version: 3,
            generation: 0,
            uid: None,
            availability: vec![],
            revisions: vec![
                rev(3, "web:3", json!([])),
                rev(2, "web:2", json!([{"name": "DEBUG", "value": "1"}])),
                rev(1, "web:1", json!([{"name": "DEBUG", "value": "0"}])),
            ],
        };
        let v = revision_diff(&w, 1, 2).expect("both kept");
        let json = v.json.clone().expect("an object");
        assert_eq!(
            json["changes"],
            json!([
                "image web:1 → web:2",
                "env DEBUG changed (values not shown)"
            ])
        );
        assert_eq!(json["to"]["current"], false);
        let text = v.lines().join("\n");
        assert!(
            !text.contains("\"0\"") && !text.contains("value: '1'"),
            "{text}"
        );
        let err = revision_diff(&w, 1, 7).expect_err("7 is not kept");
        assert!(err.contains("no revision 7; kept: 3, 2, 1"), "{err}");
    }
}
