//! `cargo test --offline`: train a tiny model through the bindings and sample from it.
use dsmooth::*;

/// Four clusters at (+-1.5, +-1.5) from an integer generator (same as
/// tests/ffi/two_stage_numbers.c).
fn clusters(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E3779B97F4A7C15).wrapping_add(1);
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let mut x = Vec::with_capacity(2 * n);
    for _ in 0..n {
        let comp = next() >> 62;
        for d in 0..2 {
            let u = (next() >> 40) as f64 / 16777216.0;
            let v = (next() >> 40) as f64 / 16777216.0;
            let centre = if (comp >> d) & 1 == 1 { 1.5 } else { -1.5 };
            x.push((centre + 0.5 * (u + v - 1.0)) as f32);
        }
    }
    x
}

fn made(ctx: &Context, cond_dim: i64) -> Model<'_> {
    let mut cfg = ModelConfig::made(2).unwrap();
    cfg.set(ModelOption::CondDim, cond_dim).unwrap()
        .set(ModelOption::Components, 4).unwrap()
        .hidden(&[32, 32]).unwrap();
    Model::new(ctx, &cfg).unwrap()
}

fn trainer_config(steps: i64, lr: f64) -> TrainerConfig {
    let mut tc = TrainerConfig::new().unwrap();
    tc.set(TrainerOption::Batch, 128).unwrap()
        .set(TrainerOption::TotalSteps, steps).unwrap()
        .set(TrainerOption::Schedule, LrSchedule::Cosine as i64).unwrap();
    tc.set_float(TrainerFloatOption::Lr, lr).unwrap();
    tc
}

#[test]
fn version_matches_the_crate() {
    assert_eq!(version() / 10000, 0);
    assert!(version_string().starts_with("0."));
}

#[test]
fn train_a_tiny_model_and_sample_from_it() {
    let ctx = Context::new(2, 7).unwrap();
    assert_eq!(ctx.threads(), 2);
    let x = clusters(1024, 3);
    let mut m = made(&ctx, 0);
    let probe = [-1.5f32, -1.5, 0.0, 0.0];
    let before = m.log_prob(&probe, None).unwrap();
    {
        let tc = trainer_config(400, 1e-2);
        let mut t = Trainer::new(&mut m, &tc, None).unwrap();
        let first = t.train(&x, None, 20).unwrap();
        let mut reports = Vec::new();
        let last = t.train_with_progress(&x, None, 380, 100, |p| {
            reports.push(p.step);
            assert!(p.loss.is_finite() && p.total_steps == 400);
            false
        }).unwrap();
        assert_eq!(reports, [100, 200, 300, 400]); // every 100 steps, and after the last
        assert_eq!(t.step(), 400);
        assert!(last < first - 0.3, "loss {first} -> {last}");
        assert!(t.evaluate(&x[..512], None, 0).unwrap().is_finite());
    } // the trainer is dropped: the model is ours again
    let after = m.log_prob(&probe, None).unwrap();
    assert!(after[0] > before[0] + 0.5, "mode {} -> {}", before[0], after[0]);
    assert!(after[0] > after[1] + 1.0, "mode {} vs gap {}", after[0], after[1]);

    let s = m.sample(None, 400, 5, SampleMethod::Bisection).unwrap();
    assert_eq!(s.len(), 800);
    assert_eq!(s, m.sample(None, 400, 5, SampleMethod::Bisection).unwrap());
    let near = s.chunks(2)
        .filter(|p| (p[0].abs() - 1.5).abs() < 0.8 && (p[1].abs() - 1.5).abs() < 0.8)
        .count();
    assert!(near > 360, "only {near} of 400 samples near a mode");
    // the draw of example i does not depend on how many are asked for
    assert_eq!(&s[..20], &m.sample(None, 10, 5, SampleMethod::Bisection).unwrap()[..]);
}

