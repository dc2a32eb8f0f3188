/*
 * kp_features.h - feature generators, the C twins of automl.features.
 *
 * Every function computes, for one channel of one window, the same float32
 * bits as its Python reference (docs/C_TWINS.md): float only, sequential
 * sums in sample order, the same association, no libm call other than
 * sqrtf/fabsf (correctly rounded). Compile with -ffp-contract=off and without
 * -ffast-math. Header-only C99, static inline, no malloc.
 *
 * Conventions:
 *   x[i * stride], i = 0..n-1     one channel of an interleaved window
 *                                 (stride = number of channels), n >= 1;
 *   S(e)                          s = 0.0f; for (i = 0; i < n; ++i) s += e;
 *   c_i                           mean-removed sample (x_i - x_0) - md,
 *                                 md = S(x_i - x_0) / (float)n (kp__center);
 *   scratch                       float[n] from the caller (sorted copy);
 *   cos_table, sin_table          float[n] from automl.features.dft_tables(n);
 *   dt                            float32(1 / sample_rate_hz) seconds;
 *   fs                            float32(sample_rate_hz) Hz.
 * Pair generators (ColumnFusion) take two channels a, b of the same window
 * (same n and stride). Counts and indices are returned as float.
 *
 * Names: kp_<family>_<generator>, as Generator.c_function in
 * automl/features/_registry.py. Defined values for constant windows and
 * windows of 1 or 2 samples are documented in the automl.features modules and
 * repeated next to each function.
 */
#ifndef KP_FEATURES_H
#define KP_FEATURES_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* shared helpers                                                           */
/* ------------------------------------------------------------------------ */

/* S(x). */
static inline float kp__sum(const float *x, int n, int stride)
{
    float s = 0.0f;
    int i;
    for (i = 0; i < n; ++i) {
        s += x[i * stride];
    }
    return s;
}

/* S(x) / n. */
static inline float kp__mean(const float *x, int n, int stride)
{
    return kp__sum(x, n, stride) / (float)n;
}

/* md = S(x_i - x_0) / n; then c_i = (x[i*stride] - x[0]) - md. */
static inline float kp__center(const float *x, int n, int stride)
{
    const float x0 = x[0];
    float s = 0.0f;
    int i;
    for (i = 0; i < n; ++i) {
        s += x[i * stride] - x0;
    }
    return s / (float)n;
}

/* Index of the first maximum / minimum (strict comparison). */
static inline int kp__argmax(const float *x, int n, int stride)
{
    float best = x[0];
    int k = 0, i;
    for (i = 1; i < n; ++i) {
        if (x[i * stride] > best) {
            best = x[i * stride];
            k = i;
        }
    }
    return k;
}

static inline int kp__argmin(const float *x, int n, int stride)
{
    float best = x[0];
    int k = 0, i;
    for (i = 1; i < n; ++i) {
        if (x[i * stride] < best) {
            best = x[i * stride];
            k = i;
        }
    }
    return k;
}

/* Population variance m2 = S(c*c) / n of the mean-removed samples. */
static inline float kp__variance(const float *x, int n, int stride)
{
    const float x0 = x[0];
    const float md = kp__center(x, n, stride);
    float s2 = 0.0f;
    int i;
    for (i = 0; i < n; ++i) {
        const float c = (x[i * stride] - x0) - md;
        s2 += c * c;
    }
    return s2 / (float)n;
}

/* Copy one channel into out[0..n-1] and sort ascending (stable insertion sort). */
static inline void kp_sort_copy(const float *x, int n, int stride, float *out)
{
    int i, j;
    for (i = 0; i < n; ++i) {
        const float v = x[i * stride];
        j = i;
        while (j > 0 && out[j - 1] > v) {
            out[j] = out[j - 1];
            --j;
        }
        out[j] = v;
    }
}

/* Percentile num/den of a sorted array: h = num*(n-1), lo = h / den,
 * r = h % den; s[lo] if r == 0, else s[lo] + (r/den) * (s[lo+1] - s[lo]). */
