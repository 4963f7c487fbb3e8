//! `--wall`: the read-only display for an operations room, unattended for days.
//!
//! Read-only by construction: `Wall` holds no executor and no audit log (its `App` is built
//! with the read-only gate), the backends behind it are spawned watch-only (they have no write
//! side to send to), and its keys map to exactly four things: next set, previous set, pause the
//! rotation, quit (which asks). No prompt or modal exists here to be opened.

pub mod scrub;

use std::time::Duration;

use crossterm::event::KeyEvent;

use crate::App;
use crate::backends::BackendMsg;
use crate::input::Pane;
use crate::input::{Action, KeyChord, Mode};
use crate::model::Time;
use crate::view::{self, SortSpec};

pub use crate::incidents::{Incident, IncidentKind, Incidents};

/// An unanswered "quit?" goes away after this long; the wall keeps running.
const QUIT_ASK: Duration = Duration::from_secs(10);

/// A named group of panes shown side by side.
#[derive(Clone, Debug, PartialEq)]
pub struct PaneSet {
    pub name: String,
    pub panes: Vec<Pane>,
}

impl PaneSet {
    /// From the config's pane names (validated there).
    pub fn from_config(set: &crate::config::WallSet) -> PaneSet {
        PaneSet {
            name: set.name.clone(),
            panes: set
                .panes
                .iter()
                .filter_map(|p| Pane::ALL.into_iter().find(|x| x.command() == p))
                .filter(|p| *p != Pane::Audit)
                .collect(),
        }
    }
}

pub struct Wall {
    /// The store and the pane renderers' state. Its gate is the read-only one: no executor.
    pub app: App,
    pub sets: Vec<PaneSet>,
    /// Position in the rotation over (context × set).
    pub step: usize,
    pub paused: bool,
    /// Pinned to one set: the rotation stays on it (contexts still rotate).
    pub pinned: Option<usize>,
    pub rotate_every: Duration,
    /// When the current step came on screen.
    pub shown_since: Time,
    /// When "quit?" was asked, while it waits for an answer.
    pub quit_asked: Option<Time>,
}

impl Wall {
    pub fn new(
        app: App,
        sets: Vec<PaneSet>,
        pin: Option<&str>,
        rotate_every: Duration,
        now: Time,
    ) -> Wall {
        let sets = if sets.is_empty() {
            vec![PaneSet {
                name: "health".into(),
                panes: vec![Pane::Overview, Pane::Nodes],
            }]
        } else {
            sets
        };
        let pinned = pin.and_then(|p| sets.iter().position(|s| s.name == p));
        let mut app = app;
        // Worst first: among a thousand nodes the down one must be on screen, not on row 500.
        for (pane, column) in [(Pane::Nodes, "health"), (Pane::Services, "availability")] {
            if let Some(i) = view::sort_columns(pane).iter().position(|c| *c == column) {
                app.ui.sort.insert(
                    pane,
                    SortSpec {
                        column: i,
                        reverse: false,
                    },
                );
            }
        }
        let mut wall = Wall {
            app,
            sets,
            step: 0,
            paused: false,
            pinned,
            rotate_every,
            shown_since: now,
            quit_asked: None,
        };
        wall.show_step();
        wall
    }

    fn contexts(&self) -> usize {
        self.app.store.clusters.len().max(1)
    }

    /// Sets shown per context: all of them, or only the pinned one.
    fn per_context(&self) -> usize {
        if self.pinned.is_some() {
            1
        } else {
            self.sets.len()
        }
    }

    /// How many steps the rotation has: every shown set of every context.
    fn steps(&self) -> usize {
        self.per_context() * self.contexts()
    }

    /// The set on screen now.
    pub fn set(&self) -> &PaneSet {
        let i = match self.pinned {
            Some(p) => p,
            None => self.step % self.sets.len(),
        };
        &self.sets[i.min(self.sets.len() - 1)]
    }

    /// The context whose panes are on screen now.
    pub fn context(&self) -> usize {
        (self.step / self.per_context()) % self.contexts()
    }

    fn show_step(&mut self) {
        self.step %= self.steps();
        self.app.ui.context = self.context();
    }

    fn rotate(&mut self, forward: bool, now: Time) {
        let n = self.steps();
        self.step = if forward {
            (self.step + 1) % n
        } else {
            (self.step + n - 1) % n
        };
        self.shown_since = now;
        self.show_step();
    }

    /// Seconds until the next rotation; None when paused or nothing rotates.
    pub fn next_rotation_in(&self, now: Time) -> Option<u64> {
        if self.paused || self.steps() <= 1 {
            return None;
        }
        let shown = (now - self.shown_since).num_seconds().max(0) as u64;
        Some(self.rotate_every.as_secs().saturating_sub(shown))
    }

    /// A backend message: secrets scrubbed, applied, incidents recomputed on a change.
    pub fn on_backend(&mut self, msg: BackendMsg, now: Time) -> bool {
        let changed = self.apply(msg);
        if changed {
            self.settle(now);
        }
        changed
    }

    /// Applies one message (secrets scrubbed first); `settle` must follow a change. The run loop
    /// applies a whole burst, then settles once.
    pub fn apply(&mut self, msg: BackendMsg) -> bool {
        match msg {
            m @ (BackendMsg::Snapshot { .. }
            | BackendMsg::Changes { .. }
            | BackendMsg::Health { .. }) => self.app.store.apply(scrub::scrub(m)),
            // Operation progress, logs and tags have no place here (and none are asked for).
            _ => false,
        }
    }

    /// After changes: the incidents again, and the rotation over a context count that changed.
    pub fn settle(&mut self, now: Time) {
        self.app.settle(now);
        self.show_step();
    }

    /// The incident engine (the console's own).
    pub fn incidents(&self) -> &Incidents {
        &self.app.incidents
    }

    /// Once a second: rotate when due, let an unanswered "quit?" lapse. Returns whether the
    /// screen changes (ages move on every second anyway).
    pub fn tick(&mut self, now: Time) -> bool {
        if let Some(asked) = self.quit_asked
            && (now - asked).to_std().unwrap_or_default() >= QUIT_ASK
        {
            self.quit_asked = None;
        }
        if self.next_rotation_in(now) == Some(0) {
            self.rotate(true, now);
        }
        // Acks and notes of the consoles on this host; incidents that only time opens.
        self.app.sync_timeline();
        self.app.settle(now);
        // Ages and durations move on every second.
        true
    }

    /// The wall's keys. Everything not bound in `[keys.wall]` is ignored.
    pub fn on_key(&mut self, ev: KeyEvent, now: Time) -> bool {
        let action = KeyChord::from_event(&ev).and_then(|c| self.app.keymap.action(Mode::Wall, c));
        if self.quit_asked.is_some() {
            // Any answer but yes keeps the wall running.
            if matches!(action, Some(Action::Confirm)) {
                self.app.should_quit = true;
            }
            self.quit_asked = None;
            return true;
        }
        match action {
            Some(Action::NextPane) => self.rotate(true, now),
            Some(Action::PrevPane) => self.rotate(false, now),
            Some(Action::PauseRotation) => {
                self.paused = !self.paused;
                self.shown_since = now;
            }
            Some(Action::Quit) => self.quit_asked = Some(now),
            _ => return false,
        }
        true
    }

    pub fn should_quit(&self) -> bool {
        self.app.should_quit
    }
}
