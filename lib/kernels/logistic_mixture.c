#include "kernels/logistic_mixture.h"

#include <float.h>
#include <math.h>
#include <stddef.h>

/* Interior bins below this CDF difference use pdf * width (PixelCNN++'s 1e-5 threshold). */
#define DS__MIX_DELTA_MIN 1e-5
#define DS__MIX_BISECT_MAX_ITERS 256

static double ds__softplus(double t) { return t > 0 ? t + log1p(exp(-t)) : log1p(exp(t)); }

static double ds__sigmoid(double t) {
  if (t >= 0) return 1.0 / (1.0 + exp(-t));
  double e = exp(t);
  return e / (1.0 + e);
}

/* Gradients of x ~ FLT_MAX against a clamped scale exceed float range: saturate rather than
 * hand inf (and later inf * 0 = NaN) to the optimiser. NaN passes through. */
static float ds__saturate(double v) {
  return v > FLT_MAX ? FLT_MAX : v < -FLT_MAX ? -FLT_MAX : (float)v;
}

/* Streaming log-sum-exp: (m, s) represent m + log s; -inf terms are skipped. */
typedef struct ds__lse {
  double m, s;
} ds__lse;

static void ds__lse_add(ds__lse *a, double v) {
  if (v == -INFINITY) return;
  if (a->s == 0.0) {
    a->m = v;
    a->s = 1.0;
  } else if (v > a->m) {
    a->s = a->s * exp(a->m - v) + 1.0;
    a->m = v;
  } else {
    a->s += exp(v - a->m);
  }
}

static double ds__lse_value(const ds__lse *a) { return a->s == 0.0 ? -INFINITY : a->m + log(a->s); }

/* Clamped log-scale of component k, and 1 if its gradient passes (raw >= bound). */
static double ds__log_scale(const float *p, int32_t K, int32_t k, int *passes) {
  float s = p[2 * K + k];
  *passes = !(s < DS__MIX_LOG_SCALE_MIN);
  return s < DS__MIX_LOG_SCALE_MIN ? (double)DS__MIX_LOG_SCALE_MIN : (double)s;
}

static double ds__logits_lse(const float *p, int32_t K) {
  ds__lse a = {0.0, 0.0};
  for (int32_t k = 0; k < K; k++) ds__lse_add(&a, p[k]);
  return ds__lse_value(&a);
}

/* log Logistic(x; mu, e^s) of component k and its partials w.r.t. mu, s (clamped) and x. */
static double ds__comp_log_pdf(const float *p, int32_t K, int32_t k, double x, double *d_mu,
                               double *d_s, double *d_x) {
  int passes;
  double s = ds__log_scale(p, K, k, &passes), inv = exp(-s);
  double z = (x - (double)p[K + k]) * inv;
  if (d_mu) {
    double th = tanh(0.5 * z); /* d/dz log pdf = -tanh(z/2) */
    *d_mu = th * inv;
    *d_s = passes ? z * th - 1.0 : 0.0;
    *d_x = -th * inv;
  }
  return -z - s - 2.0 * ds__softplus(-z);
}

/* Shared tail of the two log-likelihoods: log p = LSE_k(logit_k + l_k) - LSE(logits) and
 * d/d logit_k = r_k - pi_k with r the posterior over components. comp(k, d_mu, d_s, d_x)
 * gives l_k; it is evaluated twice (no scratch memory), identically both times. */
typedef double (*ds__comp_fn)(const void *ctx, int32_t k, double *d_mu, double *d_s, double *d_x);

static double ds__mix_loglik(const float *p, int32_t K, ds__comp_fn comp, const void *ctx,
                             float *grad_p, double *grad_x) {
  double lse0 = ds__logits_lse(p, K);
  ds__lse a = {0.0, 0.0};
  for (int32_t k = 0; k < K; k++) ds__lse_add(&a, (double)p[k] + comp(ctx, k, NULL, NULL, NULL));
  double lse1 = ds__lse_value(&a);
  if (grad_p || grad_x) {
    double gx = 0.0;
    for (int32_t k = 0; k < K; k++) {
      double d_mu, d_s, d_x;
      double l = comp(ctx, k, &d_mu, &d_s, &d_x);
      double r = exp((double)p[k] + l - lse1), pi = exp((double)p[k] - lse0);
      if (grad_p) {
        grad_p[k] = (float)(r - pi);
        grad_p[K + k] = ds__saturate(r * d_mu);
        grad_p[2 * K + k] = ds__saturate(r * d_s);
      }
      gx += r * d_x;
    }
    if (grad_x) *grad_x = gx;
  }
  return lse1 - lse0;
}

typedef struct ds__cont_ctx {
  const float *p;
  int32_t K;
  double x;
} ds__cont_ctx;

static double ds__cont_comp(const void *ctx, int32_t k, double *d_mu, double *d_s, double *d_x) {
  const ds__cont_ctx *c = ctx;
  return ds__comp_log_pdf(c->p, c->K, k, c->x, d_mu, d_s, d_x);
}

