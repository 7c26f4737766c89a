//! Chooses what the server embeds as its dashboard: `ui/dist-dashboard` when it has been built
//! (`npm run build:dashboard` in ui/; scripts/test.sh and scripts/run.sh do), otherwise a page
//! that says how to build it, so `cargo build` works before the front end does.

use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let built = manifest.join("../../ui/dist-dashboard");
    println!("cargo:rerun-if-changed={}", built.display());
    let dir = if built.join("index.html").exists() {
        built
    } else {
        let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("dashboard-placeholder");
        let _ = std::fs::create_dir_all(&out);
        let _ = std::fs::write(
            out.join("index.html"),
            "<!doctype html><meta charset=utf-8><title>Doorstep</title>\
             <p>Bảng điều khiển chưa được dựng: chạy <code>npm run build:dashboard</code> trong ui/ rồi dựng lại máy chủ.</p>\
             <p>The dashboard is not built: run <code>npm run build:dashboard</code> in ui/, then build the server again.</p>",
        );
        out
    };
    println!("cargo:rustc-env=DOORSTEP_DASHBOARD_DIR={}", dir.display());
}
