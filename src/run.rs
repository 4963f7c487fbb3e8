//! The run loop, one for the console and the wall: keys, backend messages and a one-second
//! tick come in; state is updated; a frame is drawn only when something changed, at most once
//! per frame budget (1/fps interactive, one second on the wall). SIGHUP (the SSH session is
//! gone) and SIGTERM end it cleanly, with the terminal restored where there still is one.

use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEvent, KeyEventKind};
use futures_util::StreamExt;
use ratatui::Frame;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

use crate::app::App;
use crate::backends::BackendMsg;
use crate::model::Time;
use crate::terminal::TerminalGuard;
use crate::wall::Wall;

/// Backend messages applied per wake-up before drawing, so a burst becomes one frame.
const DRAIN_LIMIT: usize = 512;

/// Why the loop stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    Quit,
    /// SIGHUP: the terminal (or SSH session) went away.
    HangUp,
    Terminated,
    /// The terminal stopped delivering input.
    InputClosed,
}

impl Ended {
    /// How the audit log says it.
    pub fn reason(self) -> &'static str {
        match self {
            Ended::Quit => "quit",
            Ended::HangUp => "SIGHUP",
            Ended::Terminated => "SIGTERM",
            Ended::InputClosed => "the terminal closed",
        }
    }
}

/// What the loop drives: the interactive console or the wall.
pub trait Screen {
    fn on_key(&mut self, key: KeyEvent, now: Time) -> bool;
    /// One backend message; `settle` follows a burst that changed something.
    fn on_backend(&mut self, msg: BackendMsg) -> bool;
    fn settle(&mut self, _now: Time) {}
    /// Once a second: ages move on, rotations fall due.
    fn tick(&mut self, now: Time) -> bool;
    fn draw(&self, f: &mut Frame, now: Time);
    fn should_quit(&self) -> bool;
    /// A bell is due (a new critical incident), once.
    fn take_bell(&mut self) -> bool {
        false
    }
    /// An interactive session to hand the terminal to (argv), once.
    fn take_session(&mut self) -> Option<Vec<String>> {
        None
    }
    fn session_ended(&mut self, _ended: Result<i32, String>, _took: Duration) {}
}

impl Screen for App {
    fn on_key(&mut self, key: KeyEvent, _: Time) -> bool {
        App::on_key(self, key)
    }
    fn on_backend(&mut self, msg: BackendMsg) -> bool {
        App::on_backend(self, msg)
    }
    fn settle(&mut self, now: Time) {
        App::settle(self, now)
    }
    fn tick(&mut self, now: Time) -> bool {
        // Relative ages ("3m ago") move on; the diffing backend writes only what changed.
        self.refresh_audit();
        self.sync_timeline();
        // Incidents that only time opens or closes (grace periods, crash-loop windows).
        App::settle(self, now);
        self.show_usage();
        true
    }
    fn take_bell(&mut self) -> bool {
        App::take_bell(self)
    }
    fn take_session(&mut self) -> Option<Vec<String>> {
        App::take_session(self)
    }
    fn session_ended(&mut self, ended: Result<i32, String>, took: Duration) {
        App::session_ended(self, ended, took)
    }
    fn draw(&self, f: &mut Frame, now: Time) {
        crate::ui::draw(f, self, now)
    }
    fn should_quit(&self) -> bool {
        self.should_quit
    }
}

impl Screen for Wall {
    fn on_key(&mut self, key: KeyEvent, now: Time) -> bool {
        Wall::on_key(self, key, now)
    }
    fn on_backend(&mut self, msg: BackendMsg) -> bool {
        self.apply(msg)
    }
    fn settle(&mut self, now: Time) {
        Wall::settle(self, now)
    }
    fn tick(&mut self, now: Time) -> bool {
        Wall::tick(self, now)
    }
    fn draw(&self, f: &mut Frame, now: Time) {
        crate::ui::wall::draw(f, self, now)
    }
    fn should_quit(&self) -> bool {
        Wall::should_quit(self)
    }
    fn take_bell(&mut self) -> bool {
        self.app.take_bell()
    }
}

pub async fn run<S: Screen>(
    screen: &mut S,
    mut rx: mpsc::Receiver<BackendMsg>,
    frame: Duration,
) -> color_eyre::Result<Ended> {
    let mut hangup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut guard = TerminalGuard::enter()?;
    let mut events = EventStream::new();
    let mut tick = interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut dirty = true;
    let mut last_draw = Instant::now() - frame;
    let mut backends_open = true;
    let ended = loop {
        let next_draw = last_draw + frame;
        tokio::select! {
            biased;
            _ = hangup.recv() => break Ended::HangUp,
            _ = term.recv() => break Ended::Terminated,
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                    dirty |= screen.on_key(k, chrono::Utc::now());
                    if let Some(argv) = screen.take_session() {
                        // The session reads the terminal: no one else may.
                        drop(events);
                        let (ended, took) = session(&argv).await;
                        guard.resume()?;
                        events = EventStream::new();
                        screen.session_ended(ended, took);
                        dirty = true;
                    }
                }
                Some(Ok(Event::Resize(_, _))) => dirty = true,
                Some(Ok(_)) => {}
                // A terminal that errors or closes is gone: stop, do not spin on it.
                Some(Err(_)) | None => break Ended::InputClosed,
            },
            msg = rx.recv(), if backends_open => match msg {
                Some(m) => {
                    // A burst is applied whole, then settled once.
                    let mut changed = screen.on_backend(m);
                    for _ in 0..DRAIN_LIMIT {
                        match rx.try_recv() {
                            Ok(m) => changed |= screen.on_backend(m),
                            Err(_) => break,
                        }
                    }
                    if changed {
                        screen.settle(chrono::Utc::now());
                    }
                    dirty |= changed;
                }
                None => backends_open = false,
            },
            _ = tick.tick() => dirty |= screen.tick(chrono::Utc::now()),
            _ = sleep_until(next_draw), if dirty => {}
        }
        if screen.should_quit() {
            break Ended::Quit;
        }
        if dirty && Instant::now() >= last_draw + frame {
            let now = chrono::Utc::now();
            guard.terminal.draw(|f| screen.draw(f, now))?;
            if screen.take_bell() {
                use std::io::Write;
                let mut out = std::io::stdout();
                let _ = out.write_all(b"\x07").and_then(|()| out.flush());
            }
            last_draw = Instant::now();
            dirty = false;
        }
    };
    drop(guard);
    Ok(ended)
}

/// Hands the terminal to `argv` (ssh, a shell in a container) in cooked mode on the normal
/// screen, waits for it, and takes the terminal back, whatever way it ended.
async fn session(argv: &[String]) -> (Result<i32, String>, Duration) {
    let started = std::time::Instant::now();
    let Some((prog, args)) = argv.split_first() else {
        return (Err("nothing to run".into()), Duration::ZERO);
    };
    crate::terminal::restore();
    {
        use std::io::Write;
        let mut out = std::io::stdout();
        let _ = writeln!(
            out,
            "clusterdeck: {} (exit it to come back to the console)",
            argv.join(" ")
        );
        let _ = out.flush();
    }
    let ended = match tokio::process::Command::new(prog).args(args).status().await {
        Ok(st) => match st.code() {
            Some(c) => Ok(c),
            None => Err(format!("{prog} was ended by a signal ({st})")),
        },
        Err(e) => Err(format!("cannot run {prog}: {e}")),
    };
    (ended, started.elapsed())
}
