//! Find and link libdsmooth; first match wins:
//!   1. $DSMOOTH_LIB_DIR, a directory with libdsmooth.so (or only libdsmooth.a: static)
//!   2. `pkg-config dsmooth` (the pkg-config program; no crate dependency)
//!   3. the repository's build tree, ../../../build/lib from this crate
//! Otherwise stop with a message saying how to provide the library. The directory goes in
//! the RPATH of this crate's tests and, as metadata `lib_dir`, to dependents' build
//! scripts (DEP_DSMOOTH_LIB_DIR), which can give their binaries the same RPATH.
use std::env;
use std::path::{Path, PathBuf};
use std::process::{exit, Command};

/// The library major version the declarations in src/lib.rs are written for.
const ABI_MAJOR: &str = "0";

fn pkg_config(args: &[&str]) -> Option<String> {
    let out = Command::new("pkg-config").args(args).arg("dsmooth").output().ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_string())
}

/// (directory, how it was found) from pkg-config, or why not.
fn from_pkg_config() -> Result<(PathBuf, String), String> {
    let version = pkg_config(&["--modversion"])
        .ok_or_else(|| "pkg-config: no dsmooth.pc (or no pkg-config program)".to_string())?;
    if version.split('.').next() != Some(ABI_MAJOR) {
        return Err(format!("pkg-config: dsmooth {version}, but dsmooth-sys {} needs {ABI_MAJOR}.x",
                           env::var("CARGO_PKG_VERSION").unwrap_or_default()));
    }
    let dir = pkg_config(&["--variable=libdir"]).filter(|d| !d.is_empty())
        .ok_or_else(|| "pkg-config: dsmooth.pc has no libdir".to_string())?;
    Ok((PathBuf::from(dir), format!("pkg-config (dsmooth {version})")))
}

fn has(dir: &Path, file: &str) -> bool {
    dir.join(file).exists()
}

fn main() {
    for var in ["DSMOOTH_LIB_DIR", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").unwrap());
    let build_tree = manifest.join("../../../build/lib");
    let mut tried = Vec::new();

    let found = if let Ok(d) = env::var("DSMOOTH_LIB_DIR") {
        // an explicit choice: no fallback, so a wrong path is reported, not papered over
        let dir = PathBuf::from(&d);
        if !has(&dir, "libdsmooth.so") && !has(&dir, "libdsmooth.a") {
            eprintln!("error: DSMOOTH_LIB_DIR={d} holds neither libdsmooth.so nor libdsmooth.a");
            exit(1);
        }
        Some((dir, "DSMOOTH_LIB_DIR".to_string()))
    } else {
        tried.push("DSMOOTH_LIB_DIR: not set".to_string());
        match from_pkg_config() {
            Ok(found) => Some(found),
            Err(why) => {
                tried.push(why);
                if has(&build_tree, "libdsmooth.so") || has(&build_tree, "libdsmooth.a") {
                    Some((build_tree.canonicalize().unwrap(), "the repository's build tree".into()))
                } else {
                    tried.push(format!("build tree: nothing in {}", build_tree.display()));
                    None
                }
            }
        }
    };
    let Some((dir, how)) = found else {
        eprintln!("\nerror: libdsmooth not found. Tried:\n  {}\n\nProvide it one of these ways:\n  \
            * build it: cmake -S <repo> -B <repo>/build && cmake --build <repo>/build\n    \
            (found automatically when this crate is used from the repository)\n  \
            * install it (cmake --install build --prefix /opt/dsmooth) and set\n    \
            PKG_CONFIG_PATH=/opt/dsmooth/lib/pkgconfig, or install libdsmooth-dev\n  \
            * set DSMOOTH_LIB_DIR to the directory holding libdsmooth.so\n",
            tried.join("\n  "));
        exit(1);
    };
    println!("cargo:rustc-link-search=native={}", dir.display());
    if has(&dir, "libdsmooth.so") {
        println!("cargo:rustc-link-lib=dylib=dsmooth");
        // this crate's own tests; dependents: DEP_DSMOOTH_LIB_DIR (see the dsmooth crate)
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
    } else {
        println!("cargo:rustc-link-lib=static=dsmooth");
        println!("cargo:rustc-link-lib=dylib=pthread");
        println!("cargo:rustc-link-lib=dylib=m");
    }
    println!("cargo:lib_dir={}", dir.display());
    println!("cargo:rustc-env=DSMOOTH_SYS_LIB_DIR={}", dir.display());
    println!("cargo:rustc-env=DSMOOTH_SYS_FOUND_BY={how}");
}
