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
    // The commit `GET /api/v1/version` names: the packager's `DOORSTEP_COMMIT`, else git's, else
    // "unknown" (a source tarball).
    println!("cargo:rerun-if-env-changed=DOORSTEP_COMMIT");
    let git = manifest.join("../../.git");
    for watched in ["HEAD", "refs/heads"] {
        println!("cargo:rerun-if-changed={}", git.join(watched).display());
    }
    let commit = std::env::var("DOORSTEP_COMMIT").ok().filter(|c| !c.trim().is_empty()).or_else(|| {
        let out = std::process::Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .current_dir(&manifest)
            .output()
            .ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    });
    println!("cargo:rustc-env=DOORSTEP_BUILD_COMMIT={}", commit.unwrap_or_else(|| "unknown".into()));
}
