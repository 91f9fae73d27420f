#include "kernels/logistic_mixture.h"

#include <float.h>
#include <math.h>
#include <stddef.h>

#include "kernels/log_sum_exp.h"

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

static double ds__logits_lse(const float *p, int32_t K) {
  ds__lse a = {0.0, 0.0};
  for (int32_t k = 0; k < K; k++) ds__lse_add(&a, p[k]);
  return ds__lse_value(&a);
}

static double ds__clamp_log_scale(float s) {
  return s < DS__MIX_LOG_SCALE_MIN ? (double)DS__MIX_LOG_SCALE_MIN : (double)s;
}

/* ---- one logistic component: d[0..3) = partials w.r.t. mu, raw log-scale (0 where
 * clamped), x; d may be NULL ---- */

static double ds__logistic_log_pdf(double mu, float s_raw, double x, double *d) {
  double s = ds__clamp_log_scale(s_raw), inv = exp(-s), z = (x - mu) * inv;
  if (d) {
    double th = tanh(0.5 * z); /* d/dz log pdf = -tanh(z/2) */
    d[0] = th * inv;
    d[1] = s_raw < DS__MIX_LOG_SCALE_MIN ? 0.0 : z * th - 1.0;
    d[2] = -th * inv;
  }
  return -z - s - 2.0 * ds__softplus(-z);
}

/* A snapped observation: bin b of count, its centre and edges c -/+ h, log(2h). */
typedef struct ds__bin {
  int32_t b, count;
  double centre, lo_edge, hi_edge, log_width;
} ds__bin;

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

/* Returns 0 for a NaN x. */
static int ds__bin_of(const ds__bins *bins, float x, ds__bin *out) {
  int32_t b = ds__bins_index(bins, x);
  if (b < 0) return 0;
  double step = ds__bins_step(bins), lo = (double)bins->lo;
  out->b = b;
  out->count = bins->count;
  out->centre = lo + (double)b * step;
  out->lo_edge = lo + ((double)b - 0.5) * step;
  out->hi_edge = lo + ((double)b + 0.5) * step;
  out->log_width = log(step);
  return 1;
}

/* log P(bin) under one logistic, with PixelCNN++'s branches; a = (c + h - mu)/scale,
 * b = (c - h - mu)/scale. d[2] (x) is 0: the mass is constant within a bin. */
static double ds__logistic_log_mass(double mu, float s_raw, const ds__bin *bin, double *d) {
  double s = ds__clamp_log_scale(s_raw), inv = exp(-s);
  double l, g_mu, g_s;
  if (bin->b == 0) { /* log CDF(c + h) = -softplus(-a) */
    double a = (bin->hi_edge - mu) * inv, sa = ds__sigmoid(-a);
    l = -ds__softplus(-a);
    g_mu = -inv * sa;
    g_s = -a * sa;
  } else if (bin->b == bin->count - 1) { /* log(1 - CDF(c - h)) = -softplus(b) */
    double bb = (bin->lo_edge - mu) * inv, sb = ds__sigmoid(bb);
    l = -ds__softplus(bb);
    g_mu = inv * sb;
    g_s = bb * sb;
  } else {
    double a = (bin->hi_edge - mu) * inv, bb = (bin->lo_edge - mu) * inv, t = a - bb;
    /* sigma(a) - sigma(b) = sigma(a) sigma(-b) (1 - e^-(a-b)): no cancellation in either tail */
    l = -ds__softplus(-a) - ds__softplus(bb) + log(-expm1(-t));
    if (!(l > log(DS__MIX_DELTA_MIN))) { /* pdf at the centre times the bin width */
      l = ds__logistic_log_pdf(mu, s_raw, bin->centre, d) + bin->log_width;
      if (d) d[2] = 0.0;
      return l;
    }
    /* the 1/expm1(t) terms of d/da and d/db cancel in d/dmu and combine to t/expm1(t) in d/ds */
    double sa = ds__sigmoid(-a), sb = ds__sigmoid(bb);
    g_mu = -inv * (sa - sb);
    g_s = -(a * sa - bb * sb + (t < 1e-300 ? 1.0 : t / expm1(t)));
  }
  if (d) {
    d[0] = g_mu;
    d[1] = s_raw < DS__MIX_LOG_SCALE_MIN ? 0.0 : g_s;
    d[2] = 0.0;
  }
  return l;
}