static inline float kp_percentile_sorted(const float *s, int n, int num, int den)
{
    const int h = num * (n - 1);
    const int lo = h / den;
    const int r = h % den;
    if (r == 0) {
        return s[lo];
    }
    return s[lo] + ((float)r / (float)den) * (s[lo + 1] - s[lo]);
}

/* ------------------------------------------------------------------------ */
/* Statistical                                                              */
/* ------------------------------------------------------------------------ */

static inline float kp_statistical_mean(const float *x, int n, int stride)
{
    return kp__mean(x, n, stride);
}

/* sqrtf(m2); 0 for a constant window. */
static inline float kp_statistical_std(const float *x, int n, int stride)
{
    return sqrtf(kp__variance(x, n, stride));
}

static inline float kp_statistical_min(const float *x, int n, int stride)
{
    return x[kp__argmin(x, n, stride) * stride];
}

static inline float kp_statistical_max(const float *x, int n, int stride)
{
    return x[kp__argmax(x, n, stride) * stride];
}

static inline float kp_statistical_p25(const float *x, int n, int stride, float *scratch)
{
    kp_sort_copy(x, n, stride, scratch);
    return kp_percentile_sorted(scratch, n, 1, 4);
}

static inline float kp_statistical_p75(const float *x, int n, int stride, float *scratch)
{
    kp_sort_copy(x, n, stride, scratch);
    return kp_percentile_sorted(scratch, n, 3, 4);
}

static inline float kp_statistical_iqr(const float *x, int n, int stride, float *scratch)
{
    kp_sort_copy(x, n, stride, scratch);
    return kp_percentile_sorted(scratch, n, 3, 4) - kp_percentile_sorted(scratch, n, 1, 4);
}

static inline float kp_statistical_sum(const float *x, int n, int stride)
{
    return kp__sum(x, n, stride);
}

/* m3 / (m2 * sqrtf(m2)); 0 when that denominator is 0 (constant, n == 1). */
static inline float kp_statistical_skewness(const float *x, int n, int stride)
{
    const float x0 = x[0];
    const float md = kp__center(x, n, stride);
    float s2 = 0.0f, s3 = 0.0f, m2, m3, den;
    int i;
    for (i = 0; i < n; ++i) {
        const float c = (x[i * stride] - x0) - md;
        const float c2 = c * c;
        s2 += c2;
        s3 += c2 * c;
    }
    m2 = s2 / (float)n;
    m3 = s3 / (float)n;
    den = m2 * sqrtf(m2);
    return den > 0.0f ? m3 / den : 0.0f;
}

/* m4 / (m2 * m2) - 3; 0 when m2 * m2 is 0 (constant, n == 1). */
static inline float kp_statistical_kurtosis(const float *x, int n, int stride)
{
    const float x0 = x[0];
    const float md = kp__center(x, n, stride);
    float s2 = 0.0f, s4 = 0.0f, m2, m4, den;
    int i;
    for (i = 0; i < n; ++i) {
        const float c = (x[i * stride] - x0) - md;
        const float c2 = c * c;
        s2 += c2;
        s4 += c2 * c2;
    }
    m2 = s2 / (float)n;
    m4 = s4 / (float)n;
    den = m2 * m2;
    return den > 0.0f ? m4 / den - 3.0f : 0.0f;
}

static inline float kp_statistical_variance(const float *x, int n, int stride)
{
    return kp__variance(x, n, stride);
}

static inline float kp_statistical_median(const float *x, int n, int stride, float *scratch)
{
    kp_sort_copy(x, n, stride, scratch);
    return kp_percentile_sorted(scratch, n, 1, 2);
}

static inline float kp_statistical_abs_mean(const float *x, int n, int stride)
{
    float s = 0.0f;
    int i;
    for (i = 0; i < n; ++i) {
        s += fabsf(x[i * stride]);
    }
    return s / (float)n;
}

