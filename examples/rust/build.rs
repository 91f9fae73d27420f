//! Link libdsmooth. Where from, first match wins:
//!   1. $DSMOOTH_LIB_DIR (a directory holding libdsmooth.so)
//!   2. the repository's build tree, ../../build/lib
//!   3. pkg-config's libdir for `dsmooth` (an installed prefix on PKG_CONFIG_PATH)
//!   4. the linker's default paths (/usr/lib, /usr/local/lib after ldconfig)
//! For 1-3 the directory is also put in the test/example binaries' RPATH, so
//! `cargo test` runs without LD_LIBRARY_PATH.
use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn pkg_config_libdir() -> Option<PathBuf> {
    let out = Command::new("pkg-config")
        .args(["--variable=libdir", "dsmooth"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

fn main() {
    println!("cargo:rerun-if-env-changed=DSMOOTH_LIB_DIR");
    println!("cargo:rerun-if-env-changed=PKG_CONFIG_PATH");
    println!("cargo:rerun-if-changed=build.rs");
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let build_tree = manifest.join("../../build/lib");
    let dir = if let Ok(d) = env::var("DSMOOTH_LIB_DIR") {
        Some(PathBuf::from(d))
    } else if build_tree.join("libdsmooth.so").exists() {
        Some(build_tree.canonicalize().unwrap())
    } else {
        pkg_config_libdir()
    };
    if let Some(dir) = dir {
        if !Path::new(&dir).join("libdsmooth.so").exists() {
            println!("cargo:warning=no libdsmooth.so in {}", dir.display());
        }
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
    }
    println!("cargo:rustc-link-lib=dylib=dsmooth");
}
