//! Pipeline hooks: a configured command or a Jenkins job, run with the parameters the operator
//! typed, its output streamed line by line and its result reported.
//!
//! The app parses the configuration into a [`Hook`], checks it with [`check`] when it loads,
//! validates each typed value with [`validate`] on the prompt line, records
//! [`redacted`] values in the audit log, and calls [`start`]. This crate does the running:
//!
//! ```text
//! pub fn check(hook: &Hook) -> Result<(), String>
//! pub fn validate(param: &Param, value: &str) -> Result<(), String>
//! pub fn expand(template: &str, values: &BTreeMap<String, String>) -> Result<String, String>
//! pub fn redacted(hook: &Hook, values: &BTreeMap<String, String>) -> BTreeMap<String, String>
//! pub fn start(hook: &Hook, values: &BTreeMap<String, String>) -> Running
//! pub fn start_with(hook: &Hook, values: &BTreeMap<String, String>, timing: Timing) -> Running
//! Running { pub events: mpsc::Receiver<Event>, pub cancel: CancelHandle }
//! Event::{Line(String), Stage(String), Done(Outcome)}
//! Outcome::{Exited(i32), Signalled(i32), Build { number, result }, Failed(String), Cancelled}
//! ```
//!
//! - **Parameters**: a value left empty takes the parameter's default; a value is refused when
//!   empty without a default, when it holds a control character, or when it breaks the
//!   parameter's [`pattern`] (a character class with an optional length, not a regular
//!   expression). [`start`] checks every value again and ends `Failed` on a bad one.
//! - **Secrets**: a secret parameter's value (and the Jenkins API token) never appears in a
//!   [`Event::Stage`] or [`Outcome::Failed`] text, nor in [`Event::Line`]s: output that echoes it
//!   shows `***`, as Jenkins masks password parameters. A secret placed in a command's argv is
//!   still visible to local users in the process table: prefer `env` for those.
//! - **Commands**: run directly (no shell) with `{param}` placeholders expanded in argv, cwd and
//!   env values ([`expand`]); stdin empty; stdout and stderr merged into lines; in a process
//!   group of their own. Cancel sends SIGTERM to the whole group and SIGKILL after
//!   [`Timing::kill_grace`]. A relative program path with `/` is taken from the working
//!   directory. Background processes a command leaves when it exits normally are left alone.
//! - **Jenkins**: the documented remote API: a crumb for the session (none if CSRF protection
//!   is off), `buildWithParameters` (or `build` for a hook without parameters), the queue item
//!   followed until the build starts, the console followed, the build's result. Cancel stops
//!   following only: **the build goes on in Jenkins** (aborting it is for Jenkins' own UI).
//!
//! [`start`] must be called within a tokio runtime (outside one, the run ends `Failed` at once).

mod check;
mod command;
mod event;
mod hook;
mod jenkins;
mod lines;
mod param;
pub mod pattern;
mod running;
mod template;

use std::collections::BTreeMap;
use std::time::Duration;

pub use check::check;
pub use event::{Event, Outcome};
pub use hook::{Hook, Param, Target};
pub use lines::MAX_LINE;
pub use param::{MASK, redacted, validate};
pub use running::{CancelHandle, Running};
pub use template::expand;

use param::Redactor;

/// Time limits of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Each HTTP request to Jenkins, from connecting to the end of its answer's head (and then
    /// between two pieces of its body).
    pub request_timeout: Duration,
    /// Between two polls of Jenkins' queue item, console and build.
    pub poll_every: Duration,
    /// A cancelled command's process group has this long after SIGTERM before SIGKILL.
    pub kill_grace: Duration,
}

impl Default for Timing {
    fn default() -> Timing {
        Timing {
            request_timeout: Duration::from_secs(10),
            poll_every: Duration::from_secs(1),
            kill_grace: Duration::from_secs(5),
        }
    }
}

/// Starts `hook` with the typed `values` and the default [`Timing`]. Events arrive on
/// [`Running::events`], `Done` last; [`Running::cancel`], or dropping the handle, cancels.
pub fn start(hook: &Hook, values: &BTreeMap<String, String>) -> Running {
    start_with(hook, values, Timing::default())
}

/// [`start`] with other time limits.
pub fn start_with(hook: &Hook, values: &BTreeMap<String, String>, timing: Timing) -> Running {
    let resolved = match param::resolve(hook, values) {
        Ok(resolved) => resolved,
        Err(why) => return ended(Redactor::default(), why),
    };
    let redactor = Redactor::for_params(hook, &resolved);
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return ended(
            redactor,
            "hooks must be started within a tokio runtime".into(),
        );
    };
    let (running, emit, cancel) = running::channel(redactor);
    match &hook.target {
        Target::Command { argv, cwd, env } => {
            let masked = redacted(hook, values);
            match command::prepare(argv, cwd.as_deref(), env, &resolved, &masked) {
                Ok(cmd) => {
                    runtime.spawn(command::run(cmd, timing.kill_grace, emit, cancel));
                }
                Err(why) => emit.done_now(Outcome::Failed(why)),
            }
        }
        Target::Jenkins {
            url,
            job,
            user,
            token_file,
        } => {
            let form = hook
                .params
                .iter()
                .filter_map(|p| Some((p.name.clone(), resolved.get(&p.name)?.clone())))
                .collect();
            match jenkins::prepare(url, job, user.as_deref(), token_file.clone(), form) {
                Ok(run) => {
                    runtime.spawn(jenkins::run(run, timing, emit, cancel));
                }
                Err(why) => emit.done_now(Outcome::Failed(why)),
            }
        }
    }
    running
}

/// A run that ended before it started.
fn ended(redactor: Redactor, why: String) -> Running {
    let (running, emit, _) = running::channel(redactor);
    emit.done_now(Outcome::Failed(why));
    running
}
