//! Give this crate's tests and examples the RPATH of the library dsmooth-sys linked
//! (DEP_DSMOOTH_LIB_DIR), so they run without LD_LIBRARY_PATH. A program depending on
//! `dsmooth` does the same with the three lines in the crate docs ("Running").
fn main() {
    if let Ok(dir) = std::env::var("DEP_DSMOOTH_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
