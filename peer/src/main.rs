//! `tandem-peer`: see the library docs (`tandem_peer`).
fn main() -> std::process::ExitCode {
    tandem_peer::main_entry()
}