/* ------------------------------------------------------------------------ */
/* Shape: u_i = (float)i - tm, tm = (float)(n-1) / 2                        */
/* ------------------------------------------------------------------------ */

/* Sty / Stt; 0 when n == 1. */
static inline float kp_shape_slope(const float *x, int n, int stride)
{
    const float x0 = x[0];
    const float md = kp__center(x, n, stride);
    const float tm = (float)(n - 1) / 2.0f;
    float stt = 0.0f, sty = 0.0f;
    int i;
    for (i = 0; i < n; ++i) {
        const float u = (float)i - tm;
        const float c = (x[i * stride] - x0) - md;
        stt += u * u;
        sty += u * c;
    }
    return stt > 0.0f ? sty / stt : 0.0f;
}

/* mean - slope * tm. */
static inline float kp_shape_intercept(const float *x, int n, int stride)
{
    const float tm = (float)(n - 1) / 2.0f;
    return kp__mean(x, n, stride) - kp_shape_slope(x, n, stride) * tm;
}

/* sqrtf((S(r*r) / (n-2)) / Stt), r_i = c_i - slope * u_i; 0 when n <= 2. */
static inline float kp_shape_stderr(const float *x, int n, int stride)
{
    const float x0 = x[0];
    const float tm = (float)(n - 1) / 2.0f;
    float md, slope, stt = 0.0f, sse = 0.0f;
    int i;
    if (n <= 2) {
        return 0.0f;
    }
    md = kp__center(x, n, stride);
    slope = kp_shape_slope(x, n, stride);
    for (i = 0; i < n; ++i) {
        const float u = (float)i - tm;
        const float c = (x[i * stride] - x0) - md;
        const float r = c - slope * u;
        stt += u * u;
        sse += r * r;
    }
    return sqrtf((sse / (float)(n - 2)) / stt);
}

/* Number of i in 1..n-1 with (x[i-1] < 0) != (x[i] < 0). */
static inline float kp_shape_zero_crossings(const float *x, int n, int stride)
{
    int count = 0, i;
    int prev = x[0] < 0.0f;
    for (i = 1; i < n; ++i) {
        const int cur = x[i * stride] < 0.0f;
        count += cur != prev;
        prev = cur;
    }
    return (float)count;
}

/* Number of i in 1..n-1 with (x[i-1] < mean) != (x[i] < mean). */
static inline float kp_shape_mean_crossings(const float *x, int n, int stride)
{
    const float mean = kp__mean(x, n, stride);
    int count = 0, i;
    int prev = x[0] < mean;
    for (i = 1; i < n; ++i) {
        const int cur = x[i * stride] < mean;
        count += cur != prev;
        prev = cur;
    }
    return (float)count;
}

/* Strict local maxima above the mean, i in 1..n-2; 0 when n < 3. */
static inline float kp_shape_peak_count(const float *x, int n, int stride)
{
    float mean;
    int count = 0, i;
    if (n < 3) {
        return 0.0f;
    }
    mean = kp__mean(x, n, stride);
    for (i = 1; i < n - 1; ++i) {
        const float v = x[i * stride];
        count += v > x[(i - 1) * stride] && v > x[(i + 1) * stride] && v > mean;
    }
    return (float)count;
}

static inline float kp_shape_argmax(const float *x, int n, int stride)
{
    return (float)kp__argmax(x, n, stride);
}

static inline float kp_shape_argmin(const float *x, int n, int stride)
{
    return (float)kp__argmin(x, n, stride);
}

/* ------------------------------------------------------------------------ */
/* ColumnFusion: e_i = a_i - b_i                                            */
/* ------------------------------------------------------------------------ */

static inline float kp_columnfusion_mean_diff(const float *a, const float *b, int n, int stride)
{
    float s = 0.0f;
    int i;
    for (i = 0; i < n; ++i) {
        s += a[i * stride] - b[i * stride];
    }
    return s / (float)n;
}

