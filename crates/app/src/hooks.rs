//! `:hook NAME [PARAM=VALUE…]` or `H`: a configured pipeline hook (a command such as
//! `ansible-playbook`, or a Jenkins job) run with parameters typed on the line or prompted one
//! by one (each checked against its rule, secret ones hidden while typed), its output
//! streamed into the output view, its result shown, audited with the parameters (secret ones
//! redacted).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use clusterdeck_hooks::{Event, Target};

use crate::model::Severity;
use crate::ops::Activity;
use crate::prompt::{Input, InputKind, PromptKind};
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
        if self.read_only_here() {
            return Err("read-only here: no hook is run".into());
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
        self.hook_with(name, values)
    }

    /// `H`: the command line with `hook `, the configured hooks named.
    pub(crate) fn hook_key(&mut self) {
        let names: Vec<String> = self.pipelines.hooks.keys().cloned().collect();
        if names.is_empty() {
            return self.status(
                "no hooks configured: add [hooks.NAME] to config.toml",
                Severity::Warn,
            );
        }
        self.ui.input = Some(Input::new(InputKind::Command, "hook "));
        self.status(format!("hooks: {}", names.join(", ")), Severity::Info);
    }

    /// The answer to a parameter's prompt: checked, then the next parameter or the run.
    pub(crate) fn submit_hook_param(
        &mut self,
        name: &str,
        values: &BTreeMap<String, String>,
        param: &str,
        text: &str,
    ) -> Result<(), String> {
        let hook = self
            .pipelines
            .hooks
            .get(name)
            .map(|c| c.hook(name))
            .ok_or_else(|| format!("no hook named {name}"))?;
        let p = hook
            .params
            .iter()
            .find(|p| p.name == param)
            .ok_or_else(|| format!("hook {name} has no parameter {param}"))?;
        clusterdeck_hooks::validate(p, text)?;
        let mut values = values.clone();
        values.insert(param.to_string(), text.to_string());
        self.hook_with(name, values)
    }

    /// Prompts for the first parameter still missing (one without a default), else runs.
    fn hook_with(&mut self, name: &str, values: BTreeMap<String, String>) -> Result<(), String> {
        let cfg = self
            .pipelines
            .hooks
            .get(name)
            .cloned()
            .ok_or_else(|| format!("no hook named {name}"))?;
        let hook = cfg.hook(name);
        if let Some(p) = hook
            .params
            .iter()
            .find(|p| p.default.is_none() && !values.contains_key(&p.name))
        {
            let kind = PromptKind::HookParam {
                hook: name.to_string(),
                values,
                param: p.name.clone(),
                rule: p.pattern.clone(),
                secret: p.secret,
            };
            self.ui.input = Some(Input::new(InputKind::Prompt(kind), ""));
            return Ok(());
        }
        let cluster = self.cluster_name();
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
            id: name.to_string(),
            name: name.to_string(),
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
