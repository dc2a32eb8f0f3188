/*
 * kp_segment.h - streaming segmenters: an int16 ring buffer fed one sample at
 * a time, cutting sliding windows or threshold-triggered windows.
 *
 * C twin of automl.segmentation.SlidingWindow and ThresholdWindow: for the
 * same int16 samples (Python: the same counts as float32) both give the same
 * window starts and the same window contents, bit for bit. See
 * docs/C_TWINS.md. Header-only C99, static inline, no malloc: the caller
 * allocates a kp_seg_t (e.g. static) and the capacities below size it.
 * Compile with -ffp-contract=off and without -ffast-math; FLT_EVAL_METHOD
 * must be 0 (float arithmetic in float, as on Cortex-M4F and x86-64 SSE).
 * Functions named kp_seg_priv_* are internal.
 *
 * Capacities (define before including this header to change them; the export
 * defines them to the pipeline's exact values):
 *   KP_SEG_MAX_WINDOW    largest window_size (samples)
 *   KP_SEG_MAX_CHANNELS  largest n_channels
 *   KP_SEG_MAX_DETECT    largest detection_window (samples; std mode)
 *   KP_SEG_MAX_PENDING   pending-trigger queue length; a threshold
 *                        configuration needs
 *                        KP_SEG_PENDING_BOUND(window_size, lookback, slide)
 *                        = (window_size - 1 - lookback) / slide + 1
 *                        entries (see below).
 * RAM: 2*W*C bytes of ring + 4*D bytes of detection ring + 4*P bytes of queue
 * + a few words.
 *
 * Usage:
 *   static kp_seg_t seg;
 *   kp_seg_init_sliding(&seg, 120, 6, 30);
 *   for each sample s (int16_t[6]):
 *       if (kp_seg_add_sample(&seg, s)) {
 *           kp_seg_copy_window(&seg, window);   // float[120 * 6], oldest first
 *           start = kp_seg_window_start(&seg);  // sample index of window[0]
 *       }
 *
 * Sliding mode: a window every `slide` samples once `window_size` samples
 * have arrived: windows complete at samples t = W-1, W-1+slide, ... and start
 * at t-W+1 = 0, slide, 2*slide, ... (SlidingWindow's starts).
 *
 * Threshold mode (ThresholdWindow), at each sample t (0-based):
 *   v[t] = the column: (float)sample[c] for a raw channel, or
 *          sqrtf((a*a + b*b) + c*c) of three channels a, b, c as floats, in
 *          the order given (channel order).
 *   d[t] = KP_SEG_ABSOLUTE: fabsf(v[t]), defined for t >= 0;
 *          KP_SEG_STD: population std of v[t-D+1 .. t] (D = detection_window),
 *          defined for t >= D-1, computed oldest first in float:
 *            s = 0; for i: s += x[i];  mean = s / (float)D;
 *            q = 0; for i: { e = x[i] - mean; q += e*e; }  d = sqrtf(q / (float)D).
 *   t is a trigger if d[t] is defined, d[t] > threshold and t >= next_allowed;
 *   then next_allowed = t + slide (next_allowed starts at 0).
 *   The trigger's window is [t - lookback, t - lookback + W); it completes at
 *   sample t - lookback + W - 1 >= t. A trigger with t < lookback is dropped
 *   (but still starts its refractory period); a window whose last sample
 *   never arrives is simply never reported.
 *
 * Pending-queue bound: a trigger t waits L = W-1-lookback samples for its
 * window. Just after sample t is queued, the queue holds triggers in
 * [t-L, t] (older ones have completed), at least `slide` apart, so at most
 * L/slide + 1 (integer division) of them. At most one window completes per
 * sample (triggers are distinct), so one report per kp_seg_add_sample call.
 *
 * Sample indices are uint32_t: a stream may run 2^32 - W samples (~497 days
 * at 100 Hz) before kp_seg_reset must be called.
 */
