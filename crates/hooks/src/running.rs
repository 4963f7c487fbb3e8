//! The handle of a started hook (its events and its cancel), and the sending side the runners
//! use.

use tokio::sync::{mpsc, watch};

use crate::event::{Event, Outcome};
use crate::param::Redactor;

/// Events a run may queue before it waits for the reader (output lines then wait too: a
/// command blocks on its pipe, as it would on a terminal).
const QUEUE: usize = 1024;

/// A started hook.
#[derive(Debug)]
pub struct Running {
    /// The run's events in order, [`Event::Done`] last.
    pub events: mpsc::Receiver<Event>,
    /// Cancels the run when told to or when dropped.
    pub cancel: CancelHandle,
}

impl Running {
    /// Cancels the run; [`Event::Done`] with [`Outcome::Cancelled`] follows once it stopped.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }
}

/// Cancels a run: by [`CancelHandle::cancel`], or by being dropped (then nobody hears the
/// outcome).
#[derive(Debug)]
pub struct CancelHandle(watch::Sender<bool>);

impl CancelHandle {
    pub fn cancel(&self) {
        self.0.send_replace(true);
    }
}

/// The runner's side of the cancel.
#[derive(Debug, Clone)]
pub(crate) struct Cancelled(watch::Receiver<bool>);

impl Cancelled {
    /// Resolves once the run is cancelled or its handle is gone.
    pub(crate) async fn wait(&mut self) {
        loop {
            if *self.0.borrow_and_update() {
                return;
            }
            if self.0.changed().await.is_err() {
                return;
            }
        }
    }
}

/// The reader is gone or the run was cancelled: stop.
#[derive(Debug)]
pub(crate) struct Stopped;

/// Sends a run's events, secrets masked.
#[derive(Debug)]
pub(crate) struct Emitter {
    tx: mpsc::Sender<Event>,
    redact: Redactor,
}

impl Emitter {
    pub(crate) fn redact_also(&mut self, secret: &str) {
        self.redact.add(secret);
    }

    pub(crate) async fn line(&self, text: String) -> Result<(), Stopped> {
        self.send(Event::Line(self.redact.apply(text))).await
    }

    pub(crate) async fn lines(&self, lines: Vec<String>) -> Result<(), Stopped> {
        for l in lines {
            self.line(l).await?;
        }
        Ok(())
    }

    pub(crate) async fn stage(&self, text: String) -> Result<(), Stopped> {
        self.send(Event::Stage(self.redact.apply(text))).await
    }

    /// The last event. Nobody may be listening any more; that is fine.
    pub(crate) async fn done(self, outcome: Outcome) {
        let outcome = match outcome {
            Outcome::Failed(why) => Outcome::Failed(self.redact.apply(why)),
            o => o,
        };
        let _ = self.tx.send(Event::Done(outcome)).await;
    }

    /// The last event of a run that never started (the queue is empty: it fits).
    pub(crate) fn done_now(self, outcome: Outcome) {
        let outcome = match outcome {
            Outcome::Failed(why) => Outcome::Failed(self.redact.apply(why)),
            o => o,
        };
        let _ = self.tx.try_send(Event::Done(outcome));
    }

    async fn send(&self, event: Event) -> Result<(), Stopped> {
        self.tx.send(event).await.map_err(|_| Stopped)
    }
}

/// A new run's three parts: the handle for the app, the emitter and the cancel for the runner.
pub(crate) fn channel(redact: Redactor) -> (Running, Emitter, Cancelled) {
    let (tx, events) = mpsc::channel(QUEUE);
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let running = Running {
        events,
        cancel: CancelHandle(cancel_tx),
    };
    (running, Emitter { tx, redact }, Cancelled(cancel_rx))
}
