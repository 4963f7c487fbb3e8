//! One-line text input at the bottom: the pane filter, the log search, the `:` command line and
//! the prompts of actions that need a value (replicas, an image, a count). What was typed is
//! kept when it is refused, with the reason under it.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::backends::BackendMsg;
use crate::command::{self, Command};
use crate::model::Target;
use crate::ops::{Op, OpRequest};
use crate::state::{App, Modal};

/// What a prompt asks a value for.
#[derive(Clone, Debug, PartialEq)]
pub enum PromptKind {
    Scale {
        target: Target,
    },
    Deploy {
        target: Target,
    },
    /// How many instances "add node" launches.
    AddNodes,
    /// Which revision a Deployment rolls back to (those kept, newest first).
    RollbackTo {
        target: Target,
        revisions: Vec<crate::model::Revision>,
        current: u64,
    },
    /// A shell's command (default from `[ssh] exec_command`), or in production the target's
    /// name typed, before a session opens.
    Session {
        session: crate::ops::Session,
        production: bool,
    },
    /// A variable a compose file uses, unset and without a default: its value, then the
    /// plan again with it (`args` as typed after `stack deploy`).
    StackVar {
        args: Vec<String>,
        var: String,
    },
    /// A pipeline hook's parameter, the ones already given kept.
    HookParam {
        hook: String,
        values: std::collections::BTreeMap<String, String>,
        param: String,
        rule: Option<String>,
        secret: bool,
    },
    /// An ack (with an optional note) or a note on an incident.
    Annotate {
        key: String,
        ack: bool,
        summary: String,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum InputKind {
    Filter,
    /// Search inside the log view.
    LogSearch,
    /// Search inside the describe view.
    DescribeSearch,
    Command,
    Prompt(PromptKind),
}

/// A one-line text input at the bottom (filter, `:` command, or an action's prompt).
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    pub kind: InputKind,
    pub text: String,
    /// Shown under the input; the text is kept so nothing typed is lost.
    pub error: Option<String>,
}

impl Input {
    pub fn new(kind: InputKind, text: impl Into<String>) -> Input {
        Input {
            kind,
            text: text.into(),
            error: None,
        }
    }
}

impl App {
    pub(crate) fn on_input_key(&mut self, ev: KeyEvent) {
        let Some(input) = self.ui.input.as_mut() else {
            return;
        };
        match ev.code {
            KeyCode::Esc => {
                match input.kind {
                    InputKind::Filter => {
                        self.ui.filters.remove(&self.ui.pane);
                    }
                    InputKind::LogSearch => self.logs.search.clear(),
                    InputKind::DescribeSearch => self.describe.search.clear(),
                    _ => {}
                }
                self.ui.input = None;
            }
            KeyCode::Enter => {
                let input = input.clone();
                self.submit_input(input);
            }
            KeyCode::Tab if matches!(input.kind, InputKind::Prompt(PromptKind::Deploy { .. })) => {
                self.next_tag();
            }
            KeyCode::Backspace => {
                input.text.pop();
                input.error = None;
                self.text_changed();
            }
            KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => {
                input.text.push(c);
                input.error = None;
                self.text_changed();
            }
            _ => {}
        }
    }

    /// Asks the image's registry for its tags in the background; the answer arrives as
    /// `BackendMsg::Tags` through the run loop.
    pub(crate) fn fetch_tags(&mut self, image: &str) {
        self.tags = None;
        let (Some(tx), Ok(rt)) = (self.self_tx.clone(), tokio::runtime::Handle::try_current())
        else {
            return;
        };
        let image = image.to_string();
        rt.spawn(async move {
            let img = image.clone();
            if let Ok(Ok(tags)) =
                tokio::task::spawn_blocking(move || crate::backends::registry::fetch_tags(&img))
                    .await
            {
                let _ = tx.send(BackendMsg::Tags { image, tags }).await;
            }
        });
    }

    /// Tab in the deploy prompt: the next tag the registry offers, keeping the repository.
    fn next_tag(&mut self) {
        let Some((repo, tags)) = &self.tags else {
            return;
        };
        let Some(input) = self.ui.input.as_mut() else {
            return;
        };
        if tags.is_empty() {
            return;
        }
        let (container, image) = crate::ops::split_container(&input.text);
        let prefix = container.map(|c| format!("{c}=")).unwrap_or_default();
        let (cur_repo, cur_tag, _) = crate::ops::parse_image_ref(image);
        let repo = if cur_repo.is_empty() {
            repo.clone()
        } else {
            cur_repo
        };
        let next = match cur_tag.and_then(|t| tags.iter().position(|x| *x == t)) {
            Some(i) => &tags[(i + 1) % tags.len()],
            None => &tags[0],
        };
        input.text = format!("{prefix}{repo}:{next}");
        input.error = None;
    }

