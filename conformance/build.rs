//! Stamps the build with the git commit it was made from (`KHIL_GIT_COMMIT`), so a signed report says exactly
//! which code judged the device. `KHIL_GIT_COMMIT` set in the environment wins (a build from a source archive,
//! where there is no git); without either, the commit is `unknown`.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok().filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_owned()).filter(|s| !s.is_empty())
}

fn main() {
    println!("cargo:rerun-if-env-changed=KHIL_GIT_COMMIT");
    // Rebuild when HEAD moves: a commit rewrites the branch's ref (or packed-refs), a checkout rewrites HEAD.
    for name in ["HEAD", "refs/heads", "packed-refs"] {
        if let Some(path) = git(&["rev-parse", "--path-format=absolute", "--git-path", name])
            && Path::new(&path).exists()
        {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let commit = std::env::var("KHIL_GIT_COMMIT")
        .ok()
        .filter(|c| !c.is_empty())
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=KHIL_GIT_COMMIT={commit}");
}