/* Continuous (bin NULL, at x) or discretized (at bin). */
static double ds__logistic_log_prob(double mu, float s_raw, const ds__bin *bin, double x,
                                    double *d) {
  return bin ? ds__logistic_log_mass(mu, s_raw, bin, d) : ds__logistic_log_pdf(mu, s_raw, x, d);
}

/* ---- scalar heads: log p = LSE_k(logit_k + l_k) - LSE(logits); d/d logit_k = r_k - pi_k
 * with r the posterior over components. l_k is evaluated twice (pass 1 for the LSE, pass 2
 * for the gradients) to need no scratch memory; both passes compute identical values. ---- */

static double ds__mix_loglik(const float *p, int32_t K, const ds__bin *bin, double x, float *grad_p,
                             double *grad_x) {
  double lse0 = ds__logits_lse(p, K);
  ds__lse a = {0.0, 0.0};
  for (int32_t k = 0; k < K; k++)
    ds__lse_add(&a, (double)p[k] + ds__logistic_log_prob(p[K + k], p[2 * K + k], bin, x, NULL));
  double lse1 = ds__lse_value(&a);
  if (grad_p || grad_x) {
    double gx = 0.0;
    for (int32_t k = 0; k < K; k++) {
      double d[3];
      double l = ds__logistic_log_prob(p[K + k], p[2 * K + k], bin, x, d);
      double r = exp((double)p[k] + l - lse1), pi = exp((double)p[k] - lse0);
      if (grad_p) {
        grad_p[k] = (float)(r - pi);
        grad_p[K + k] = ds__saturate(r * d[0]);
        grad_p[2 * K + k] = ds__saturate(r * d[1]);
      }
      gx += r * d[2];
    }
    if (grad_x) *grad_x = gx;
  }
  return lse1 - lse0;
}

/* Continuous head in one pass, in the linear domain. The logistic pdf is symmetric, so with
 * t = exp(-|z|):  pdf = e^-s t / (1 + t)^2  and  tanh(z/2) = sign(z) (1 - t) / (1 + t).
 * Per component that is exp(-s), exp(-|z|) and the softmax weight exp(logit - max): no
 * log1p, no per-component log-sum-exp. (This is the hot loop of MADE training.) When the
 * mixture density underflows (x in the far tails of every component) it returns 0 and the
 * caller falls back to the log-domain path. */
#define DS__MIX_ONE_PASS_MAX_K DS__MIX_MAX_COMPONENTS

static int ds__mix_log_density_linear(const float *p, int32_t K, double x, float *grad_p,
                                      double *grad_x, double *out) {
  double w[DS__MIX_ONE_PASS_MAX_K], prior[DS__MIX_ONE_PASS_MAX_K];
  double dmu[DS__MIX_ONE_PASS_MAX_K], ds[DS__MIX_ONE_PASS_MAX_K];
  double lmax = -INFINITY;
  for (int32_t k = 0; k < K; k++)
    if ((double)p[k] > lmax) lmax = (double)p[k];
  double sum_w = 0.0, sum_wp = 0.0;
  for (int32_t k = 0; k < K; k++) {
    float s_raw = p[2 * K + k];
    double s = ds__clamp_log_scale(s_raw), inv = exp(-s), z = (x - (double)p[K + k]) * inv;
    double t = exp(-fabs(z)), one_t = 1.0 + t;       /* t in (0, 1] */
    double th = (1.0 - t) / one_t;                   /* tanh(|z| / 2) */
    if (z < 0) th = -th;
    double pdf = inv * t / (one_t * one_t);
    double wk = exp((double)p[k] - lmax);
    prior[k] = wk;
    dmu[k] = th * inv;                               /* d log pdf / d mu = -d / d x */
    ds[k] = s_raw < DS__MIX_LOG_SCALE_MIN ? 0.0 : z * th - 1.0;
    sum_w += wk;
    w[k] = wk * pdf;                                 /* unnormalised posterior */
    sum_wp += w[k];
  }
  if (!(sum_wp > 1e-280) || !isfinite(sum_wp)) return 0;
  if (grad_p || grad_x) {
    double gx = 0.0;
    for (int32_t k = 0; k < K; k++) {
      double r = w[k] / sum_wp;
      if (grad_p) {
        grad_p[k] = (float)(r - prior[k] / sum_w);
        grad_p[K + k] = ds__saturate(r * dmu[k]);
        grad_p[2 * K + k] = ds__saturate(r * ds[k]);
      }
      gx -= r * dmu[k];
    }
    if (grad_x) *grad_x = gx;
  }
  *out = log(sum_wp) - log(sum_w);
  return 1;
}

