//! The queue with real sandboxes: a full queue answers "busy" at once, and one busy room
//! cannot starve another.

mod common;

use common::*;
use tandem_exec::{NodeConfig, SubmitError};
use tandem_shared::exec::{RunEvent, Verdict};

#[tokio::test]
async fn a_full_queue_is_refused_as_busy_not_hung() {
    let node = node_with(NodeConfig {
        max_parallel: 1,
        max_queue: 2,
        pool_ceiling: 0,
        ..NodeConfig::default()
    })
    .await;
    let slow = req("python", "import time\ntime.sleep(2)");
    let a = node.submit(&slow, "t").unwrap();
    let b = node.submit(&slow, "t").unwrap();
    match node.submit(&slow, "t") {
        Err(SubmitError::Busy(n)) => assert_eq!(n, 2),
        other => panic!("expected busy, got {:?}", other.map(|h| h.job_id.clone())),
    }
    for h in [a, b] {
        expect_verdict(&h.result().await.unwrap(), Verdict::Ok);
    }
    // Room again once the queue drained.
    expect_verdict(&run(&node, &slow).await, Verdict::Ok);
    finish(node).await;
}

#[tokio::test]
async fn one_busy_room_does_not_starve_another() {
    let node = node_with(NodeConfig {
        max_parallel: 1,
        pool_ceiling: 0,
        ..NodeConfig::default()
    })
    .await;
    let mut busy = req("python", "import time\ntime.sleep(0.3)\nprint('busy')");
    busy.room = Some("busy-room".into());
    let mut handles: Vec<_> = (0..5).map(|_| node.submit(&busy, "a").unwrap()).collect();
    let mut quiet = req("python", "print('quiet')");
    quiet.room = Some("quiet-room".into());
    handles.push(node.submit(&quiet, "b").unwrap());

    // Collect the order in which runs finish.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for (i, mut h) in handles.into_iter().enumerate() {
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Some(ev) = h.events.recv().await {
                if let RunEvent::Finished { result } = ev {
                    let _ = tx.send((i, result.verdict));
                    break;
                }
            }
        });
    }
    drop(tx);
    let mut order = Vec::new();
    while let Some((i, v)) = rx.recv().await {
        assert_eq!(v, Verdict::Ok);
        order.push(i);
    }
    let quiet_at = order.iter().position(|&i| i == 5).unwrap();
    // FIFO would finish it last (position 5); fair sharing runs it right after the busy
    // room's current run.
    assert!(
        quiet_at <= 2,
        "quiet room's run finished at position {quiet_at}: {order:?}"
    );
    finish(node).await;
}
