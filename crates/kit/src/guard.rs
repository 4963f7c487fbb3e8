//! Acting on exactly what was confirmed: a backend reads its target from the engine right
//! before it writes and compares it with what the plan showed; if it moved, nothing is sent
//! and the operation ends `refused`.

use clusterdeck_model::Facts;
use clusterdeck_model::feed::OpId;

use crate::Reporter;
use clusterdeck_model::Drift;

/// Why an operation did not do what was asked.
#[derive(Clone, Debug, PartialEq)]
pub enum Failed {
    /// The target is not what the plan showed: nothing was sent.
    Moved(Drift),
    /// The engine (or the backend) refused or failed.
    Error(String),
}

impl From<String> for Failed {
    fn from(e: String) -> Failed {
        Failed::Error(e)
    }
}

impl From<&str> for Failed {
    fn from(e: &str) -> Failed {
        Failed::Error(e.to_string())
    }
}

/// `Ok` when the engine still shows what the plan showed of `object` (an empty expectation,
/// as for a launch, holds always).
pub fn as_planned(expect: &Facts, object: &str, now: &Facts) -> Result<(), Failed> {
    match expect.drift(object, now) {
        Some(d) => Err(Failed::Moved(d)),
        None => Ok(()),
    }
}

impl Reporter {
    /// The end of an operation, refused or failed or done.
    pub async fn finish(&self, op_id: OpId, r: Result<String, Failed>) -> bool {
        match r {
            Ok(m) => self.outcome(op_id, Ok(m)).await,
            Err(Failed::Error(e)) => self.outcome(op_id, Err(e)).await,
            Err(Failed::Moved(d)) => self.refused(op_id, d).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_moved_field_refuses() {
        let planned = Facts::default().with("availability", "active");
        assert_eq!(as_planned(&planned, "wrk1", &planned), Ok(()));
        let now = Facts::default().with("availability", "pause");
        match as_planned(&planned, "wrk1", &now) {
            Err(Failed::Moved(d)) => assert_eq!(
                d.message(),
                "wrk1 changed since you confirmed (availability active → pause by someone else); nothing done"
            ),
            other => panic!("not refused: {other:?}"),
        }
        assert_eq!(as_planned(&Facts::default(), "x", &now), Ok(()));
    }
}