double ds__mix_log_density(const float *p, int32_t K, float x, float *grad_p, double *grad_x) {
  /* the general path handles infinities and all -inf components exactly */
  if (K <= DS__MIX_ONE_PASS_MAX_K && isfinite(x)) {
    int finite = 1;
    for (int32_t i = 0; i < 3 * K && finite; i++) finite = isfinite(p[i]);
    double lp;
    if (finite && ds__mix_log_density_linear(p, K, (double)x, grad_p, grad_x, &lp)) return lp;
  }
  return ds__mix_loglik(p, K, NULL, (double)x, grad_p, grad_x);
}

double ds__mix_log_mass(const float *p, int32_t K, const ds__bins *bins, float x, float *grad_p) {
  ds__bin bin;
  if (!ds__bin_of(bins, x, &bin)) {
    if (grad_p)
      for (int32_t i = 0; i < 3 * K; i++) grad_p[i] = NAN;
    return NAN;
  }
  return ds__mix_loglik(p, K, &bin, bin.centre, grad_p, NULL);
}

/* ---- RGB joint mixture (layout in the header) ---- */

#define DS__RGB_MEAN(K, c, k) ((K) + 3 * (K) * (c) + (k))
#define DS__RGB_SCALE(K, c, k) ((K) + 3 * (K) * (c) + (K) + (k))
#define DS__RGB_COEFF(K, c, k) ((K) + 3 * (K) * (c) + 2 * (K) + (k))

/* The three tanh coefficients of component k (c0 from R's block, c1 G's, c2 B's). */
static void ds__rgb_coeffs(const float *p, int32_t K, int32_t k, double c[3]) {
  for (int j = 0; j < 3; j++) c[j] = tanh((double)p[DS__RGB_COEFF(K, j, k)]);
}

/* Coupled mean of channel ch for component k (coefficients c from ds__rgb_coeffs) given the
 * values xv of the channels before it. */
static double ds__rgb_mean(const float *p, int32_t K, int32_t k, int ch, const double *c,
                           const double *xv) {
  double mu = (double)p[DS__RGB_MEAN(K, ch, k)];
  if (ch == 1) mu += c[0] * xv[0];
  if (ch == 2) mu += c[1] * xv[0] + c[2] * xv[1];
  return mu;
}

/* Sum over channels 0..n of component k's log-probabilities at xv (bin NULL: continuous). */
static double ds__rgb_comp(const float *p, int32_t K, int32_t k, const ds__bin *bin,
                           const double *xv, int n, double d[3][3]) {
  double c[3], l = 0.0;
  ds__rgb_coeffs(p, K, k, c);
  for (int ch = 0; ch < n; ch++)
    l += ds__logistic_log_prob(ds__rgb_mean(p, K, k, ch, c, xv), p[DS__RGB_SCALE(K, ch, k)],
                               bin ? &bin[ch] : NULL, xv[ch], d ? d[ch] : NULL);
  return l;
}

