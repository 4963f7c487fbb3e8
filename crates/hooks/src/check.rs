//! Checking a hook when the configuration is loaded, so that a mistake shows then and not when
//! an operator runs the hook during an incident. The errors name the field; the app adds the
//! hook and the file.

use std::collections::BTreeSet;

use crate::hook::{Hook, Param, Target};
use crate::jenkins::api::{base_url, job_path};
use crate::param::validate;
use crate::pattern::Pattern;
use crate::template::{is_param_name, placeholders};

/// Config-time validation: parameter names, patterns and defaults; for a command, a non-empty
/// argv whose placeholders (and those of cwd and env) each name a parameter, and every
/// parameter used somewhere; for Jenkins, an http(s) URL, a job path, and user and token_file
/// given together.
pub fn check(hook: &Hook) -> Result<(), String> {
    check_params(&hook.params)?;
    match &hook.target {
        Target::Command { argv, cwd, env } => check_command(hook, argv, cwd.as_deref(), env),
        Target::Jenkins {
            url,
            job,
            user,
            token_file,
        } => {
            base_url(url)?;
            job_path(job)?;
            match (user, token_file) {
                (Some(_), None) => Err("jenkins: user is set but token_file is not".into()),
                (None, Some(_)) => Err("jenkins: token_file is set but user is not".into()),
                _ => Ok(()),
            }
        }
    }
}

fn check_params(params: &[Param]) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for p in params {
        if !is_param_name(&p.name) {
            return Err(format!(
                "params: {:?} is not a parameter name (letters, digits, _ and -)",
                p.name
            ));
        }
        if !seen.insert(p.name.as_str()) {
            return Err(format!("params: {} is declared twice", p.name));
        }
        if let Some(pattern) = &p.pattern {
            Pattern::parse(pattern).map_err(|e| format!("params.{}: {e}", p.name))?;
        }
        if let Some(default) = &p.default {
            validate(p, default).map_err(|e| format!("params.{}: the default: {e}", p.name))?;
        }
    }
    Ok(())
}

fn check_command(
    hook: &Hook,
    argv: &[String],
    cwd: Option<&std::path::Path>,
    env: &[(String, String)],
) -> Result<(), String> {
    if argv.first().is_none_or(|p| p.is_empty()) {
        return Err("run: the command is empty (it needs at least the program)".into());
    }
    let mut used = BTreeSet::new();
    let mut uses = |field: String, template: &str| -> Result<(), String> {
        for name in placeholders(template).map_err(|e| format!("{field}: {e}"))? {
            if hook.param(name).is_none() {
                return Err(format!(
                    "{field}: {{{name}}} names no parameter (declared: {})",
                    declared(hook)
                ));
            }
            used.insert(name.to_string());
        }
        Ok(())
    };
    for (i, arg) in argv.iter().enumerate() {
        uses(format!("run[{i}]"), arg)?;
    }
    if let Some(cwd) = cwd {
        let cwd = cwd
            .to_str()
            .ok_or_else(|| format!("cwd: {} is not valid UTF-8", cwd.display()))?;
        uses("cwd".into(), cwd)?;
    }
    for (name, value) in env {
        if name.is_empty() || name.contains(['=', '\0']) {
            return Err(format!(
                "env: {name:?} is not a variable name (non-empty, no `=`)"
            ));
        }
        uses(format!("env.{name}"), value)?;
    }
    match hook.params.iter().find(|p| !used.contains(&p.name)) {
        Some(p) => Err(format!(
            "params.{}: not used: no {{{}}} in run, cwd or env",
            p.name, p.name
        )),
        None => Ok(()),
    }
}

fn declared(hook: &Hook) -> String {
    if hook.params.is_empty() {
        return "none".into();
    }
    let names: Vec<&str> = hook.params.iter().map(|p| p.name.as_str()).collect();
    names.join(", ")
}
