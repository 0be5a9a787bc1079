//! `tandem-exec`: the execution node's command line (see `tandem_exec::cli`).
/// sled's unused metric histograms are given back (see `tandem_memory`).
#[global_allocator]
static ALLOC: tandem_memory::Allocator = tandem_memory::Allocator;

fn main() -> anyhow::Result<()> {
    tandem_exec::cli::main_entry()
}
