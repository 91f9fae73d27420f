// The RPATH of the library dsmooth-sys linked (the recipe in the dsmooth crate's docs).
fn main() {
    if let Ok(dir) = std::env::var("DEP_DSMOOTH_LIB_DIR") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
    }
}