#ifndef KP_SEGMENT_H
#define KP_SEGMENT_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#ifndef KP_SEG_MAX_WINDOW
#define KP_SEG_MAX_WINDOW 256
#endif
#ifndef KP_SEG_MAX_CHANNELS
#define KP_SEG_MAX_CHANNELS 8
#endif
#ifndef KP_SEG_MAX_DETECT
#define KP_SEG_MAX_DETECT 64
#endif
#ifndef KP_SEG_MAX_PENDING
#define KP_SEG_MAX_PENDING 16
#endif

/* Pending-queue entries a threshold configuration needs (see above). */
#define KP_SEG_PENDING_BOUND(window_size, lookback, slide) \
    (((window_size) - 1 - (lookback)) / (slide) + 1)

/* Segmenter kinds. */
#define KP_SEG_SLIDING 0
#define KP_SEG_THRESHOLD 1
/* Detection modes of the threshold segmenter. */
#define KP_SEG_ABSOLUTE 0
#define KP_SEG_STD 1

/* Return codes of the init functions. */
#define KP_SEG_OK 0
#define KP_SEG_EBADARG (-1)  /* a parameter out of its documented range */
#define KP_SEG_ECAPACITY (-2) /* a KP_SEG_MAX_* capacity is too small */

typedef struct {
    /* configuration */
    int kind;             /* KP_SEG_SLIDING or KP_SEG_THRESHOLD */
    int window_size;      /* W, samples */
    int n_channels;       /* C */
    int slide;            /* sliding: step; threshold: refractory samples */
    int lookback;         /* threshold: samples kept before the trigger */
    int detect_mode;      /* KP_SEG_ABSOLUTE or KP_SEG_STD */
    int detection_window; /* D, samples (std mode) */
    int n_sources;        /* 1: raw channel, 3: magnitude */
    int sources[3];       /* channel indices of the column */
    float threshold;      /* column units (counts) */
    /* stream state */
    int16_t ring[KP_SEG_MAX_WINDOW * KP_SEG_MAX_CHANNELS]; /* W x C, row per sample */
    int head;             /* ring row written next = oldest row once W samples arrived */
    uint32_t n_seen;      /* samples received */
    float det[KP_SEG_MAX_DETECT]; /* last D column values (std mode) */
    int det_head;         /* det slot written next = oldest value once full */
    uint32_t next_emit;   /* sliding: sample at which the next window completes */
    uint32_t next_allowed;/* threshold: first sample that may trigger */
    uint32_t pending[KP_SEG_MAX_PENDING]; /* threshold: window starts waiting, FIFO */
    int pend_head;
    int pend_count;
    float last_detection; /* d[t] of the last sample (threshold mode) */
    int detection_valid;  /* 1 if last_detection is defined */
    uint32_t window_start;/* start of the last completed window */
} kp_seg_t;

/* Clear the stream state, keep the configuration. */
static inline void kp_seg_reset(kp_seg_t *s)
{
    memset(s->ring, 0, sizeof(s->ring));
    memset(s->det, 0, sizeof(s->det));
    memset(s->pending, 0, sizeof(s->pending));
    s->head = 0;
    s->n_seen = 0u;
    s->det_head = 0;
    s->next_emit = (uint32_t)(s->window_size - 1);
    s->next_allowed = 0u;
    s->pend_head = 0;
    s->pend_count = 0;
    s->last_detection = 0.0f;
    s->detection_valid = 0;
    s->window_start = 0u;
}

static inline int kp_seg_priv_check(int window_size, int n_channels, int slide)
{
    if (window_size < 1 || n_channels < 1 || slide < 1) {
        return KP_SEG_EBADARG;
    }
    if (window_size > KP_SEG_MAX_WINDOW || n_channels > KP_SEG_MAX_CHANNELS) {
        return KP_SEG_ECAPACITY;
    }
    return KP_SEG_OK;
}