#[test]
fn two_stage_denoise_and_sample() {
    let ctx = Context::new(2, 11).unwrap();
    let x = clusters(1024, 4);
    let sm = Smoother::new(&ctx, Noise::Gaussian, 0.5).unwrap();
    let mut s1 = made(&ctx, 0);
    let mut s2 = made(&ctx, 2);
    for m in [&mut s1, &mut s2] {
        let tc = trainer_config(120, 3e-3);
        let mut t = Trainer::new(m, &tc, Some(&sm)).unwrap();
        t.train(&x, None, 120).unwrap();
    }
    let xt = sm.apply(&x[..400], 2, 9).unwrap();
    let grad = Denoiser::gradient(&s1, &sm, ScoreKind::Exact).unwrap();
    let mean = Denoiser::conditional(&s2, ConditionalOutput::Mean).unwrap();
    let mse = |y: &[f32]| y.iter().zip(&x[..400]).map(|(a, b)| (a - b) * (a - b)).sum::<f32>() / 400.0;
    let noisy = mse(&xt);
    assert!(mse(&grad.apply(&xt, 0).unwrap()) < noisy);
    assert!(mse(&mean.apply(&xt, 0).unwrap()) < noisy);
    let sampler = Denoiser::conditional(&s2, ConditionalOutput::Sample).unwrap();
    let a = two_stage_sample(&s1, &sampler, 50, 3).unwrap();
    assert_eq!(a, two_stage_sample(&s1, &sampler, 50, 3).unwrap());
    let b1 = two_stage_log_prob_bound(&s1, &s2, &sm, &x[..64], 1, 0).unwrap();
    let b20 = two_stage_log_prob_bound(&s1, &s2, &sm, &x[..64], 20, 0).unwrap();
    let mean_of = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    assert!(mean_of(&b1) < mean_of(&b20));
    let quad = two_stage_log_prob_grid(&s1, &s2, &x[..8], -6.0, 6.0, 41).unwrap();
    assert!(quad.iter().all(|v| v.is_finite()));
}

#[test]
fn errors_carry_status_and_detail() {
    let ctx = Context::new(1, 0).unwrap();
    let e = Smoother::new(&ctx, Noise::Gaussian, -1.0).err().unwrap();
    assert_eq!(e.status, Status::InvalidArgument);
    assert_eq!(e.name, "DS_ERR_INVALID_ARGUMENT");
    assert!(e.detail.contains("sigma"), "{e}");
    let sm = Smoother::new(&ctx, Noise::Gaussian, 1.0).unwrap();
    let e = sm.apply(&[0.0, f32::NAN], 2, 0).unwrap_err();
    assert_eq!(e.status, Status::Numeric);
    assert_eq!(e.detail, "ds_smoother_apply: x[0][1] is NaN");
    let e = Context::new(100_000, 0).err().unwrap();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(!e.detail.is_empty());
    let e = ModelConfig::made(0).err().unwrap();
    assert_eq!(e.status, Status::InvalidArgument);
    let e = Model::load(&ctx, "/nonexistent/m.ckpt").err().unwrap();
    assert_eq!(e.status, Status::Io);
    assert!(e.detail.contains("/nonexistent/m.ckpt"), "{e}");
    let m = made(&ctx, 0);
    assert_eq!(m.log_prob(&[1.0, 2.0, 3.0], None).unwrap_err().status, Status::InvalidArgument);
}

