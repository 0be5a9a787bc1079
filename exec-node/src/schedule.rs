//! Fair sharing of the node's run slots between rooms.
//!
//! A plain FIFO lets one busy room (or one script) queue a hundred runs in front of everybody
//! else. Here each tenant (a room, or a requester without one) has its own queue and free
//! slots are handed out round-robin across tenants, so a newcomer waits for at most one run
//! of each other tenant.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

#[derive(Default)]
struct State {
    free: usize,
    queues: HashMap<String, VecDeque<oneshot::Sender<Slot>>>,
    /// Tenants with waiters, in the order they get the next slots.
    ring: VecDeque<String>,
    running: usize,
}

/// The slots of a node.
#[derive(Clone)]
pub struct Scheduler {
    state: Arc<Mutex<State>>,
}

/// A held slot; dropping it hands the slot to the next tenant in turn.
pub struct Slot {
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl Scheduler {
    pub fn new(slots: usize) -> Self {
        Self {
            state: Arc::new(Mutex::new(State {
                free: slots,
                ..Default::default()
            })),
        }
    }

    /// Waits for a slot on behalf of `tenant`. Dropping the future gives up the place.
    pub async fn acquire(&self, tenant: &str) -> Slot {
        let rx = {
            let mut st = lock(&self.state);
            if st.free > 0 && st.ring.is_empty() {
                st.free -= 1;
                st.running += 1;
                return Slot {
                    state: self.state.clone(),
                };
            }
            let (tx, rx) = oneshot::channel();
            st.queues.entry(tenant.to_string()).or_default().push_back(tx);
            if !st.ring.iter().any(|t| t == tenant) {
                st.ring.push_back(tenant.to_string());
            }
            rx
        };
        match rx.await {
            Ok(slot) => slot,
            // Unreachable: the scheduler only drops a sender after sending on it.
            Err(_) => std::future::pending().await,
        }
    }

    /// Runs holding a slot now.
    pub fn running(&self) -> usize {
        lock(&self.state).running
    }

    /// Runs waiting for a slot now.
    pub fn waiting(&self) -> usize {
        lock(&self.state)
            .queues
            .values()
            .map(|q| q.iter().filter(|tx| !tx.is_closed()).count())
            .sum()
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut st = lock(&self.state);
        st.running -= 1;
        while let Some(tenant) = st.ring.pop_front() {
            let Some(queue) = st.queues.get_mut(&tenant) else {
                continue;
            };
            let next = queue.pop_front();
            if queue.is_empty() {
                st.queues.remove(&tenant);
            } else {
                st.ring.push_back(tenant);
            }
            if let Some(tx) = next {
                st.running += 1;
                match tx.send(Slot {
                    state: self.state.clone(),
                }) {
                    Ok(()) => return,
                    Err(slot) => {
                        // That waiter gave up; don't run this Drop again under the lock.
                        st.running -= 1;
                        std::mem::forget(slot);
                    }
                }
            }
        }
        st.free += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn slots_go_round_robin_across_tenants() {
        let s = Scheduler::new(1);
        let first = s.acquire("busy").await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for (i, tenant) in ["busy", "busy", "busy", "quiet"].into_iter().enumerate() {
            let (s, order) = (s.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _slot = s.acquire(tenant).await;
                order.lock().unwrap().push(format!("{tenant}{i}"));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }));
            tokio::time::sleep(Duration::from_millis(5)).await; // queue in this order
        }
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
        // "quiet" queued last but runs second, not after all of "busy".
        assert_eq!(*order.lock().unwrap(), vec!["busy0", "quiet3", "busy1", "busy2"]);
        assert_eq!(s.running(), 0);
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_does_not_lose_the_slot() {
        let s = Scheduler::new(1);
        let held = s.acquire("a").await;
        let gone = tokio::spawn({
            let s = s.clone();
            async move {
                let _ = s.acquire("b").await;
            }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        gone.abort();
        let _ = gone.await;
        drop(held);
        // The slot is free again, not handed to the aborted waiter.
        tokio::time::timeout(Duration::from_secs(1), s.acquire("c"))
            .await
            .expect("slot was lost");
    }
}
