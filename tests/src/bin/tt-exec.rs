//! `tandem-exec` under another name, for the cross-process tests.
fn main() -> anyhow::Result<()> {
    tandem_exec::cli::main_entry()
}