    /// Inputs that act as you type: the pane filter and the log search.
    fn text_changed(&mut self) {
        let Some(input) = &self.ui.input else { return };
        let text = input.text.clone();
        match input.kind {
            InputKind::Filter => {
                self.ui.filters.insert(self.ui.pane, text);
                self.ui.selected.insert(self.ui.pane, 0);
            }
            InputKind::LogSearch => {
                self.logs.search = text;
                self.logs.scroll = 0;
            }
            InputKind::DescribeSearch => {
                self.describe.search = text;
                self.describe.scroll = 0;
            }
            _ => {}
        }
    }

    fn submit_input(&mut self, input: Input) {
        let cluster = self.cluster_name();
        let result = match &input.kind {
            InputKind::Filter | InputKind::LogSearch | InputKind::DescribeSearch => {
                self.ui.input = None;
                return;
            }
            InputKind::Command => command::parse(&input.text).and_then(|c| self.run_command(c)),
            InputKind::Prompt(PromptKind::Scale { target }) => command::parse_replicas(&input.text)
                .and_then(|replicas| {
                    let req = OpRequest::new(cluster, target.clone(), Op::Scale { replicas });
                    self.begin_op(req)
                }),
            InputKind::Prompt(PromptKind::AddNodes) => {
                command::parse_count(&input.text, crate::ops::MAX_LAUNCH)
                    .and_then(|count| self.run_command(Command::AddNodes { count }))
            }
            InputKind::Prompt(PromptKind::RollbackTo { target, .. }) => {
                match input.text.trim().parse::<u64>() {
                    Ok(n) if n > 0 => {
                        let req = OpRequest::new(
                            cluster,
                            target.clone(),
                            Op::Rollback {
                                from_revision: None,
                                to_revision: Some(n),
                            },
                        );
                        self.begin_op(req)
                    }
                    _ => Err(format!(
                        "{:?} is not a revision number: type one of those listed",
                        input.text.trim()
                    )),
                }
            }
            InputKind::Prompt(PromptKind::Session {
                session,
                production,
            }) => {
                let (s, p) = (session.clone(), *production);
                self.submit_session(&s, p, &input.text)
            }
            InputKind::Prompt(PromptKind::StackVar { args, var }) => {
                let mut args = args.clone();
                args.push(format!("{var}={}", input.text.trim()));
                self.stack_plan(&args)
            }
            InputKind::Prompt(PromptKind::HookParam {
                hook,
                values,
                param,
                ..
            }) => {
                let (h, v, p) = (hook.clone(), values.clone(), param.clone());
                self.submit_hook_param(&h, &v, &p, &input.text)
            }
            InputKind::Prompt(PromptKind::Annotate { key, ack, .. }) => {
                if !*ack && input.text.trim().is_empty() {
                    Err("type the note (esc cancels)".into())
                } else {
                    let (key, ack) = (key.clone(), *ack);
                    self.annotate(&key, ack, &input.text)
                }
            }
            InputKind::Prompt(PromptKind::Deploy { target }) => {
                let image = input.text.trim().to_string();
                if image.is_empty() {
                    Err("enter an image with an explicit tag or digest".into())
                } else {
                    let req = OpRequest::new(cluster, target.clone(), Op::Deploy { image });
                    self.begin_op(req)
                }
            }
        };
        match result {
            Ok(()) => {
                if self.ui.input.as_ref() == Some(&input) {
                    self.ui.input = None;
                }
            }
            // Keep what was typed; show why it was not accepted.
            Err(e) => {
                if let Some(i) = self.ui.input.as_mut() {
                    i.error = Some(e);
                }
            }
        }
    }

    fn run_command(&mut self, c: Command) -> Result<(), String> {
        let cluster = self.cluster_name();
        match c {
            Command::Quit { force } => {
                self.ui.input = None;
                self.request_quit(force);
                Ok(())
            }
            Command::Act { target, op } => self.begin_op(OpRequest::named(cluster, target, op)),
            Command::AddNodes { count } => {
                let launch =
                    self.launch.get(&cluster).cloned().ok_or_else(|| {
                        format!("context {cluster} has no aws.launch in config.toml")
                    })?;
                self.begin_op(OpRequest::add_nodes(cluster, count, launch))
            }
            Command::Diff { target, from, to } => self.open_revision_diff(&target, from, to),
            Command::Stack(args) => self.stack_command(&args),
            Command::Hook(args) => self.run_hook(&args),
            Command::Output => self.reopen_output(),
            Command::Theme(name) => self.set_theme(&name),
            Command::Pane(p) => {
                self.ui.input = None;
                self.go_pane(p);
                Ok(())
            }
            Command::Context(name) => match self.store.clusters.iter().position(|c| c.name == name)
            {
                Some(i) => {
                    self.ui.context = i;
                    self.ui.input = None;
                    Ok(())
                }
                None => Err(format!("no context named {name}")),
            },
            Command::Help => {
                self.ui.input = None;
                self.ui.modal = Some(Modal::Help { scroll: 0 });
                Ok(())
            }
        }
    }
}
