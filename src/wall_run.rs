//! The wall's loop: at most one frame a second, whatever arrives. Keys, backend messages and a
//! one-second tick come in; SIGHUP (the SSH session is gone) and SIGTERM end it cleanly, with
//! the terminal restored if there still is one.

use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

use crate::backends::BackendMsg;
use crate::terminal::TerminalGuard;

use crate::wall::Wall;

/// One frame a second at most: the wall is read from across a room, not typed at.
const FRAME: Duration = Duration::from_secs(1);
/// Backend messages applied per wake-up before drawing.
const DRAIN_LIMIT: usize = 512;

/// Why the wall stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    Quit,
    /// SIGHUP: the terminal (or SSH session) went away.
    HangUp,
    Terminated,
    /// The terminal stopped delivering input.
    InputClosed,
}

pub async fn run(wall: &mut Wall, mut rx: mpsc::Receiver<BackendMsg>) -> color_eyre::Result<Ended> {
    let mut hangup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut guard = TerminalGuard::enter()?;
    let mut events = EventStream::new();
    let mut tick = interval(FRAME);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    let mut backends_open = true;
    let ended = loop {
        let next_draw = last_draw + FRAME;
        tokio::select! {
            biased;
            _ = hangup.recv() => break Ended::HangUp,
            _ = term.recv() => break Ended::Terminated,
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => {
                    dirty |= wall.on_key(k, chrono::Utc::now());
                }
                Some(Ok(Event::Resize(_, _))) => dirty = true,
                Some(Ok(_)) => {}
                // A terminal that errors or closes is gone: stop, do not spin on it.
                Some(Err(_)) | None => break Ended::InputClosed,
            },
            msg = rx.recv(), if backends_open => match msg {
                Some(m) => {
                    // A burst is applied whole, then the incidents are recomputed once.
                    let mut changed = wall.apply(m);
                    for _ in 0..DRAIN_LIMIT {
                        match rx.try_recv() {
                            Ok(m) => changed |= wall.apply(m),
                            Err(_) => break,
                        }
                    }
                    if changed {
                        wall.settle(chrono::Utc::now());
                    }
                    dirty |= changed;
                }
                None => backends_open = false,
            },
            _ = tick.tick() => dirty |= wall.tick(chrono::Utc::now()),
            _ = sleep_until(next_draw), if dirty => {}
        }
        if wall.should_quit() {
            break Ended::Quit;
        }
        if dirty && Instant::now() >= last_draw + FRAME {
            let now = chrono::Utc::now();
            guard
                .terminal
                .draw(|f| crate::ui::wall::draw(f, wall, now))?;
            last_draw = Instant::now();
            dirty = false;
        }
    };
    drop(guard);
    Ok(ended)
}
