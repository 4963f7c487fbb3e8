//! The `:` command line: `:scale web 5`, `:drain node-3`, `:deploy web app:2`, `:theme light`, `:q`.

use crate::input::Pane;
use crate::model::{Availability, NodeRole};
use crate::ops::{InstanceAction, Op};

#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Quit {
        force: bool,
    },
    /// An operation on the object called `target` (resolved against the cluster at the gate;
    /// `kind/name` picks one of several with the same name).
    Act {
        target: String,
        op: Op,
    },
    AddNodes {
        count: u32,
    },
    /// What changes between two revisions of a Deployment (`diff NAME FROM TO`).
    Diff {
        target: String,
        from: u64,
        to: u64,
    },
    /// `stack deploy|apply|rm …` (see `stacks::USAGE`).
    Stack(Vec<String>),
    /// `hook NAME [PARAM=VALUE…]`.
    Hook(Vec<String>),
    /// The last job's output again.
    Output,
    Theme(String),
    Pane(Pane),
    Context(String),
    Help,
}

pub const USAGE: &str = "commands: scale SVC N · drain|pause|activate|promote|demote NODE · rollback SVC [REVISION] · diff DEPLOYMENT REV REV · deploy SVC IMAGE:TAG · restart SVC · stack deploy NAME [FILE] [prune] [VAR=VALUE…] · stack apply NAME · stack rm NAME NAME · hook NAME [PARAM=VALUE…] · output · start|stop|reboot|terminate INSTANCE-ID · add-nodes N · theme NAME · context NAME · nodes|services|replicas|instances|events|audit|overview · help · q";

pub fn parse_replicas(s: &str) -> Result<u32, String> {
    let max = crate::ops::MAX_REPLICAS;
    match s.trim().parse::<u32>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(format!(
            "`{}` is not a replica count: enter a whole number 0–{max}",
            s.trim()
        )),
    }
}