/* max(e) - min(e) (first extremes); 0 when n == 1. */
static inline float kp_columnfusion_range_diff(const float *a, const float *b, int n, int stride)
{
    float hi = a[0] - b[0], lo = hi;
    int i;
    for (i = 1; i < n; ++i) {
        const float e = a[i * stride] - b[i * stride];
        if (e > hi) {
            hi = e;
        }
        if (e < lo) {
            lo = e;
        }
    }
    return hi - lo;
}

/* Sab / (sqrtf(Saa) * sqrtf(Sbb)) clamped to [-1, 1]; 0 if a or b is constant. */
static inline float kp_columnfusion_correlation(const float *a, const float *b, int n, int stride)
{
    const float a0 = a[0], b0 = b[0];
    const float mda = kp__center(a, n, stride);
    const float mdb = kp__center(b, n, stride);
    float sab = 0.0f, saa = 0.0f, sbb = 0.0f, den, r;
    int i;
    for (i = 0; i < n; ++i) {
        const float ca = (a[i * stride] - a0) - mda;
        const float cb = (b[i * stride] - b0) - mdb;
        sab += ca * cb;
        saa += ca * ca;
        sbb += cb * cb;
    }
    den = sqrtf(saa) * sqrtf(sbb);
    if (!(den > 0.0f)) {
        return 0.0f;
    }
    r = sab / den;
    if (r > 1.0f) {
        r = 1.0f;
    }
    if (r < -1.0f) {
        r = -1.0f;
    }
    return r;
}

/* ------------------------------------------------------------------------ */
/* Area (rectangle rule, dt seconds per sample)                              */
/* ------------------------------------------------------------------------ */

static inline float kp_area_total_area(const float *x, int n, int stride, float dt)
{
    return kp__sum(x, n, stride) * dt;
}

static inline float kp_area_abs_area(const float *x, int n, int stride, float dt)
{
    float s = 0.0f;
    int i;
    for (i = 0; i < n; ++i) {
        s += fabsf(x[i * stride]);
    }
    return s * dt;
}

/* S(|c|) * dt; 0 for a constant window. */
static inline float kp_area_abs_area_dc(const float *x, int n, int stride, float dt)
{
    const float x0 = x[0];
    const float md = kp__center(x, n, stride);
    float s = 0.0f;
    int i;
    for (i = 0; i < n; ++i) {
        s += fabsf((x[i * stride] - x0) - md);
    }
    return s * dt;
}

/* ------------------------------------------------------------------------ */
/* RateOfChange: r_i = x_{i+1} - x_i, i = 0..n-2; all 0 when n == 1          */
/* ------------------------------------------------------------------------ */

static inline float kp_rateofchange_mean(const float *x, int n, int stride)
{
    float s = 0.0f;
    int i;
    if (n < 2) {
        return 0.0f;
    }
    for (i = 0; i < n - 1; ++i) {
        s += x[(i + 1) * stride] - x[i * stride];
    }
    return s / (float)(n - 1);
}

static inline float kp_rateofchange_std(const float *x, int n, int stride)
{
    const int m = n - 1;
    float r0, s = 0.0f, md, s2 = 0.0f;
    int i;
    if (m < 1) {
        return 0.0f;
    }
    r0 = x[stride] - x[0];
    for (i = 0; i < m; ++i) {
        s += (x[(i + 1) * stride] - x[i * stride]) - r0;
    }
    md = s / (float)m;
    for (i = 0; i < m; ++i) {
        const float c = ((x[(i + 1) * stride] - x[i * stride]) - r0) - md;
        s2 += c * c;
    }
    return sqrtf(s2 / (float)m);
}

static inline float kp_rateofchange_max(const float *x, int n, int stride)
{
    float best;
    int i;
    if (n < 2) {
        return 0.0f;
    }
    best = x[stride] - x[0];
    for (i = 1; i < n - 1; ++i) {
        const float r = x[(i + 1) * stride] - x[i * stride];
        if (r > best) {
            best = r;
        }
    }
    return best;
}

