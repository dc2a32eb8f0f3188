/*
 * kp_scaler.h - min-max scaling of features to uint8, and uint8 to the
 * model's input tensor.
 *
 * C twin of automl.selection.MinMaxUint8Scaler.transform: for the same float32
 * feature value and the same fitted min/max (exported as float32 constants)
 * both give the same uint8, bit for bit. See docs/C_TWINS.md. Header-only
 * C99, static inline, <stdint.h>/<math.h> only. Compile with
 * -ffp-contract=off (GCC contracts t * 255.0f + 0.5f into a fused vfma on
 * Cortex-M4 otherwise) and without -ffast-math; FLT_EVAL_METHOD must be 0.
 *
 * Scaling, IEEE-754 binary32, round-to-nearest-even on every operation:
 *   if (hi - lo == 0) q = 0;                       constant training column
 *   else { t = (x - lo) / (hi - lo); v = t * 255.0f; r = floorf(v + 0.5f);
 *          q = r <= 0 ? 0 : r >= 255 ? 255 : (uint8_t)r; }
 * Python rejects non-finite features; here a NaN feature gives 0.
 *
 * Model input (automl.quantization.TFLiteModel.quantize_input on the scaled
 * features x = (float)u / 255.0f):
 *   int8 model: q = clip(round_half_even((double)x / input_scale)
 *                        + zero_point, -128, 127).
 *     convert() calibrates the input to exactly [0, 1], so input_scale is
 *     1/255 and zero_point -128, and q = u - 128 for every u (no rounding):
 *     kp_u8_to_int8. For any other input quantisation the exporter computes
 *     the 256 values of q in Python with exactly that formula and exports
 *     them as a table: kp_u8_to_int8_vec with lut != NULL.
 *   float32 model: x = (float)u / 255.0f (kp_u8_to_f32), as the Python
 *     float32 division of the uint8 array by 255.
 */
#ifndef KP_SCALER_H
#define KP_SCALER_H

#include <math.h>
#include <stdint.h>

/* One feature value x with training range [lo, hi] to 0..255. */
static inline uint8_t kp_scale_u8(float x, float lo, float hi)
{
    const float span = hi - lo;
    float t;
    float v;
    float r;
    if (span == 0.0f) {
        return 0u;
    }
    t = (x - lo) / span;
    v = t * 255.0f;
    r = floorf(v + 0.5f);
    if (!(r > 0.0f)) {           /* r <= 0, and NaN */
        return 0u;
    }
    if (r >= 255.0f) {
        return 255u;
    }
    return (uint8_t)r;
}

/* n features x[i] with ranges [lo[i], hi[i]] into q[i]. */
static inline void kp_scale_u8_vec(const float *x, const float *lo, const float *hi, int n,
                                   uint8_t *q)
{
    int i;
    for (i = 0; i < n; ++i) {
        q[i] = kp_scale_u8(x[i], lo[i], hi[i]);
    }
}

/* uint8 scaler output to the int8 input of a model whose input scale is 1/255
 * and zero point -128 (what automl.quantization.convert produces). */
static inline int8_t kp_u8_to_int8(uint8_t u)
{
    return (int8_t)((int)u - 128);
}

/* n uint8 values to the int8 input tensor: lut[u] if lut is not NULL (the
 * exported 256-entry table for any other input quantisation), else u - 128. */
static inline void kp_u8_to_int8_vec(const uint8_t *u, int n, const int8_t *lut, int8_t *q)
{
    int i;
    for (i = 0; i < n; ++i) {
        q[i] = (lut != 0) ? lut[u[i]] : kp_u8_to_int8(u[i]);
    }
}

/* uint8 scaler output to the float32 input of a float model: u / 255. */
static inline float kp_u8_to_f32(uint8_t u)
{
    return (float)u / 255.0f;
}

/* n uint8 values to the float32 input tensor. */
static inline void kp_u8_to_f32_vec(const uint8_t *u, int n, float *x)
{
    int i;
    for (i = 0; i < n; ++i) {
        x[i] = kp_u8_to_f32(u[i]);
    }
}

#endif /* KP_SCALER_H */
