"""Python quickstart (README, "Start here"): after `pip install ./examples/python`, run
`python examples/python/quickstart.py`. Fits a two-stage model to 2-D clusters, samples it,
bounds its log-likelihood, and shows an error's detail."""
import numpy as np

import dsmooth

with dsmooth.Context(threads=2, seed=1) as ctx:
    rng = np.random.default_rng(0)
    x = (rng.choice([-1.5, 1.5], size=(2048, 2)) + 0.3 * rng.normal(size=(2048, 2))).astype(np.float32)
    sm = dsmooth.Smoother(ctx, "gaussian", 0.5)
    stage1 = dsmooth.Model(ctx, dim=2, components=4, hidden=(32, 32))
    stage2 = dsmooth.Model(ctx, dim=2, cond_dim=2, components=4, hidden=(32, 32))
    for m in (stage1, stage2):
        with dsmooth.Trainer(m, smoother=sm, batch=128, total_steps=300,
                             schedule="cosine", lr=3e-3) as t:
            loss = t.train(x, 300, every=100,
                           progress=lambda step, total, loss, rate: print(step, round(loss, 3)))
    dn = dsmooth.ConditionalDenoiser(stage2, "sample")
    print(dsmooth.two_stage_sample(stage1, dn, 3, stream=1))
    print(dsmooth.two_stage_log_prob_bound(stage1, stage2, sm, x[:1000], k_samples=100).mean())
    try:
        stage1.log_prob(np.full((1, 2), np.nan))
    except dsmooth.DsmoothError as e:
        print(e.name, "|", e.detail)   # DS_ERR_NUMERIC | ds_model_log_prob: x[0][0] is NaN