static inline float kp_rateofchange_min(const float *x, int n, int stride)
{
    float best;
    int i;
    if (n < 2) {
        return 0.0f;
    }
    best = x[stride] - x[0];
    for (i = 1; i < n - 1; ++i) {
        const float r = x[(i + 1) * stride] - x[i * stride];
        if (r < best) {
            best = r;
        }
    }
    return best;
}

/* ------------------------------------------------------------------------ */
/* Frequency: direct DFT of the mean-removed window, bins k = 1..n/2         */
/* ------------------------------------------------------------------------ */

/* P_k = re*re + im*im, re = S(c_i * cos_table[(k*i) mod n]),
 * im = S(c_i * sin_table[(k*i) mod n]); x0 = x[0], md = kp__center(x, n, stride). */
static inline float kp__dft_power(const float *x, int n, int stride, const float *cos_table,
                                  const float *sin_table, int k, float x0, float md)
{
    float re = 0.0f, im = 0.0f;
    int i, m = 0; /* m = (k * i) mod n, without overflow */
    for (i = 0; i < n; ++i) {
        const float c = (x[i * stride] - x0) - md;
        re += c * cos_table[m];
        im += c * sin_table[m];
        m += k;
        if (m >= n) {
            m -= n;
        }
    }
    return re * re + im * im;
}

/* Power of bins 1..n/2 into power[0..n/2-1] (power[k-1] = P_k); shared by
 * several Frequency features of one channel. */
static inline void kp_frequency_power(const float *x, int n, int stride, const float *cos_table,
                                      const float *sin_table, float *power)
{
    const float x0 = x[0];
    const float md = kp__center(x, n, stride);
    int k;
    for (k = 1; k <= n / 2; ++k) {
        power[k - 1] = kp__dft_power(x, n, stride, cos_table, sin_table, k, x0, md);
    }
}

/* (float)k * (fs / (float)n) of the first bin with the largest power;
 * 0 when every P_k is 0 (constant window) or there is no bin (n == 1). */
static inline float kp_frequency_dominant_freq(const float *x, int n, int stride,
                                               const float *cos_table, const float *sin_table,
                                               float fs)
{
    const float x0 = x[0];
    const float md = kp__center(x, n, stride);
    float best_p = 0.0f;
    int best_k = 0, k;
    for (k = 1; k <= n / 2; ++k) {
        const float p = kp__dft_power(x, n, stride, cos_table, sin_table, k, x0, md);
        if (p > best_p) {
            best_p = p;
            best_k = k;
        }
    }
    return (float)best_k * (fs / (float)n);
}

/* Sum of P_k over the bins of band `band` of `n_bands`:
 * k = 1 + (band*K)/n_bands .. 1 + ((band+1)*K)/n_bands - 1, K = n/2; 0 if empty. */
static inline float kp_frequency_band_energy(const float *x, int n, int stride,
                                             const float *cos_table, const float *sin_table,
                                             int band, int n_bands)
{
    const int half = n / 2;
    const int lo = 1 + (band * half) / n_bands;
    const int hi = 1 + ((band + 1) * half) / n_bands;
    const float x0 = x[0];
    const float md = kp__center(x, n, stride);
    float e = 0.0f;
    int k;
    for (k = lo; k < hi; ++k) {
        e += kp__dft_power(x, n, stride, cos_table, sin_table, k, x0, md);
    }
    return e;
}

/* ------------------------------------------------------------------------ */
/* Magnitude transform                                                      */
/* ------------------------------------------------------------------------ */

static inline float kp_magnitude3(float x, float y, float z)
{
    return sqrtf((x * x + y * y) + z * z);
}

/* out[i * out_stride] = kp_magnitude3(x[i*stride], y[i*stride], z[i*stride]). */
static inline void kp_magnitude(const float *x, const float *y, const float *z, int n, int stride,
                                float *out, int out_stride)
{
    int i;
    for (i = 0; i < n; ++i) {
        out[i * out_stride] = kp_magnitude3(x[i * stride], y[i * stride], z[i * stride]);
    }
}

#endif /* KP_FEATURES_H */
