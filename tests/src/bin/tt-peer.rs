//! `tandem-peer` under another name, for the cross-process tests.
fn main() -> std::process::ExitCode {
    tandem_peer::main_entry()
}
