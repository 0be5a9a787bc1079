//! `tandem-exec`: the execution node's command line (see `tandem_exec::cli`).
fn main() -> anyhow::Result<()> {
    tandem_exec::cli::main_entry()
}