double ds__mix_rgb_log_prob(const float *p, int32_t K, const ds__bins *bins, const float x[3],
                            float *grad_p, double *grad_x) {
  ds__bin bin[3];
  double xv[3];
  for (int ch = 0; ch < 3; ch++) {
    if (bins && !ds__bin_of(bins, x[ch], &bin[ch])) {
      if (grad_p)
        for (int32_t i = 0; i < 10 * K; i++) grad_p[i] = NAN;
      if (grad_x) grad_x[0] = grad_x[1] = grad_x[2] = NAN;
      return NAN;
    }
    xv[ch] = bins ? bin[ch].centre : (double)x[ch];
  }
  const ds__bin *bp = bins ? bin : NULL;
  double lse0 = ds__logits_lse(p, K);
  ds__lse a = {0.0, 0.0};
  for (int32_t k = 0; k < K; k++)
    ds__lse_add(&a, (double)p[k] + ds__rgb_comp(p, K, k, bp, xv, 3, NULL));
  double lse1 = ds__lse_value(&a);
  if (grad_p || grad_x) {
    double gx[3] = {0.0, 0.0, 0.0};
    for (int32_t k = 0; k < K; k++) {
      double d[3][3], c[3];
      double l = ds__rgb_comp(p, K, k, bp, xv, 3, d);
      double r = exp((double)p[k] + l - lse1), pi = exp((double)p[k] - lse0);
      ds__rgb_coeffs(p, K, k, c);
      if (grad_p) {
        grad_p[k] = (float)(r - pi);
        for (int ch = 0; ch < 3; ch++) {
          grad_p[DS__RGB_MEAN(K, ch, k)] = ds__saturate(r * d[ch][0]);
          grad_p[DS__RGB_SCALE(K, ch, k)] = ds__saturate(r * d[ch][1]);
        }
        /* mu_G = m_G + c0 x_R, mu_B = m_B + c1 x_R + c2 x_G, dc/draw = 1 - c^2 */
        grad_p[DS__RGB_COEFF(K, 0, k)] = ds__saturate(r * d[1][0] * xv[0] * (1.0 - c[0] * c[0]));
        grad_p[DS__RGB_COEFF(K, 1, k)] = ds__saturate(r * d[2][0] * xv[0] * (1.0 - c[1] * c[1]));
        grad_p[DS__RGB_COEFF(K, 2, k)] = ds__saturate(r * d[2][0] * xv[1] * (1.0 - c[2] * c[2]));
      }
      gx[0] += r * (d[0][2] + d[1][0] * c[0] + d[2][0] * c[1]);
      gx[1] += r * (d[1][2] + d[2][0] * c[2]);
      gx[2] += r * d[2][2];
    }
    if (grad_x)
      for (int ch = 0; ch < 3; ch++) grad_x[ch] = bins ? 0.0 : gx[ch];
  }
  return lse1 - lse0;
}

/* ---- CDF and sampling ----
 * A view is one channel's conditional mixture: the scalar 3K layout (ch < 0), or RGB channel
 * ch given the channels before it, whose log-probabilities are added to the logits (posterior
 * component weights) and which shift the means. */
typedef struct ds__mix_view {
  const float *p;
  int32_t K;
  int ch;
  const ds__bin *prev_bin; /* bins of the previous channels, NULL if continuous */
  const double *prev_x;
} ds__mix_view;

static void ds__view_comp(const ds__mix_view *v, int32_t k, double *logw, double *mu,
                          double *log_scale) {
  const float *p = v->p;
  int32_t K = v->K;
  if (v->ch < 0) {
    *logw = p[k];
    *mu = p[K + k];
    *log_scale = ds__clamp_log_scale(p[2 * K + k]);
    return;
  }
  double c[3];
  ds__rgb_coeffs(p, K, k, c);
  *logw = (double)p[k] + ds__rgb_comp(p, K, k, v->prev_bin, v->prev_x, v->ch, NULL);
  *mu = ds__rgb_mean(p, K, k, v->ch, c, v->prev_x);
  *log_scale = ds__clamp_log_scale(p[DS__RGB_SCALE(K, v->ch, k)]);
}

static double ds__view_lse(const ds__mix_view *v) {
  ds__lse a = {0.0, 0.0};
  for (int32_t k = 0; k < v->K; k++) {
    double lw, mu, s;
    ds__view_comp(v, k, &lw, &mu, &s);
    ds__lse_add(&a, lw);
  }
  return ds__lse_value(&a);
}

/* Mixture CDF (upper = 0) or survival function (upper = 1) at x; lse = ds__view_lse(v). */
static double ds__view_tail(const ds__mix_view *v, double lse, double x, int upper) {
  double f = 0.0;
  for (int32_t k = 0; k < v->K; k++) {
    double lw, mu, s;
    ds__view_comp(v, k, &lw, &mu, &s);
    double z = (x - mu) * exp(-s);
    f += exp(lw - lse) * ds__sigmoid(upper ? -z : z);
  }
  return f;
}

double ds__mix_cdf(const float *p, int32_t K, float x) {
  ds__mix_view v = {p, K, -1, NULL, NULL};
  double f = ds__view_tail(&v, ds__view_lse(&v), (double)x, 0);
  return f > 1.0 ? 1.0 : f; /* the sum of weights can round above 1; NaN passes through */
}