/* Sliding windows of window_size samples every slide samples.
   Returns KP_SEG_OK, KP_SEG_EBADARG or KP_SEG_ECAPACITY. */
static inline int kp_seg_init_sliding(kp_seg_t *s, int window_size, int n_channels, int slide)
{
    int rc = kp_seg_priv_check(window_size, n_channels, slide);
    if (rc != KP_SEG_OK) {
        return rc;
    }
    s->kind = KP_SEG_SLIDING;
    s->window_size = window_size;
    s->n_channels = n_channels;
    s->slide = slide;
    s->lookback = 0;
    s->detect_mode = KP_SEG_ABSOLUTE;
    s->detection_window = 1;
    s->n_sources = 0;
    s->sources[0] = s->sources[1] = s->sources[2] = 0;
    s->threshold = 0.0f;
    kp_seg_reset(s);
    return KP_SEG_OK;
}

/* Threshold-triggered windows.
   n_sources: 1 (sources[0] is the column's channel) or 3 (magnitude of
   sources[0..2], in channel order). detect_mode: KP_SEG_ABSOLUTE or
   KP_SEG_STD (detection_window >= 1 samples; ignored by KP_SEG_ABSOLUTE).
   threshold in counts (column units); 0 <= lookback < window_size;
   slide >= 1 is the refractory period.
   Returns KP_SEG_OK, KP_SEG_EBADARG or KP_SEG_ECAPACITY. */
static inline int kp_seg_init_threshold(kp_seg_t *s, int window_size, int n_channels,
                                        int n_sources, const int *sources,
                                        int detect_mode, int detection_window,
                                        float threshold, int lookback, int slide)
{
    int i;
    int rc = kp_seg_priv_check(window_size, n_channels, slide);
    if (rc != KP_SEG_OK) {
        return rc;
    }
    if ((n_sources != 1 && n_sources != 3) || sources == NULL || lookback < 0 || lookback >= window_size
        || (detect_mode != KP_SEG_ABSOLUTE && detect_mode != KP_SEG_STD) || detection_window < 1) {
        return KP_SEG_EBADARG;
    }
    for (i = 0; i < n_sources; ++i) {
        if (sources[i] < 0 || sources[i] >= n_channels) {
            return KP_SEG_EBADARG;
        }
    }
    if ((detect_mode == KP_SEG_STD && detection_window > KP_SEG_MAX_DETECT)
        || KP_SEG_PENDING_BOUND(window_size, lookback, slide) > KP_SEG_MAX_PENDING) {
        return KP_SEG_ECAPACITY;
    }
    s->kind = KP_SEG_THRESHOLD;
    s->window_size = window_size;
    s->n_channels = n_channels;
    s->slide = slide;
    s->lookback = lookback;
    s->detect_mode = detect_mode;
    s->detection_window = detect_mode == KP_SEG_STD ? detection_window : 1;
    s->n_sources = n_sources;
    s->sources[0] = s->sources[1] = s->sources[2] = 0;
    for (i = 0; i < n_sources; ++i) {
        s->sources[i] = sources[i];
    }
    s->threshold = threshold;
    kp_seg_reset(s);
    return KP_SEG_OK;
}

/* The column value of one sample (float32, see the header comment). */
static inline float kp_seg_priv_column(const kp_seg_t *s, const int16_t *sample)
{
    float a, b, c;
    if (s->n_sources == 1) {
        return (float)sample[s->sources[0]];
    }
    a = (float)sample[s->sources[0]];
    b = (float)sample[s->sources[1]];
    c = (float)sample[s->sources[2]];
    return sqrtf((a * a + b * b) + c * c);
}

