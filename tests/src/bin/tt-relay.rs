//! `tandem-relay` under another name, for the cross-process tests.
fn main() -> std::process::ExitCode {
    tandem_relay::main_entry()
}
