//! `:hook NAME [PARAM=VALUE…]`: a configured pipeline hook (a command such as
//! `ansible-playbook`, or a Jenkins job) run with the typed parameters (checked against each
//! parameter's rule; missing ones are named), its output streamed into the output view,
//! its result shown, audited with the parameters (secret ones redacted).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use clusterdeck_hooks::{Event, Target};

use crate::ops::Activity;
use crate::state::App;

impl App {
    pub(crate) fn run_hook(&mut self, args: &[String]) -> Result<(), String> {
        let names = || {
            self.pipelines
                .hooks
                .keys()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        };
        let name = args
            .first()
            .ok_or_else(|| format!("hook NAME [PARAM=VALUE…]; configured: {}", names()))?;
        let cfg = self
            .pipelines
            .hooks
            .get(name)
            .cloned()
            .ok_or_else(|| format!("no hook named {name} (configured: {})", names()))?;
        let cluster = self.cluster_name();
        if !cfg.contexts.is_empty() && !cfg.contexts.contains(&cluster) {
            return Err(format!(
                "hook {name} belongs to {}, not {cluster}",
                cfg.contexts.join(", ")
            ));
        }
        if self.gate.is_read_only() {
            return Err("read-only mode: no hook is run".into());
        }
        let hook = cfg.hook(name);
        let mut values = BTreeMap::new();
        for a in &args[1..] {
            let (k, v) = a
                .split_once('=')
                .ok_or_else(|| format!("{a:?}: write PARAM=VALUE"))?;
            let p = hook
                .params
                .iter()
                .find(|p| p.name == k)
                .ok_or_else(|| format!("hook {name} has no parameter {k}"))?;
            clusterdeck_hooks::validate(p, v).map_err(|e| format!("{k}: {e}"))?;
            values.insert(k.to_string(), v.to_string());
        }
        let missing: Vec<&str> = hook
            .params
            .iter()
            .filter(|p| p.default.is_none() && !values.contains_key(&p.name))
            .map(|p| p.name.as_str())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "hook {name} needs {}: :hook {name} {}",
                missing.join(", "),
                missing
                    .iter()
                    .map(|m| format!("{m}=…"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        let shown = clusterdeck_hooks::redacted(&hook, &values);
        let cli = match &hook.target {
            Target::Command { argv, .. } => argv
                .iter()
                .map(|a| clusterdeck_hooks::expand(a, &shown).unwrap_or_else(|_| a.clone()))
                .collect::<Vec<_>>()
                .join(" "),
            Target::Jenkins { url, job, .. } => {
                format!("jenkins {url} job {job} buildWithParameters")
            }
        };
        let activity = Activity {
            context: cluster,
            backend: "hook".into(),
            verb: "hook".into(),
            kind: "hook".into(),
            id: name.clone(),
            name: name.clone(),
            cli,
            params: json!(shown),
        };
        let out = self
            .start_job(format!("hook {name}"))
            .ok_or("no runtime to run the hook in")?;
        if let Err(e) = self.audit_job(&out, activity) {
            self.ui.modal = None;
            return Err(e);
        }
        let mut running = clusterdeck_hooks::start(&hook, &values);
        tokio::spawn(async move {
            // The handle cancels the run when dropped: it lives as long as the run.
            let _cancel = &running.cancel;
            while let Some(ev) = running.events.recv().await {
                match ev {
                    Event::Line(l) => out.line(l).await,
                    Event::Stage(s) => out.line(format!("» {s}")).await,
                    Event::Done(o) => {
                        let after = json!({ "result": o.describe() });
                        let r = if o.success() {
                            Ok(o.describe())
                        } else {
                            Err(o.describe())
                        };
                        return out.end(r, after).await;
                    }
                }
            }
            out.end(Err("the hook stopped without a result".into()), Value::Null)
                .await
        });
        Ok(())
    }
}
