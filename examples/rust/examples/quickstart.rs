//! cargo run --offline --example quickstart   (README's Rust snippet)
use dsmooth::*;

fn main() -> Result<()> {
    let ctx = Context::new(2, 1)?;
    // 1024 points around (±1.5, ±1.5), flat row-major (n, 2)
    let mut s = 1u64;
    let x: Vec<f32> = (0..2048)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let centre = if s >> 63 == 1 { 1.5 } else { -1.5 };
            centre + 0.6 * ((s >> 40) as f32 / 16777216.0 - 0.5)
        })
        .collect();
    let sm = Smoother::new(&ctx, Noise::Gaussian, 0.5)?;
    let mut cfg = ModelConfig::made(2)?;
    cfg.set(ModelOption::Components, 4)?.hidden(&[32, 32])?;
    let mut stage1 = Model::new(&ctx, &cfg)?;
    let mut tc = TrainerConfig::new()?;
    tc.set(TrainerOption::Batch, 128)?.set(TrainerOption::TotalSteps, 300)?;
    tc.set_float(TrainerFloatOption::Lr, 3e-3)?;
    {
        let mut t = Trainer::new(&mut stage1, &tc, Some(&sm))?; // stage 1: fit p(x~)
        let loss = t.train_with_progress(&x, None, 300, 100, |p| {
            println!("step {} loss {:.3}", p.step, p.loss);
            false // true would cancel
        })?;
        println!("mean loss {loss:.3}");
    }
    let x_tilde = stage1.sample(None, 3, 7, SampleMethod::Bisection)?;
    let dn = Denoiser::gradient(&stage1, &sm, ScoreKind::Exact)?;
    println!("samples {:?}\ndenoised {:?}", x_tilde, dn.apply(&x_tilde, 0)?);
    match stage1.log_prob(&[f32::NAN, 0.0], None) {
        Err(e) => println!("{:?}: {}", e.status, e.detail),
        Ok(_) => unreachable!(),
    }
    Ok(())
}