/// A count of things to create, 1..=max.
pub fn parse_count(s: &str, max: u32) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{}` is not a count: enter a whole number 1–{max}",
            s.trim()
        )),
    }
}

pub fn parse(line: &str) -> Result<Command, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let arg = |i: usize, what: &str| -> Result<String, String> {
        words
            .get(i)
            .map(|s| s.to_string())
            .ok_or_else(|| format!("{} needs {what}", words.first().copied().unwrap_or("")))
    };
    let extra = |n: usize| -> Result<(), String> {
        if words.len() > n {
            Err(format!("unexpected `{}`", words[n..].join(" ")))
        } else {
            Ok(())
        }
    };
    let Some(first) = words.first() else {
        return Err(USAGE.into());
    };
    let cmd = match *first {
        "q" | "quit" | "exit" => Command::Quit { force: false },
        "q!" | "quit!" => Command::Quit { force: true },
        "scale" | "drain" | "pause" | "activate" | "promote" | "demote" | "rollback"
        | "restart" | "deploy" | "start" | "stop" | "reboot" | "terminate" => {
            parse_act(first, &words[1..])?
        }
        "add-nodes" => {
            let n = arg(1, "how many instances to launch")?;
            extra(2)?;
            Command::AddNodes {
                count: parse_count(&n, crate::ops::MAX_LAUNCH)?,
            }
        }
        "diff" => {
            let target = arg(1, "a Deployment and two revisions")?;
            let rev = |i: usize| -> Result<u64, String> {
                let r = arg(i, "two revision numbers")?;
                r.parse::<u64>()
                    .map_err(|_| format!("{r:?} is not a revision number"))
            };
            let (from, to) = (rev(2)?, rev(3)?);
            extra(4)?;
            Command::Diff { target, from, to }
        }
        "stacks" => Command::Stack(Vec::new()),
        "output" => Command::Output,
        "stack" => Command::Stack(words[1..].iter().map(|w| w.to_string()).collect()),
        "hook" => Command::Hook(words[1..].iter().map(|w| w.to_string()).collect()),
        "theme" => {
            let name = arg(1, "a theme name")?;
            extra(2)?;
            Command::Theme(name)
        }
        "context" | "ctx" => {
            let name = arg(1, "a context name")?;
            extra(2)?;
            Command::Context(name)
        }
        "help" | "h" => Command::Help,
        other => match Pane::ALL.into_iter().find(|p| p.command() == other) {
            Some(p) => Command::Pane(p),
            None => return Err(format!("unknown command `{other}` — {USAGE}")),
        },
    };
    Ok(cmd)
}

/// An operation on a named object: `scale web 5`, `drain wrk1`, `deploy web app:2`, `stop i-…`.
fn parse_act(verb: &str, args: &[&str]) -> Result<Command, String> {
    let arg = |i: usize, what: &str| -> Result<String, String> {
        args.get(i - 1)
            .map(|s| s.to_string())
            .ok_or_else(|| format!("{verb} needs {what}"))
    };
    let extra = |n: usize| -> Result<(), String> {
        if args.len() >= n {
            Err(format!("unexpected `{}`", args[n - 1..].join(" ")))
        } else {
            Ok(())
        }
    };
    let first = &verb;
    let cmd = match verb {
        "scale" => {
            // Both `scale web 5` and `scale web=5` (as docker service scale).
            let a = arg(1, "a service and a count")?;
            let (target, n) = match a.split_once('=') {
                Some((svc, n)) => {
                    extra(2)?;
                    (svc.to_string(), n.to_string())
                }
                None => {
                    let n = arg(2, "a replica count")?;
                    extra(3)?;
                    (a, n)
                }
            };
            let replicas = parse_replicas(&n)?;
            Command::Act {
                target,
                op: Op::Scale { replicas },
            }
        }
        "drain" | "pause" | "activate" | "promote" | "demote" => {
            let target = arg(1, "a node name")?;
            extra(2)?;
            let op = match *first {
                "promote" => Op::SetRole {
                    role: NodeRole::Manager,
                },
                "demote" => Op::SetRole {
                    role: NodeRole::Worker,
                },
                other => Op::SetAvailability {
                    availability: Availability::parse(other).unwrap_or(Availability::Active),
                },
            };
            Command::Act { target, op }
        }
        "rollback" | "restart" => {
            let target = arg(1, "a service name")?;
            // `rollback DEPLOYMENT REVISION`: a chosen revision (Kubernetes).
            let to_revision = match (*first, args.get(1)) {
                ("rollback", Some(r)) => Some(
                    r.parse::<u64>()
                        .map_err(|_| format!("{r:?} is not a revision number"))?,
                ),
                _ => None,
            };
            extra(if to_revision.is_some() { 3 } else { 2 })?;
            let op = if *first == "restart" {
                Op::Restart
            } else {
                Op::Rollback {
                    from_revision: None,
                    to_revision,
                }
            };
            Command::Act { target, op }
        }
        "deploy" => {
            let target = arg(1, "a service and an image")?;
            let image = arg(2, "an image with an explicit tag or digest")?;
            extra(3)?;
            Command::Act {
                target,
                op: Op::Deploy { image },
            }
        }
        "start" | "stop" | "reboot" | "terminate" => {
            let target = arg(1, "an instance id (i-…)")?;
            extra(2)?;
            let action = match *first {
                "start" => InstanceAction::Start,
                "stop" => InstanceAction::Stop,
                "reboot" => InstanceAction::Reboot,
                _ => InstanceAction::Terminate,
            };
            Command::Act {
                target,
                op: Op::Instance { action },
            }
        }
        _ => return Err(format!("unknown command `{verb}` — {USAGE}")),
    };
    Ok(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        assert_eq!(
            parse("scale web 5"),
            Ok(Command::Act {
                target: "web".into(),
                op: Op::Scale { replicas: 5 }
            })
        );
        assert_eq!(
            parse("scale web=0"),
            Ok(Command::Act {
                target: "web".into(),
                op: Op::Scale { replicas: 0 }
            })
        );
        assert_eq!(
            parse("drain wrk-03"),
            Ok(Command::Act {
                target: "wrk-03".into(),
                op: Op::SetAvailability {
                    availability: Availability::Drain
                }
            })
        );
        assert_eq!(parse("q"), Ok(Command::Quit { force: false }));
        assert_eq!(parse("nodes"), Ok(Command::Pane(Pane::Nodes)));
        assert!(parse("scale web five").is_err());
        assert!(parse("scale web -1").is_err());
        assert!(parse("scale web 5 6").is_err());
        assert!(parse("deploy web").is_err());
        assert!(parse("frobnicate").is_err());
        assert_eq!(
            parse("diff web 1 3"),
            Ok(Command::Diff {
                target: "web".into(),
                from: 1,
                to: 3
            })
        );
        assert!(parse("diff web 1").is_err());
        assert!(parse("diff web 1 x").is_err());
        assert!(parse("").is_err());
    }
}
