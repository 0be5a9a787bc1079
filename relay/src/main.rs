//! `tandem-relay`: see the library docs (`tandem_relay`).
fn main() -> std::process::ExitCode {
    tandem_relay::main_entry()
}