double ds__mix_log_density(const float *p, int32_t K, float x, float *grad_p, double *grad_x) {
  ds__cont_ctx c = {p, K, (double)x};
  return ds__mix_loglik(p, K, ds__cont_comp, &c, grad_p, grad_x);
}

/* ---- discretized ---- */

static double ds__bins_step(const ds__bins *bins) {
  return ((double)bins->hi - (double)bins->lo) / (double)(bins->count - 1);
}

int32_t ds__bins_index(const ds__bins *bins, float x) {
  double t = ((double)x - (double)bins->lo) / ds__bins_step(bins);
  if (isnan(t)) return -1;
  if (t <= 0.0) return 0;
  if (t >= (double)(bins->count - 1)) return bins->count - 1;
  return (int32_t)floor(t + 0.5);
}

float ds__bins_centre(const ds__bins *bins, int32_t b) {
  return (float)((double)bins->lo + (double)b * ds__bins_step(bins));
}

typedef struct ds__disc_ctx {
  const float *p;
  int32_t K;
  int32_t b, count;
  double centre, lo_edge, hi_edge, log_width; /* edges c -/+ h, log(2h) */
} ds__disc_ctx;

/* log P_k(bin) with PixelCNN++'s branches; a = (c + h - mu)/scale, b = (c - h - mu)/scale. */
static double ds__disc_comp(const void *ctx, int32_t k, double *d_mu, double *d_s, double *d_x) {
  const ds__disc_ctx *c = ctx;
  int passes;
  double s = ds__log_scale(c->p, c->K, k, &passes), inv = exp(-s), mu = (double)c->p[c->K + k];
  double l, g_mu, g_s;
  if (c->b == 0) { /* log CDF(c + h) = -softplus(-a) */
    double a = (c->hi_edge - mu) * inv, sa = ds__sigmoid(-a);
    l = -ds__softplus(-a);
    g_mu = -inv * sa;
    g_s = -a * sa;
  } else if (c->b == c->count - 1) { /* log(1 - CDF(c - h)) = -softplus(b) */
    double bb = (c->lo_edge - mu) * inv, sb = ds__sigmoid(bb);
    l = -ds__softplus(bb);
    g_mu = inv * sb;
    g_s = bb * sb;
  } else {
    double a = (c->hi_edge - mu) * inv, bb = (c->lo_edge - mu) * inv, t = a - bb;
    /* sigma(a) - sigma(b) = sigma(a) sigma(-b) (1 - e^-(a-b)): no cancellation in either tail */
    l = -ds__softplus(-a) - ds__softplus(bb) + log(-expm1(-t));
    if (l > log(DS__MIX_DELTA_MIN)) {
      /* the 1/expm1(t) terms of d/da and d/db cancel in d/dmu and combine to t/expm1(t) in d/ds */
      double sa = ds__sigmoid(-a), sb = ds__sigmoid(bb);
      g_mu = -inv * (sa - sb);
      g_s = -(a * sa - bb * sb + (t < 1e-300 ? 1.0 : t / expm1(t)));
    } else { /* pdf at the centre times the bin width */
      double dx;
      l = ds__comp_log_pdf(c->p, c->K, k, c->centre, &g_mu, &g_s, &dx) + c->log_width;
      if (d_mu) {
        *d_mu = g_mu;
        *d_s = g_s; /* already 0 when clamped */
        *d_x = 0.0;
      }
      return l;
    }
  }
  if (d_mu) {
    *d_mu = g_mu;
    *d_s = passes ? g_s : 0.0;
    *d_x = 0.0;
  }
  return l;
}

double ds__mix_log_mass(const float *p, int32_t K, const ds__bins *bins, float x, float *grad_p) {
  int32_t b = ds__bins_index(bins, x);
  if (b < 0) {
    if (grad_p)
      for (int32_t i = 0; i < 3 * K; i++) grad_p[i] = NAN;
    return NAN;
  }
  double step = ds__bins_step(bins), lo = (double)bins->lo;
  ds__disc_ctx c = {p,
                    K,
                    b,
                    bins->count,
                    lo + (double)b * step,
                    lo + ((double)b - 0.5) * step,
                    lo + ((double)b + 0.5) * step,
                    log(step)};
  return ds__mix_loglik(p, K, ds__disc_comp, &c, grad_p, NULL);
}

/* ---- CDF and sampling ---- */

/* Mixture CDF (upper = 0) or survival function (upper = 1) at x, given LSE of the logits. */
static double ds__mix_tail(const float *p, int32_t K, double lse0, double x, int upper) {
  double f = 0.0;
  for (int32_t k = 0; k < K; k++) {
    int passes;
    double s = ds__log_scale(p, K, k, &passes);
    double z = (x - (double)p[K + k]) * exp(-s);
    f += exp((double)p[k] - lse0) * ds__sigmoid(upper ? -z : z);
  }
  return f;
}

double ds__mix_cdf(const float *p, int32_t K, float x) {
  return fmin(1.0, ds__mix_tail(p, K, ds__logits_lse(p, K), (double)x, 0)); /* rounding */
}

