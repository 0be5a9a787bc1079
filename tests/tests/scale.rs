//! A full-size room: 10 editors and 50 spectators (in-process peers, each with its own iroh
//! endpoint and sled database, over loopback with the real relay process).

mod common;

use std::time::Duration;

use common::*;
use tandem_room::core::Edit;
use tandem_tests::bench::{cluster, F};

#[test]
fn room_of_ten_editors_and_fifty_spectators_converges() {
    let relay = Relay::start(RELAY).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Creator + 9 candidates = 10 editors; then 50 spectators.
        let c = cluster(59, 9, Some(&relay.url), true).await.unwrap();
        for (i, r) in c.rooms.iter().take(10).enumerate() {
            r.insert(F, 0, &format!("<e{i}>")).unwrap();
        }
        // A spectator that forces an edit is refused by everyone.
        c.rooms[40]
            .edit(
                Edit::Insert {
                    file: F.into(),
                    index: 0,
                    text: "<spectator>".into(),
                },
                true,
            )
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(150);
        loop {
            let texts: Vec<String> = c
                .rooms
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != 40)
                .map(|(_, r)| r.text(F))
                .collect();
            let done = texts.iter().all(|t| *t == texts[0]) && (0..10).all(|i| texts[0].contains(&format!("<e{i}>")));
            if done {
                assert!(!texts[0].contains("<spectator>"));
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "60 peers did not converge: {:?}",
                &texts[..3]
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        // Close all endpoints at once (a graceful close waits for the peers' acknowledgements).
        let closing: Vec<_> = c.nodes.into_iter().map(|n| tokio::spawn(n.shutdown())).collect();
        for h in closing {
            let _ = tokio::time::timeout(Duration::from_secs(20), h).await;
        }
    });
}