#[test]
fn cancel_save_resume_and_load() {
    let dir = std::env::temp_dir().join(format!("dsmooth-rust-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ctx = Context::new(2, 1).unwrap();
    let x = clusters(512, 5);
    let mut m = made(&ctx, 0);
    let tc = trainer_config(50, 3e-3);
    {
        let mut t = Trainer::new(&mut m, &tc, None).unwrap();
        let e = t.train_with_progress(&x, None, 50, 1, |p| p.step >= 7).unwrap_err();
        assert_eq!(e.status, Status::Cancelled);
        assert_eq!(t.step(), 7);
        t.train(&x, None, 3).unwrap();
        t.save(dir.join("t.ckpt")).unwrap();
        t.resume(dir.join("t.ckpt")).unwrap();
        assert_eq!(t.step(), 10);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _ = t.train_with_progress(&x, None, 5, 1, |_| panic!("from the callback"));
        }));
        assert!(r.is_err());
        assert_eq!(t.step(), 11);
    }
    m.save(dir.join("m.ckpt")).unwrap();
    let back = Model::load(&ctx, dir.join("m.ckpt")).unwrap();
    assert_eq!(back.param_count(), m.param_count());
    assert_eq!(back.log_prob(&x[..16], None).unwrap(), m.log_prob(&x[..16], None).unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A conditional PixelCNN++ in each conditioning layout: same calls, cond of dimension D.
#[test]
fn conditional_pixelcnn_layouts() {
    let ctx = Context::new(1, 3).unwrap();
    let x: Vec<f32> = (0..2 * 36).map(|i| ((i * 7 % 17) as f32 / 17.0) - 0.5).collect();
    let c: Vec<f32> = x.iter().map(|v| v + 0.1).collect();
    let model = |layout: CondLayout, convs: i64| {
        let mut cfg = ModelConfig::new(Arch::PixelCnnPp).unwrap();
        cfg.set(ModelOption::Height, 6).unwrap().set(ModelOption::Width, 6).unwrap()
            .set(ModelOption::Filters, 4).unwrap().set(ModelOption::Resnets, 1).unwrap()
            .set(ModelOption::CondDim, 36).unwrap()
            .set(ModelOption::CondLayout, layout as i64).unwrap()
            .set(ModelOption::CondConvs, convs).unwrap();
        Model::new(&ctx, &cfg)
    };
    for (layout, convs) in [(CondLayout::Stacked, 0), (CondLayout::Channels, 2)] {
        let m = model(layout, convs).unwrap();
        assert_eq!(m.cond_dim(), 36);
        assert!(m.log_prob(&x, Some(&c)).unwrap().iter().all(|v| v.is_finite()));
        assert_eq!(m.sample(Some(&c), 2, 0, SampleMethod::Bisection).unwrap().len(), 72);
    }
    let e = model(CondLayout::Stacked, 1).err().unwrap();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(e.detail.contains("DS_MODEL_COND_CONVS"));
}

#[test]
fn precision_recall_of_point_sets() {
    let ctx = Context::new(2, 0).unwrap();
    // 1-D, k = 1 (the C test's hand-computed case): precision 3/5, recall 4/5
    let real = [0.0, 1.0, 2.0, 3.0, 10.0];
    let fake = [0.5, 2.5, 6.0, 20.0, 21.0];
    assert_eq!(precision_recall(&ctx, &real, &fake, 1, 1).unwrap(), (0.6, 0.8));
    let x = clusters(200, 3);
    assert_eq!(precision_recall(&ctx, &x, &x, 2, 3).unwrap(), (1.0, 1.0));
    let far: Vec<f32> = x.iter().map(|v| v + 100.0).collect();
    assert_eq!(precision_recall(&ctx, &x, &far, 2, 3).unwrap(), (0.0, 0.0));
    let e = precision_recall(&ctx, &real, &fake, 1, 5).unwrap_err();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(e.detail.contains("k = 5"), "{e}");
    let e = precision_recall(&ctx, &real, &[0.0, f32::INFINITY], 1, 1).unwrap_err();
    assert_eq!(e.status, Status::Numeric);
    assert_eq!(e.detail, "ds_precision_recall: fake[1][0] is infinite");
}

#[test]
fn loaded_library_passes_the_version_check() {
    let v = ffi::check_version().expect("version check");
    assert_eq!(v, version());
    assert_eq!(v / 10000, ffi::ABI_MAJOR);
    assert!(version_string().starts_with(&format!("{}.", ffi::ABI_MAJOR)));
    assert!(!ffi::LIB_DIR.is_empty() && !ffi::FOUND_BY.is_empty());
}

/// A loaded model reports its architecture and settings; a trainer its configuration.
#[test]
fn loaded_model_reports_its_configuration() {
    let dir = std::env::temp_dir().join(format!("dsmooth-rust-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ctx = Context::new(1, 2).unwrap();
    let mut cfg = ModelConfig::new(Arch::PixelCnn).unwrap();
    cfg.set(ModelOption::Height, 6).unwrap().set(ModelOption::Width, 5).unwrap()
        .set(ModelOption::Filters, 4).unwrap().set(ModelOption::Layers, 2).unwrap()
        .set(ModelOption::Components, 3).unwrap();
    Model::new(&ctx, &cfg).unwrap().save(dir.join("p.ckpt")).unwrap();
    let back = Model::load(&ctx, dir.join("p.ckpt")).unwrap().config().unwrap();
    assert_eq!(back.arch().unwrap(), Arch::PixelCnn);
    assert_eq!(back.get(ModelOption::Dim).unwrap(), 30);
    assert_eq!(back.get(ModelOption::Layers).unwrap(), 2);
    assert_eq!(back.get(ModelOption::Components).unwrap(), 3);
    assert_eq!(back.get_float(ModelFloatOption::BinHi).unwrap(), 1.0);
    assert_eq!(back.hidden_widths().unwrap(), vec![64, 64]);
    let e = back.get(ModelOption::Resnets).unwrap_err();
    assert_eq!(e.status, Status::InvalidArgument);
    assert!(e.detail.contains("does not apply"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();

    let mut m = made(&ctx, 0);
    let t = Trainer::new(&mut m, &trainer_config(40, 2e-3), None).unwrap();
    let tc = t.config().unwrap();
    assert_eq!(tc.get(TrainerOption::TotalSteps).unwrap(), 40);
    assert_eq!(tc.get_float(TrainerFloatOption::Lr).unwrap(), 2e-3);
}
