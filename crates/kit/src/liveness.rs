//! The liveness signal every backend needs beside its data (a watch or an events stream is
//! silent when nothing changes, and silent when the network drops packets): `probe` every
//! `every`, each answer within `within`, from a task of its own, so the backend's loop never
//! waits on it. The task ends when the receiver is dropped.

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;

/// Each probe's answer, or `Err` with why there was none ("no answer within 3 s").
pub fn liveness<T, F, Fut>(
    every: Duration,
    within: Duration,
    probe: F,
) -> mpsc::Receiver<Result<T, String>>
where
    T: Send + 'static,
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Result<T, String>> + Send,
{
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            let answer = match tokio::time::timeout(within, probe()).await {
                Ok(a) => a,
                Err(_) => Err(format!("no answer within {} s", within.as_secs())),
            };
            if tx.send(answer).await.is_err() {
                return;
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_probe_that_hangs_is_no_answer_in_time() {
        let mut rx = liveness(
            Duration::from_millis(10),
            Duration::from_secs(1),
            || async { std::future::pending::<Result<(), String>>().await },
        );
        let a = rx.recv().await.expect("an answer");
        assert_eq!(a, Err("no answer within 1 s".into()));
        let mut ok = liveness(
            Duration::from_millis(10),
            Duration::from_millis(20),
            || async { Ok::<_, String>(7) },
        );
        assert_eq!(ok.recv().await, Some(Ok(7)));
    }
}
