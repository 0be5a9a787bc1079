//! With the allocator installed, opening sled leaves its metric histograms' pages with the
//! kernel: the process's resident memory grows by what sled uses, not by 20 MiB of zeros, and
//! the database works as before.

#[global_allocator]
static ALLOC: tandem_memory::Allocator = tandem_memory::Allocator;

/// Resident anonymous memory of this process, in bytes (Linux).
fn resident_anon() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("RssAnon in /proc/self/status");
    kb * 1024
}

#[test]
fn opening_sled_keeps_the_histograms_out_of_resident_memory() {
    let dir = tempfile::tempdir().unwrap();
    let before = resident_anon();
    let db = tandem_memory::opening_sled(|| sled::Config::new().path(dir.path()).open()).unwrap();
    let grown = resident_anon().saturating_sub(before);

    let released = tandem_memory::released_bytes();
    // 41 histograms of 512 KiB, less at most two partial pages each.
    assert!(
        released >= 40 * 65_536 * 8 - 41 * 2 * 4096,
        "released only {released} bytes"
    );
    // Without the release, opening sled grows resident memory by more than 20 MiB.
    assert!(grown < 8 << 20, "opening sled grew resident memory by {grown} bytes");

    // The database is unaffected.
    db.insert(b"key", b"value".as_slice()).unwrap();
    db.flush().unwrap();
    assert_eq!(db.get(b"key").unwrap().unwrap().as_ref(), b"value");
    // A second open in the same process builds no new histograms.
    let dir2 = tempfile::tempdir().unwrap();
    let db2 = tandem_memory::opening_sled(|| sled::Config::new().path(dir2.path()).open()).unwrap();
    db2.insert(b"k", b"v".as_slice()).unwrap();
    assert_eq!(tandem_memory::released_bytes(), released);
}
