//! The run loop: keys, backend messages and a one-second age tick come in; state is updated;
//! a frame is drawn only when something changed, at most `fps` times a second.

use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

use crate::backends::BackendMsg;
use crate::terminal::TerminalGuard;

use crate::app::App;

/// Backend messages applied per wake-up before drawing, so a burst becomes one frame.
const DRAIN_LIMIT: usize = 512;

pub async fn run(
    app: &mut App,
    mut rx: mpsc::Receiver<BackendMsg>,
    fps: u32,
) -> color_eyre::Result<()> {
    let mut guard = TerminalGuard::enter()?;
    let mut events = EventStream::new();
    let budget = Duration::from_secs(1) / fps.clamp(1, 60);
    let mut ages = interval(Duration::from_secs(1));
    ages.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut dirty = true;
    let mut last_draw = Instant::now() - budget;
    let mut backends_open = true;
    loop {
        let next_draw = last_draw + budget;
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind != KeyEventKind::Release => dirty |= app.on_key(k),
                Some(Ok(Event::Resize(_, _))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            msg = rx.recv(), if backends_open => match msg {
                Some(m) => {
                    dirty |= app.on_backend(m);
                    for _ in 0..DRAIN_LIMIT {
                        match rx.try_recv() {
                            Ok(m) => dirty |= app.on_backend(m),
                            Err(_) => break,
                        }
                    }
                }
                None => backends_open = false,
            },
            // Relative ages ("3m ago") move on; the diffing backend writes only what changed.
            _ = ages.tick() => {
                app.refresh_audit();
                dirty = true;
            }
            _ = sleep_until(next_draw), if dirty => {}
        }
        if app.should_quit {
            break;
        }
        if dirty && Instant::now() >= last_draw + budget {
            let now = chrono::Utc::now();
            guard.terminal.draw(|f| crate::ui::draw(f, app, now))?;
            last_draw = Instant::now();
            dirty = false;
        }
    }
    drop(guard);
    app.shutdown();
    Ok(())
}
