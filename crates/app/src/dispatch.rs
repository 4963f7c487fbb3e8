//! Keys in, actions routed: a key becomes an `Action` through the keymap of the current mode,
//! and `dispatch` sends each action to the one place that handles it. Mutating actions all go
//! through `act` (requests.rs), after the one read-only check on this side of the gate.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::input::{Action, KeyChord, Mode};
use crate::model::Severity;
use crate::prompt::{Input, InputKind};
use crate::state::{App, Modal};
use crate::view;

impl App {
    /// Handles one key press; returns whether a redraw is needed.
    pub fn on_key(&mut self, ev: KeyEvent) -> bool {
        // ctrl-c always gets out, through the same quit path as `q`.
        if ev.code == KeyCode::Char('c') && ev.modifiers.contains(KeyModifiers::CONTROL) {
            self.request_quit(false);
            return true;
        }
        if self.ui.input.is_some() {
            self.on_input_key(ev);
            return true;
        }
        if let Some(Modal::Message { .. } | Modal::Instance { .. }) = self.ui.modal {
            self.ui.modal = None;
            return true;
        }
        let Some(chord) = KeyChord::from_event(&ev) else {
            return false;
        };
        if self.typed_confirmation(&ev) {
            return true;
        }
        if matches!(self.ui.modal, Some(Modal::Logs))
            && self.keymap.action(Mode::Normal, chord) == Some(Action::Filter)
        {
            let search = self.logs.search.clone();
            self.ui.input = Some(Input::new(InputKind::LogSearch, search));
            return true;
        }
        if matches!(self.ui.modal, Some(Modal::Stacks { .. }))
            && self.keymap.action(Mode::Normal, chord) == Some(Action::Drill)
        {
            self.stacks_key(Action::Drill);
            return true;
        }
        if matches!(self.ui.modal, Some(Modal::Describe))
            && self.keymap.action(Mode::Normal, chord) == Some(Action::Filter)
        {
            let search = self.describe.search.clone();
            self.ui.input = Some(Input::new(InputKind::DescribeSearch, search));
            return true;
        }
        match self.keymap.action(self.mode(), chord) {
            Some(a) => {
                self.dispatch(a);
                true
            }
            None => false,
        }
    }

    /// The confirm modal takes printable keys as text: into the reason field, or into the
    /// typed confirmation when the plan asks for the target to be typed.
    fn typed_confirmation(&mut self, ev: &KeyEvent) -> bool {
        let Some(Modal::Confirm {
            typed,
            reason,
            on_reason,
            error,
            ..
        }) = &mut self.ui.modal
        else {
            return false;
        };
        let field = if *on_reason { reason } else { typed };
        match ev.code {
            KeyCode::Char(c) if !ev.modifiers.contains(KeyModifiers::CONTROL) => {
                field.push(c);
                *error = None;
                true
            }
            KeyCode::Backspace => {
                field.pop();
                true
            }
            _ => false,
        }
    }

    /// Routes an action to the handler of the current mode.
    pub fn dispatch(&mut self, a: Action) {
        if a.is_mutating() && self.read_only_here() {
            let why = if self.gate.is_read_only() {
                "read-only mode".to_string()
            } else {
                format!("context {} is read-only (config)", self.cluster_name())
            };
            self.refuse(format!("{why}: {} is not available", a.name()));
            return;
        }
        match self.mode() {
            Mode::Help if matches!(self.ui.modal, Some(Modal::Logs)) => self.log_key(a),
            Mode::Help if matches!(self.ui.modal, Some(Modal::Describe)) => self.describe_key(a),
            Mode::Help if matches!(self.ui.modal, Some(Modal::Stacks { .. })) => self.stacks_key(a),
            Mode::Help => self.help_key(a),
            Mode::Confirm => self.confirm_key(a),
            Mode::Normal | Mode::Wall if a.is_mutating() => self.act(a),
            Mode::Normal | Mode::Wall => self.normal(a),
        }
    }

    fn help_key(&mut self, a: Action) {
        if let Some(Modal::Help { scroll }) = &mut self.ui.modal {
            match a {
                Action::Up => *scroll = scroll.saturating_sub(1),
                Action::Down => *scroll = scroll.saturating_add(1),
                Action::PageUp => *scroll = scroll.saturating_sub(10),
                Action::PageDown => *scroll = scroll.saturating_add(10),
                Action::Back => self.ui.modal = None,
                _ => {}
            }
        }
    }

    fn confirm_key(&mut self, a: Action) {
        match a {
            Action::Cancel => {
                self.ui.modal = None;
                self.status("cancelled", Severity::Info);
            }
            Action::SwitchButton => match &mut self.ui.modal {
                Some(Modal::Confirm { on_confirm, .. }) => *on_confirm = !*on_confirm,
                Some(Modal::QuitConfirm { on_quit }) => *on_quit = !*on_quit,
                _ => {}
            },
            Action::Confirm => self.confirm_pressed(),
            Action::NextField => {
                if let Some(Modal::Confirm {
                    pending, on_reason, ..
                }) = &mut self.ui.modal
                    && pending.plan().confirm_text.is_some()
                {
                    *on_reason = !*on_reason;
                }
            }
            _ => {}
        }
    }

    /// Everything that changes no cluster: moving, views, inputs, quitting.
    fn normal(&mut self, a: Action) {
        match a {
            Action::Up => self.move_selection(-1),
            Action::Down => self.move_selection(1),
            Action::PageUp => self.page(false),
            Action::PageDown => self.page(true),
            Action::Top => self.select_edge(false),
            Action::Bottom => self.select_edge(true),
            Action::NextPane => self.cycle_pane(true),
            Action::PrevPane => self.cycle_pane(false),
            Action::GoPane(p) => self.go_pane(p),
            Action::Drill => self.drill(),
            Action::Back => self.back(),
            Action::Filter => {
                let text = self.ui.filter(self.ui.pane).to_string();
                self.ui.input = Some(Input::new(InputKind::Filter, text));
            }
            Action::Command => self.ui.input = Some(Input::new(InputKind::Command, "")),
            Action::Help => self.ui.modal = Some(Modal::Help { scroll: 0 }),
            Action::Quit => self.request_quit(false),
            Action::Sort => self.next_sort(),
            Action::SortReverse => {
                let s = self.ui.sort.entry(self.ui.pane).or_default();
                s.reverse = !s.reverse;
            }
            Action::History => {
                self.ui.history = !self.ui.history;
                let msg = if self.ui.history {
                    "showing task history"
                } else {
                    "hiding task history"
                };
                self.status(msg, Severity::Info);
            }
            Action::NextContext => {
                let n = self.store.clusters.len().max(1);
                self.ui.context = (self.ui.context + 1) % n;
            }
            Action::Theme => self.next_theme(),
            Action::Logs => self.open_logs(),
            Action::Stacks => self.open_stacks(),
            Action::NextProblem => self.jump_next(),
            Action::Describe => self.open_describe(),
            Action::Ack => self.begin_note(true),
            Action::Note => self.begin_note(false),
            _ => {}
        }
    }

    fn next_sort(&mut self) {
        let cols = view::sort_columns(self.ui.pane);
        let s = self.ui.sort.entry(self.ui.pane).or_default();
        s.column = (s.column + 1) % cols.len();
        let name = cols[s.column];
        self.status(format!("sorted by {name}"), Severity::Info);
    }

    fn next_theme(&mut self) {
        let names = crate::theme::Theme::builtin_names();
        let i = names
            .iter()
            .position(|n| *n == self.theme.name)
            .map_or(0, |i| (i + 1) % names.len());
        let _ = self.set_theme(names[i]);
    }
}
