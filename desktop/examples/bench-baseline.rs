//! The desktop benchmark's baseline (desktop/e2e/bench.sh): the same Tauri and WebKitGTK build as
//! the app, a window with a one-textarea page (desktop/bench/hello), no room peer, no commands.
//! Its start-up time and memory are the floor any Tauri window pays on this machine, so the
//! app's figures can be read as "floor + Tandem".

fn main() {
    tauri::Builder::default()
        .run(tauri::generate_context!("bench/hello.conf.json"))
        .expect("error while running the baseline window");
}
