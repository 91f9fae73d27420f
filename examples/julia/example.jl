# Fit the two-stage model to four 2-D clusters, sample from it and bound its likelihood.
#   DSMOOTH_LIB_DIR=build/lib julia examples/julia/example.jl
# (Untested: no Julia on the project's machines; see dsmooth.jl.)
include(joinpath(@__DIR__, "dsmooth.jl"))
using .DSmooth

ctx = Context(threads = 2, seed = 7)
println("libdsmooth ", version_string())

# 1024 examples of dimension 2, one per column: clusters at (±1.5, ±1.5)
x = Matrix{Float32}(undef, 2, 1024)
for i in 1:1024
    x[1, i] = (isodd(i) ? 1.5f0 : -1.5f0) + 0.3f0 * randn(Float32)
    x[2, i] = (isodd(i ÷ 2) ? 1.5f0 : -1.5f0) + 0.3f0 * randn(Float32)
end

sm = Smoother(ctx, DS_NOISE_GAUSSIAN, 0.5)
stage1 = Model(ctx; dim = 2, components = 4, hidden = [32, 32])
stage2 = Model(ctx; dim = 2, cond_dim = 2, components = 4, hidden = [32, 32])
for (name, m) in (("stage 1", stage1), ("stage 2", stage2))
    t = Trainer(m; smoother = sm, batch = 128, total_steps = 300, schedule = DS_LR_COSINE,
                lr = 3e-3)
    loss = train!(t, x, 300; every = 100,
                  progress = (step, total, loss, rate) -> (println("  $name step $step/$total loss $(round(loss; digits = 3))"); false))
    println("$name: mean loss $(round(loss; digits = 3)) nats")
    close(t)   # the model is ours again
end

dn = ConditionalDenoiser(stage2; output = DS_CONDITIONAL_SAMPLE)
samples = two_stage_sample(stage1, dn, 5; stream = 1)
println("two-stage samples (one per column):")
display(samples)
bound = two_stage_log_prob_bound(stage1, stage2, sm, x[:, 1:100]; k = 100, stream = 3)
println("\nmean IW-100 bound on log p: ", sum(bound) / length(bound))

try
    Smoother(ctx, DS_NOISE_GAUSSIAN, -1.0)
catch e
    println("error as expected: ", sprint(showerror, e))
end
close(ctx)   # freed once the handles above are closed or collected