/* Population std of the detection ring, oldest first (full ring only). */
static inline float kp_seg_priv_std(const kp_seg_t *s)
{
    int i, j;
    const int d = s->detection_window;
    float sum = 0.0f, mean, q = 0.0f, e;
    for (i = 0, j = s->det_head; i < d; ++i) {
        sum += s->det[j];
        if (++j == d) {
            j = 0;
        }
    }
    mean = sum / (float)d;
    for (i = 0, j = s->det_head; i < d; ++i) {
        e = s->det[j] - mean;
        q += e * e;
        if (++j == d) {
            j = 0;
        }
    }
    return sqrtf(q / (float)d);
}

/* Threshold mode: detection and trigger for sample t (already in the ring). */
static inline void kp_seg_priv_detect(kp_seg_t *s, const int16_t *sample, uint32_t t)
{
    float v = kp_seg_priv_column(s, sample);
    if (s->detect_mode == KP_SEG_ABSOLUTE) {
        s->last_detection = fabsf(v);
        s->detection_valid = 1;
    } else {
        s->det[s->det_head] = v;
        if (++s->det_head == s->detection_window) {
            s->det_head = 0;
        }
        s->detection_valid = t >= (uint32_t)(s->detection_window - 1);
        s->last_detection = s->detection_valid ? kp_seg_priv_std(s) : 0.0f;
    }
    if (s->detection_valid && s->last_detection > s->threshold && t >= s->next_allowed) {
        s->next_allowed = t + (uint32_t)s->slide;
        if (t >= (uint32_t)s->lookback) {
            /* Cannot overflow: init checked KP_SEG_PENDING_BOUND. */
            int tail = (s->pend_head + s->pend_count) % KP_SEG_MAX_PENDING;
            s->pending[tail] = t - (uint32_t)s->lookback;
            s->pend_count++;
        }
    }
}

/* Feed one sample (n_channels int16 counts). Returns 1 if a window completed
   at this sample (read it with kp_seg_copy_window / kp_seg_window_start
   before the next call), else 0. */
static inline int kp_seg_add_sample(kp_seg_t *s, const int16_t *sample)
{
    const uint32_t t = s->n_seen;
    const uint32_t w1 = (uint32_t)(s->window_size - 1);
    memcpy(&s->ring[s->head * s->n_channels], sample, (size_t)s->n_channels * sizeof(int16_t));
    if (++s->head == s->window_size) {
        s->head = 0;
    }
    s->n_seen = t + 1u;
    if (s->kind == KP_SEG_SLIDING) {
        if (t == s->next_emit) {
            s->next_emit = t + (uint32_t)s->slide;
            s->window_start = t - w1;
            return 1;
        }
        return 0;
    }
    kp_seg_priv_detect(s, sample, t);
    if (s->pend_count > 0 && s->pending[s->pend_head] + w1 == t) {
        s->window_start = s->pending[s->pend_head];
        if (++s->pend_head == KP_SEG_MAX_PENDING) {
            s->pend_head = 0;
        }
        s->pend_count--;
        return 1;
    }
    return 0;
}

/* Start (sample index) of the window last reported by kp_seg_add_sample. */
static inline uint32_t kp_seg_window_start(const kp_seg_t *s)
{
    return s->window_start;
}

/* Copy the window last reported, oldest sample first, as float:
   out[i * n_channels + c] = sample i of the window, channel c
   (window_size * n_channels floats). Valid until the next kp_seg_add_sample. */
static inline void kp_seg_copy_window(const kp_seg_t *s, float *out)
{
    int i, c, r = s->head; /* the ring is full: head is the oldest row */
    const int n_ch = s->n_channels;
    for (i = 0; i < s->window_size; ++i) {
        for (c = 0; c < n_ch; ++c) {
            out[i * n_ch + c] = (float)s->ring[r * n_ch + c];
        }
        if (++r == s->window_size) {
            r = 0;
        }
    }
}

/* Threshold mode: the detection value d[t] of the last sample in *value;
   returns 1 if it is defined (std mode needs detection_window samples). */
static inline int kp_seg_detection(const kp_seg_t *s, float *value)
{
    *value = s->last_detection;
    return s->detection_valid;
}

#endif /* KP_SEGMENT_H */