int32_t ds__mix_uniforms_needed(int32_t K, int32_t method) {
  return method == DS__MIX_SAMPLE_GUMBEL ? K + 1 : 1;
}

/* Inverse CDF by bisection. For u <= 1/2 solve F(x) = u, else S(x) = 1 - u (exact in double),
 * so both tails keep full relative precision. Bracket: with q = logit(u), every component has
 * CDF <= u at min_k(mu_k + e^s_k q) and >= u at max_k(...), hence so has the mixture. */
static double ds__mix_quantile(const float *p, int32_t K, double u) {
  double lse0 = ds__logits_lse(p, K);
  int upper = u > 0.5;
  double target = upper ? 1.0 - u : u, q = log(u) - log1p(-u);
  double lo = INFINITY, hi = -INFINITY, smin = INFINITY;
  for (int32_t k = 0; k < K; k++) {
    int passes;
    double sc = exp(ds__log_scale(p, K, k, &passes)), v = (double)p[K + k] + sc * q;
    lo = fmin(lo, v);
    hi = fmax(hi, v);
    smin = fmin(smin, sc);
  }
  /* float output: stop at 2^-26 relative, or far below the narrowest component's scale */
  for (int it = 0; it < DS__MIX_BISECT_MAX_ITERS; it++) {
    double w = hi - lo;
    if (!(w > 0x1p-26 * fmax(fabs(lo), fabs(hi)) && w > 1e-10 * smin)) break;
    double mid = lo + 0.5 * w, f = ds__mix_tail(p, K, lse0, mid, upper);
    if (upper ? f > target : f < target)
      lo = mid;
    else
      hi = mid;
  }
  return lo + 0.5 * (hi - lo);
}

/* Smallest bin whose upper edge has F >= u (S <= 1 - u for u > 1/2); the last bin is open. */
static int32_t ds__mix_quantile_bin(const float *p, int32_t K, const ds__bins *bins, double u) {
  double lse0 = ds__logits_lse(p, K), step = ds__bins_step(bins), lo_v = (double)bins->lo;
  int upper = u > 0.5;
  double target = upper ? 1.0 - u : u;
  int32_t lo = 0, hi = bins->count - 1;
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    double f = ds__mix_tail(p, K, lse0, lo_v + ((double)mid + 0.5) * step, upper);
    if (upper ? f <= target : f >= target)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

float ds__mix_sample(const float *p, int32_t K, const ds__bins *bins, int32_t method,
                     const double *u) {
  if (method == DS__MIX_SAMPLE_GUMBEL) {
    int32_t best = 0;
    double best_v = -INFINITY;
    for (int32_t k = 0; k < K; k++) {
      double v = (double)p[k] - log(-log(u[k]));
      if (v > best_v) {
        best_v = v;
        best = k;
      }
    }
    int passes;
    double s = ds__log_scale(p, K, best, &passes), uk = u[K];
    double x = (double)p[K + best] + exp(s) * (log(uk) - log1p(-uk));
    if (!bins) return (float)x;
    int32_t b = ds__bins_index(bins, (float)x);
    return ds__bins_centre(bins, b < 0 ? 0 : b);
  }
  if (!bins) return (float)ds__mix_quantile(p, K, u[0]);
  return ds__bins_centre(bins, ds__mix_quantile_bin(p, K, bins, u[0]));
}

/* ---- RGB coupling ---- */

void ds__mix_rgb_couple(const float *coeffs, int32_t K, float x_r, float x_g, float *mean_g,
                        float *mean_b) {
  for (int32_t k = 0; k < K; k++) {
    double c0 = tanh((double)coeffs[k]), c1 = tanh((double)coeffs[K + k]),
           c2 = tanh((double)coeffs[2 * K + k]);
    mean_g[k] = (float)((double)mean_g[k] + c0 * x_r);
    mean_b[k] = (float)((double)mean_b[k] + c1 * x_r + c2 * x_g);
  }
}

void ds__mix_rgb_couple_backward(const float *coeffs, int32_t K, float x_r, float x_g,
                                 const float *grad_mean_g, const float *grad_mean_b,
                                 float *grad_coeffs, double *grad_x_r, double *grad_x_g) {
  double gr = 0.0, gg = 0.0;
  for (int32_t k = 0; k < K; k++) {
    double c0 = tanh((double)coeffs[k]), c1 = tanh((double)coeffs[K + k]),
           c2 = tanh((double)coeffs[2 * K + k]);
    double dg = grad_mean_g[k], db = grad_mean_b[k];
    grad_coeffs[k] = (float)(dg * x_r * (1.0 - c0 * c0));
    grad_coeffs[K + k] = (float)(db * x_r * (1.0 - c1 * c1));
    grad_coeffs[2 * K + k] = (float)(db * x_g * (1.0 - c2 * c2));
    gr += dg * c0 + db * c1;
    gg += db * c2;
  }
  if (grad_x_r) *grad_x_r += gr;
  if (grad_x_g) *grad_x_g += gg;
}
