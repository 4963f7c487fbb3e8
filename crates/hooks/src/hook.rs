//! What a configured hook is: its target (a command or a Jenkins job) and its parameters.

use std::path::PathBuf;

/// One parameter the operator types before the hook runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Param {
    /// Letters, digits, `_` and `-`; what `{name}` placeholders and Jenkins' form field use.
    pub name: String,
    /// The whole-value rule: a character class with an optional length, e.g. `[A-Za-z0-9._-]`
    /// or `[a-z0-9-]{1,63}` (see [`crate::pattern`]).
    pub pattern: Option<String>,
    /// Shown as `***` in everything this crate says and in [`crate::redacted`].
    pub secret: bool,
    /// Used when the operator leaves the value empty.
    pub default: Option<String>,
}

/// What a hook runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A program with its arguments (no shell), `{param}` placeholders expanded in `argv`, `cwd`
    /// and the values of `env`.
    Command {
        argv: Vec<String>,
        cwd: Option<PathBuf>,
        env: Vec<(String, String)>,
    },
    /// A Jenkins job, triggered through Jenkins' remote API with the parameters as its build
    /// parameters. `job` may name folders: `folder/sub/job`.
    Jenkins {
        url: String,
        job: String,
        user: Option<String>,
        /// A file holding the user's API token (read when the hook starts, trimmed).
        token_file: Option<PathBuf>,
    },
}

/// A configured hook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub name: String,
    pub target: Target,
    pub params: Vec<Param>,
}

impl Hook {
    /// The parameter called `name`.
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }
}
