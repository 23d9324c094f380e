//! Links the status line's own binary as a fixed-address executable on Linux.
//!
//! Claude Code starts the status line many times a minute and each run lasts a few milliseconds.
//! As a position-independent executable, the binary's loader first applies some 32,000
//! relocations (most of them the time-zone tables' string pointers), writing to a megabyte of
//! pages: a fifth of the run. A fixed-address executable has them resolved at link time. What it
//! gives up is address-space randomisation for a process that lives milliseconds, reads only
//! Claude Code's JSON, the local socket and the app's own database, and holds no secret; the
//! long-running `claude-status` (service, gateway) stays position-independent.

fn main() {
    let linux = std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux");
    if linux {
        println!("cargo:rustc-link-arg-bin=claude-status-line=-no-pie");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
