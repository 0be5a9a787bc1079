//! `tandem-peer`: see the library docs (`tandem_peer`).
/// sled's unused metric histograms are given back (see `tandem_memory`).
#[global_allocator]
static ALLOC: tandem_memory::Allocator = tandem_memory::Allocator;

fn main() -> std::process::ExitCode {
    tandem_peer::main_entry()
}
