//! Example binaries a test runs: found next to the test binary, and built first (once per
//! test binary) when one is missing or older than its sources or than the test binary
//! itself (that is, than the library). A plain `cargo test` has built them already.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The directory of the examples, after making sure that `names` (examples of `package`,
/// whose manifest is in `manifest_dir`) are built and newer than `sources(name)`.
pub fn built_examples(
    package: &str,
    manifest_dir: &str,
    names: &[String],
    sources: impl Fn(&str) -> Vec<PathBuf>,
) -> PathBuf {
    let this = std::env::current_exe().unwrap();
    let mut dir = this.clone();
    dir.pop(); // the test binary
    if dir.ends_with("deps") {
        dir.pop();
    }
    let release = dir.ends_with("release");
    let dir = dir.join("examples");
    let modified = |p: &Path| p.metadata().and_then(|m| m.modified()).ok();
    let fresh = |name: &String| {
        let mut inputs = sources(name);
        inputs.push(this.clone());
        modified(&dir.join(name))
            .is_some_and(|built| inputs.iter().all(|p| modified(p).is_none_or(|t| t <= built)))
    };
    if names.iter().all(fresh) {
        return dir;
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", package]).current_dir(manifest_dir);
    if release {
        cmd.arg("--release");
    }
    for name in names {
        cmd.args(["--example", name]);
    }
    assert!(
        cmd.status().unwrap().success(),
        "building the examples {names:?} failed"
    );
    dir
}