int32_t ds__mix_uniforms_needed(int32_t K, int32_t method) {
  return method == DS__MIX_SAMPLE_GUMBEL ? K + 1 : 1;
}

int32_t ds__mix_rgb_uniforms_needed(int32_t K, int32_t method) {
  return method == DS__MIX_SAMPLE_GUMBEL ? K + 3 : 3;
}

/* Inverse CDF by bisection. For u <= 1/2 solve F(x) = u, else S(x) = 1 - u (exact in double),
 * so both tails keep full relative precision. Bracket: with q = logit(u), every component has
 * CDF <= u at min_k(mu_k + e^s_k q) and >= u at max_k(...), hence so has the mixture. */
static double ds__view_quantile(const ds__mix_view *v, double u) {
  double lse = ds__view_lse(v);
  int upper = u > 0.5;
  double target = upper ? 1.0 - u : u, q = log(u) - log1p(-u);
  double lo = INFINITY, hi = -INFINITY, smin = INFINITY;
  for (int32_t k = 0; k < v->K; k++) {
    double lw, mu, s;
    ds__view_comp(v, k, &lw, &mu, &s);
    double sc = exp(s), b = mu + sc * q;
    lo = fmin(lo, b);
    hi = fmax(hi, b);
    smin = fmin(smin, sc);
  }
  /* float output: stop at 2^-26 relative, or far below the narrowest component's scale */
  for (int it = 0; it < DS__MIX_BISECT_MAX_ITERS; it++) {
    double w = hi - lo;
    if (!(w > 0x1p-26 * fmax(fabs(lo), fabs(hi)) && w > 1e-10 * smin)) break;
    double mid = lo + 0.5 * w, f = ds__view_tail(v, lse, mid, upper);
    if (upper ? f > target : f < target)
      lo = mid;
    else
      hi = mid;
  }
  return lo + 0.5 * (hi - lo);
}

