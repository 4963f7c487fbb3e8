//! What a running hook reports: its output lines, its stages, and one outcome at the end.

/// One report of a running hook; `Done` is always the last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// One line of output (the command's stdout and stderr merged, or the Jenkins console),
    /// without its line break, lossily decoded UTF-8, cut at [`crate::MAX_LINE`] bytes.
    Line(String),
    /// A step of the run in words: "started: … (pid 123)", "queued: Waiting for next available
    /// executor", "build #12 started: URL".
    Stage(String),
    Done(Outcome),
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The command exited with this status.
    Exited(i32),
    /// The command was killed by this signal (not by a cancel).
    Signalled(i32),
    /// The Jenkins build finished: SUCCESS, FAILURE, UNSTABLE, ABORTED, NOT_BUILT.
    Build { number: u64, result: String },
    /// The hook could not run or could not be followed (program not found, an HTTP error), in
    /// words.
    Failed(String),
    /// Cancelled from the console.
    Cancelled,
}

impl Outcome {
    /// Exit status 0 or a SUCCESS build.
    pub fn success(&self) -> bool {
        match self {
            Outcome::Exited(code) => *code == 0,
            Outcome::Build { result, .. } => result == "SUCCESS",
            Outcome::Signalled(_) | Outcome::Failed(_) | Outcome::Cancelled => false,
        }
    }

    /// The outcome in a few words, for the pane's last line and the audit log.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Exited(0) => "exited 0".into(),
            Outcome::Exited(code) => format!("exited with status {code}"),
            Outcome::Signalled(sig) => match signal_name(*sig) {
                Some(name) => format!("killed by signal {sig} ({name})"),
                None => format!("killed by signal {sig}"),
            },
            Outcome::Build { number, result } => format!("build #{number}: {result}"),
            Outcome::Failed(why) => format!("failed: {why}"),
            Outcome::Cancelled => "cancelled".into(),
        }
    }
}

fn signal_name(sig: i32) -> Option<&'static str> {
    Some(match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGABRT => "SIGABRT",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTERM => "SIGTERM",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_and_words() {
        assert!(Outcome::Exited(0).success());
        assert!(!Outcome::Exited(2).success());
        let ok = Outcome::Build {
            number: 7,
            result: "SUCCESS".into(),
        };
        assert!(ok.success());
        assert_eq!(ok.describe(), "build #7: SUCCESS");
        let unstable = Outcome::Build {
            number: 7,
            result: "UNSTABLE".into(),
        };
        assert!(!unstable.success());
        assert_eq!(
            Outcome::Signalled(9).describe(),
            "killed by signal 9 (SIGKILL)"
        );
        assert_eq!(Outcome::Exited(3).describe(), "exited with status 3");
        assert!(!Outcome::Cancelled.success());
    }
}
