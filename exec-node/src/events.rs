//! Each run's events, kept so that anyone who starts watching late (a peer joining a room
//! mid-run, a browser that reconnects) first receives everything they missed, in order,
//! then follows live.
//!
//! A run's log is bounded by the run's own output caps; the node keeps the logs of its most
//! recent runs only.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use futures_util::Stream;
use tandem_shared::exec::RunEvent;
use tokio::sync::Notify;

#[derive(Default)]
struct State {
    events: Vec<RunEvent>,
    closed: bool,
}

/// One run's events so far.
#[derive(Default)]
pub struct EventLog {
    state: Mutex<State>,
    notify: Notify,
    /// Who started the run (the requester): only they, or an admin, may watch or cancel it.
    owner: String,
}

impl EventLog {
    pub fn owner(&self) -> &str {
        &self.owner
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends an event; `Finished` and `Error` close the log.
    pub fn push(&self, event: RunEvent) {
        let mut st = self.lock();
        if st.closed {
            return;
        }
        st.closed = matches!(event, RunEvent::Finished { .. } | RunEvent::Error { .. });
        st.events.push(event);
        drop(st);
        self.notify.notify_waiters();
    }

    /// Every event from the first, then the live ones until the run ends.
    pub fn watch(self: &Arc<Self>) -> impl Stream<Item = RunEvent> + Send + 'static {
        futures_util::stream::unfold((self.clone(), 0usize), |(log, next)| async move {
            let item = loop {
                // Register for wake-ups before looking, so no push slips between.
                let notified = log.notify.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let found = {
                    let st = log.lock();
                    match st.events.get(next) {
                        Some(ev) => Some(Some(ev.clone())),
                        None if st.closed => Some(None),
                        None => None,
                    }
                };
                match found {
                    Some(item) => break item,
                    None => notified.await,
                }
            };
            item.map(|ev| (ev, (log, next + 1)))
        })
    }
}

/// The logs of the most recent runs, by job id.
pub struct RecentRuns {
    runs: Mutex<VecDeque<(String, Arc<EventLog>)>>,
    keep: usize,
}

impl RecentRuns {
    pub fn new(keep: usize) -> Self {
        Self {
            runs: Mutex::new(VecDeque::new()),
            keep,
        }
    }

    /// A new log for `job_id` started by `owner`, forgetting the oldest one beyond the bound.
    pub fn start(&self, job_id: &str, owner: &str) -> Arc<EventLog> {
        let log = Arc::new(EventLog {
            owner: owner.to_string(),
            ..Default::default()
        });
        let mut runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.push_back((job_id.to_string(), log.clone()));
        while runs.len() > self.keep {
            runs.pop_front();
        }
        log
    }

    pub fn get(&self, job_id: &str) -> Option<Arc<EventLog>> {
        let runs = self.runs.lock().unwrap_or_else(|e| e.into_inner());
        runs.iter()
            .rev()
            .find(|(id, _)| id == job_id)
            .map(|(_, log)| log.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use tandem_shared::exec::{Phase, Stream as Out};

    fn out(seq: u64) -> RunEvent {
        RunEvent::Output {
            seq,
            phase: Phase::Run,
            stream: Out::Stdout,
            data: format!("{seq}\n"),
        }
    }

    #[tokio::test]
    async fn a_late_watcher_gets_what_it_missed_then_follows() {
        let log = Arc::new(EventLog::default());
        log.push(out(0));
        log.push(out(1));
        let watcher = tokio::spawn(log.watch().collect::<Vec<_>>());
        tokio::task::yield_now().await;
        log.push(out(2));
        log.push(RunEvent::Error { message: "end".into() });
        log.push(out(3)); // after the end: ignored
        let seen = watcher.await.unwrap();
        assert_eq!(seen.len(), 4);
        assert_eq!(seen[..3], [out(0), out(1), out(2)]);
        // A watcher after the end gets the whole run.
        assert_eq!(log.watch().collect::<Vec<_>>().await, seen);
    }

    #[test]
    fn only_recent_runs_are_kept() {
        let recent = RecentRuns::new(2);
        for id in ["a", "b", "c"] {
            recent.start(id, "me");
        }
        assert!(recent.get("a").is_none());
        assert!(recent.get("b").is_some() && recent.get("c").is_some());
    }
}
