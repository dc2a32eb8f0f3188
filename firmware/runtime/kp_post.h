/*
 * kp_post.h - post-processing of the class decisions of one stream: a
 * majority vote over the last decisions, then refractory suppression of
 * event outputs.
 *
 * C twin of automl.postprocessing.postprocess: for the same decisions and
 * emission samples both give the same outputs. Header-only C99, static
 * inline, no malloc, integers only: the caller allocates a kp_post_t (e.g.
 * static). Functions named kp_post_priv_* are internal.
 *
 * Values: a decision is a model class index 0 .. KP_POST_MAX_CLASSES - 1 or
 * KP_POST_UNKNOWN (-1: top probability below the unknown threshold); an
 * output is a decision value or KP_POST_NO_OUTPUT (-2: suppressed, nothing
 * is emitted).
 *
 * Per decision d of a window whose last sample is t (samples since the
 * stream started, non-decreasing from call to call):
 *   1. Vote: the candidate is the most frequent value among the last `vote`
 *      decisions, d included (fewer at the start of the stream); a tie goes
 *      to the value decided most recently. KP_POST_UNKNOWN is a value like
 *      any other. vote = 1 passes d through.
 *   2. Refractory: a candidate of an event class (neither the background
 *      class nor KP_POST_UNKNOWN) is emitted only if t >= next_allowed, and
 *      then next_allowed = t + refractory (next_allowed starts at 0);
 *      otherwise the output is KP_POST_NO_OUTPUT. Background and unknown
 *      candidates are always emitted and start no refractory period.
 *      refractory = 0 suppresses nothing.
 * next_allowed is kept as the last emitted event's t and compared as
 * t - last >= refractory, which is exact for every t of a uint32_t sample
 * counter (t + refractory is never formed, so it cannot overflow).
 *
 * Capacity (define before including this header to change it; the export
 * defines it to the pipeline's vote):
 *   KP_POST_MAX_VOTE  largest vote (decisions kept), default 32 as Python's
 *                     automl.postprocessing MAX_VOTE
 * RAM: sizeof(kp_post_t) = 7 words + KP_POST_MAX_VOTE bytes rounded up to a
 * word (one int8_t per kept decision).
 * Time per kp_post_step: O(n^2) compares of the n = min(vote, decisions so
 * far) kept decisions, plus a constant.
 *
 * Usage:
 *   static kp_post_t post;
 *   kp_post_init(&post, 5, 150, 0);            // vote 5, refractory 150 samples, background class 0
 *   for each classified window (decision d, last sample t):
 *       int out = kp_post_step(&post, d, t);   // class index, KP_POST_UNKNOWN or KP_POST_NO_OUTPUT
 */
#ifndef KP_POST_H
#define KP_POST_H

#include <stdint.h>

#ifndef KP_POST_MAX_VOTE
#define KP_POST_MAX_VOTE 32
#endif

/* Decisions are kept as int8_t: model class indices 0 .. 126. */
#define KP_POST_MAX_CLASSES 127
/* Decision "unknown" (top probability below the unknown threshold). */
#define KP_POST_UNKNOWN (-1)
/* Output "nothing emitted" (a suppressed event). */
#define KP_POST_NO_OUTPUT (-2)
/* kp_post_init's background when the model has no background class: every
   class is then an event class (the value is KP_POST_UNKNOWN, which is never
   an event anyway). */
#define KP_POST_NO_BACKGROUND KP_POST_UNKNOWN

/* Return codes of kp_post_init. */
#define KP_POST_OK 0
#define KP_POST_EBADARG (-1)   /* a parameter out of its documented range */
#define KP_POST_ECAPACITY (-2) /* vote > KP_POST_MAX_VOTE */

typedef struct {
    /* configuration */
    int32_t vote;          /* decisions in the vote, 1 .. KP_POST_MAX_VOTE */
    int32_t background;    /* model class index, or KP_POST_NO_BACKGROUND */
    uint32_t refractory;   /* samples */
    /* stream state */
    int32_t head;          /* ring slot written next */
    int32_t count;         /* decisions in the ring, <= vote */
    int32_t has_event;     /* 1 once an event was emitted */
    uint32_t last_event;   /* t of the last emitted event (next_allowed = last_event + refractory) */
    int8_t ring[KP_POST_MAX_VOTE]; /* the last `count` decisions; slot head - 1 is the newest */
} kp_post_t;

/* Forget the stream (kept decisions, refractory period); keep the configuration.
   The ring's bytes are left as they are: only the `count` slots written since
   the reset are ever read. */
static inline void kp_post_reset(kp_post_t *s)
{
    s->head = 0;
    s->count = 0;
    s->has_event = 0;
    s->last_event = 0u;
}

/* vote: 1 .. KP_POST_MAX_VOTE decisions; refractory: samples, >= 0;
   background: the background class's model index (0 .. KP_POST_MAX_CLASSES - 1)
   or KP_POST_NO_BACKGROUND. Returns KP_POST_OK, KP_POST_EBADARG or
   KP_POST_ECAPACITY; the state is reset. */
static inline int kp_post_init(kp_post_t *s, int vote, int32_t refractory, int background)
{
    if (vote < 1 || refractory < 0 || background < KP_POST_NO_BACKGROUND || background >= KP_POST_MAX_CLASSES) {
        return KP_POST_EBADARG;
    }
    if (vote > KP_POST_MAX_VOTE) {
        return KP_POST_ECAPACITY;
    }
    s->vote = vote;
    s->background = background;
    s->refractory = (uint32_t)refractory;
    kp_post_reset(s);
    return KP_POST_OK;
}

/* The most frequent kept decision, ties to the most recent (ring not empty). */
static inline int kp_post_priv_vote(const kp_post_t *s)
{
    int i, j, slot = s->head, best = 0, best_count = 0;
    const int n = s->count; /* slots 0 .. n-1 hold decisions (n < vote only before the ring wraps) */
    for (i = 0; i < n; ++i) { /* newest first: a later value needs strictly more votes */
        int value, c = 0;
        slot = (slot == 0 ? s->vote : slot) - 1;
        value = s->ring[slot];
        for (j = 0; j < n; ++j) {
            c += s->ring[j] == value;
        }
        if (c > best_count) {
            best_count = c;
            best = value;
        }
    }
    return best;
}

/* Post-process the decision of one window whose last sample is t (samples
   since the stream started; t never decreases between calls). decision:
   0 .. KP_POST_MAX_CLASSES - 1 or KP_POST_UNKNOWN. Returns the output: a
   class index, KP_POST_UNKNOWN, or KP_POST_NO_OUTPUT (suppressed). */
static inline int kp_post_step(kp_post_t *s, int decision, uint32_t t)
{
    int out;
    s->ring[s->head] = (int8_t)decision;
    if (++s->head == s->vote) {
        s->head = 0;
    }
    if (s->count < s->vote) {
        s->count++;
    }
    out = kp_post_priv_vote(s);
    if (out != KP_POST_UNKNOWN && out != s->background) {
        if (s->has_event && t - s->last_event < s->refractory) {
            return KP_POST_NO_OUTPUT;
        }
        s->has_event = 1;
        s->last_event = t;
    }
    return out;
}

#endif /* KP_POST_H */