/* Smallest bin whose upper edge has F >= u (S <= 1 - u for u > 1/2); the last bin is open. */
static int32_t ds__view_quantile_bin(const ds__mix_view *v, const ds__bins *bins, double u) {
  double lse = ds__view_lse(v), step = ds__bins_step(bins), lo_v = (double)bins->lo;
  int upper = u > 0.5;
  double target = upper ? 1.0 - u : u;
  int32_t lo = 0, hi = bins->count - 1;
  while (lo < hi) {
    int32_t mid = lo + (hi - lo) / 2;
    double f = ds__view_tail(v, lse, lo_v + ((double)mid + 0.5) * step, upper);
    if (upper ? f <= target : f >= target)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

static float ds__view_sample_bisect(const ds__mix_view *v, const ds__bins *bins, double u) {
  if (!bins) return (float)ds__view_quantile(v, u);
  return ds__bins_centre(bins, ds__view_quantile_bin(v, bins, u));
}

/* Gumbel-max: argmax_k logit_k - log(-log u_k); ties go to the lower index. */
static int32_t ds__gumbel_choice(const float *p, int32_t K, const double *u) {
  int32_t best = 0;
  double best_v = -INFINITY;
  for (int32_t k = 0; k < K; k++) {
    double v = (double)p[k] - log(-log(u[k]));
    if (v > best_v) {
      best_v = v;
      best = k;
    }
  }
  return best;
}

/* One logistic draw by inversion, snapped to a bin centre if discretized. */
static float ds__logistic_draw(double mu, double log_scale, const ds__bins *bins, double u) {
  double x = mu + exp(log_scale) * (log(u) - log1p(-u));
  if (!bins) return (float)x;
  int32_t b = ds__bins_index(bins, (float)x);
  return ds__bins_centre(bins, b < 0 ? 0 : b);
}

float ds__mix_sample(const float *p, int32_t K, const ds__bins *bins, int32_t method,
                     const double *u) {
  if (method == DS__MIX_SAMPLE_GUMBEL) {
    int32_t k = ds__gumbel_choice(p, K, u);
    return ds__logistic_draw(p[K + k], ds__clamp_log_scale(p[2 * K + k]), bins, u[K]);
  }
  ds__mix_view v = {p, K, -1, NULL, NULL};
  return ds__view_sample_bisect(&v, bins, u[0]);
}

void ds__mix_rgb_sample(const float *p, int32_t K, const ds__bins *bins, int32_t method,
                        const double *u, float x[3]) {
  /* each drawn channel is conditioned on exactly as ds__mix_rgb_log_prob would see it */
  ds__bin bin[3];
  double xv[3] = {0.0, 0.0, 0.0};
  double c[3];
  int32_t k = method == DS__MIX_SAMPLE_GUMBEL ? ds__gumbel_choice(p, K, u) : 0;
  ds__rgb_coeffs(p, K, k, c);
  for (int ch = 0; ch < 3; ch++) {
    if (method == DS__MIX_SAMPLE_GUMBEL) {
      x[ch] = ds__logistic_draw(ds__rgb_mean(p, K, k, ch, c, xv),
                                ds__clamp_log_scale(p[DS__RGB_SCALE(K, ch, k)]), bins, u[K + ch]);
    } else {
      ds__mix_view v = {p, K, ch, bins ? bin : NULL, xv};
      x[ch] = ds__view_sample_bisect(&v, bins, u[ch]);
    }
    if (bins) {
      ds__bin_of(bins, x[ch], &bin[ch]);
      xv[ch] = bin[ch].centre;
    } else {
      xv[ch] = (double)x[ch];
    }
  }
}

/* ---- greedy means (the denoisers' DS_CONDITIONAL_MEAN) ---- */

/* A mean moved to the nearest bin centre (clamped to the bins) if discretized; the bin
 * arithmetic is float here, as the greedy mean has always been computed. */
static float ds__mean_snap(const ds__bins *bins, float v) {
  if (!bins) return v;
  float step = (bins->hi - bins->lo) / (float)(bins->count - 1);
  float b = roundf((v - bins->lo) / step);
  b = b < 0 ? 0 : b > (float)(bins->count - 1) ? (float)(bins->count - 1) : b;
  return bins->lo + b * step;
}

float ds__mix_mean(const float *p, int32_t K, const ds__bins *bins) {
  double mx = p[0], z = 0.0, acc = 0.0;
  for (int32_t k = 1; k < K; k++) mx = p[k] > mx ? p[k] : mx;
  for (int32_t k = 0; k < K; k++) {
    double w = exp(p[k] - mx);
    z += w;
    acc += w * p[K + k];
  }
  return ds__mean_snap(bins, (float)(acc / z));
}

void ds__mix_rgb_mean(const float *p, int32_t K, const ds__bins *bins, float x[3]) {
  double mx = p[0], z = 0.0;
  for (int32_t k = 1; k < K; k++) mx = p[k] > mx ? p[k] : mx;
  double w[DS__MIX_MAX_COMPONENTS];
  for (int32_t k = 0; k < K; k++) z += (w[k] = exp(p[k] - mx));
  double r = 0, g = 0, b = 0;
  for (int32_t k = 0; k < K; k++) r += w[k] * p[DS__RGB_MEAN(K, 0, k)];
  x[0] = ds__mean_snap(bins, (float)(r / z));
  for (int32_t k = 0; k < K; k++)
    g += w[k] * (p[DS__RGB_MEAN(K, 1, k)] + tanh(p[DS__RGB_COEFF(K, 0, k)]) * x[0]);
  x[1] = ds__mean_snap(bins, (float)(g / z));
  for (int32_t k = 0; k < K; k++)
    b += w[k] * (p[DS__RGB_MEAN(K, 2, k)] + tanh(p[DS__RGB_COEFF(K, 1, k)]) * x[0] +
                 tanh(p[DS__RGB_COEFF(K, 2, k)]) * x[1]);
  x[2] = ds__mean_snap(bins, (float)(b / z));
}

/* ---- component settings (data-dependent initialisation) ---- */

void ds__mix_set_components(float *p, int32_t K, const double *mu, float log_scale) {
  for (int32_t k = 0; k < K; k++) {
    p[k] = 0.0f;
    p[K + k] = (float)mu[k];
    p[2 * K + k] = log_scale;
  }
}

void ds__mix_rgb_set_components(float *p, int32_t K, int32_t ch, const double *mu,
                                float log_scale) {
  for (int32_t k = 0; k < K; k++) {
    p[k] = 0.0f;
    p[DS__RGB_MEAN(K, ch, k)] = (float)mu[k];
    p[DS__RGB_SCALE(K, ch, k)] = log_scale;
  }
}
