//! Smooth a few points and fit nothing: proves the program links, finds libdsmooth at run
//! time without LD_LIBRARY_PATH, and passes the version check.
use dsmooth::{Context, Noise, Smoother};

fn main() -> Result<(), dsmooth::Error> {
    let ctx = Context::new(1, 7)?;
    let sm = Smoother::new(&ctx, Noise::Gaussian, 0.5)?;
    let x = sm.apply(&[0.0; 8], 2, 0)?;
    assert!(x.iter().all(|v| v.is_finite()) && x.iter().any(|&v| v != 0.0));
    println!("consumer: libdsmooth {} linked from {} ({}), smoothed {} values",
             dsmooth::version_string(), dsmooth::ffi::LIB_DIR, dsmooth::ffi::FOUND_BY, x.len());
    Ok(())
}
