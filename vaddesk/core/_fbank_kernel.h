/*
 * The fbank kernel of _fbank.c, included once per arithmetic width. Before including it,
 * _fbank.c defines:
 *   vf          the working type: float (the portable scalar kernel) or a GCC/Clang vector of
 *               LANES floats (one frame per lane)
 *   LANES       frames computed together (1 for the scalar kernel)
 *   SPLAT(v)    a float in every lane
 *   LANE(v, l)  lane l of a vf, as an lvalue
 *   K(name)     the kernel's name for a function (name_scalar, name_simd)
 * Every vf operation is the same IEEE float32 operation applied to each lane on its own, so
 * both kernels perform, frame by frame, exactly the same operation sequence: the same bits
 * (tests/core/test_fbank_native.py compares them). No sum ever runs across lanes.
 */


/* Scale, remove DC (sequential float32 sum), pre-emphasis, Hamming window: knf's
 * ProcessWindow. x holds the unscaled samples and is overwritten; y gets the result. */
static void K(window_frames)(vf *x, vf *y) {
    vf total = SPLAT(0.0f);
    for (int i = 0; i < FRAME_LENGTH; i++) {
        x[i] *= SPLAT(32768.0f); /* exact */
        total += x[i];
    }
    const vf mean = total / SPLAT((float)FRAME_LENGTH);
    for (int i = 0; i < FRAME_LENGTH; i++) x[i] -= mean;
    /* d[i] -= 0.97f * d[i-1] with the not-yet-updated d[i-1]; d[0] -= 0.97f * d[0] */
    const vf c = SPLAT(0.97f);
    y[0] = x[0] - c * x[0];
    for (int i = 1; i < FRAME_LENGTH; i++) y[i] = x[i] - c * x[i - 1];
    for (int i = 0; i < FRAME_LENGTH; i++) y[i] *= SPLAT(T.window[i]);
}

/* The butterfly's four outputs from its partial sums (both butterflies below end alike). */
static inline void K(bfly4_outputs)(vf *r, vf *im, int j0, int m, vf pr, vf pi, vf s3r,
                                    vf s3i, vf s5r, vf s5i, vf s4r, vf s0i, vf s2i) {
    const int j1 = j0 + m, j2 = j0 + 2 * m, j3 = j0 + 3 * m;
    r[j0] = pr + s3r;
    im[j0] = pi + s3i;
    r[j2] = pr - s3r;
    im[j2] = pi - s3i;
    r[j3] = (s5r + s2i) - s0i;
    r[j1] = (s5r + s0i) - s2i;
    im[j3] = s5i + s4r;
    im[j1] = s5i - s4r;
}

/* One radix-4 butterfly as knf's compiler arranged kf_bfly4 (see fbank_replay._kiss_radix4):
 * s_q = F_q * tw_q; sums regrouped exactly as there. */
static inline void K(bfly4)(vf *r, vf *im, int j0, int m, int tw_index) {
    const int j1 = j0 + m, j2 = j0 + 2 * m, j3 = j0 + 3 * m;
    const vf t1r = SPLAT(T.tw_r[tw_index]), t1i = SPLAT(T.tw_i[tw_index]);
    const vf t2r = SPLAT(T.tw_r[2 * tw_index]), t2i = SPLAT(T.tw_i[2 * tw_index]);
    const vf t3r = SPLAT(T.tw_r[3 * tw_index]), t3i = SPLAT(T.tw_i[3 * tw_index]);
    const vf s0r = r[j1] * t1r - im[j1] * t1i;
    const vf s0i = im[j1] * t1r + r[j1] * t1i;
    const vf a2 = r[j2] * t2r, b2 = im[j2] * t2i;
    const vf s1i = im[j2] * t2r + r[j2] * t2i;
    const vf a3 = r[j3] * t3r, b3 = im[j3] * t3i;
    const vf s2i = im[j3] * t3r + r[j3] * t3i;
    const vf pr = (r[j0] + a2) - b2, pi = im[j0] + s1i;
    const vf s5r = (r[j0] + b2) - a2, s5i = im[j0] - s1i;
    const vf s3r = (s0r - b3) + a3, s3i = s2i + s0i;
    const vf s4r = (s0r - a3) + b3;
    K(bfly4_outputs)(r, im, j0, m, pr, pi, s3r, s3i, s5r, s5i, s4r, s0i, s2i);
}

/* The first stage (m = 1): all twiddles are 1 - 0i, knf's code reduces to the sums. */
static inline void K(bfly4_unit)(vf *r, vf *im, int j0) {
    const int j1 = j0 + 1, j2 = j0 + 2, j3 = j0 + 3;
    const vf pr = r[j0] + r[j2], pi = im[j0] + im[j2];
    const vf s5r = r[j0] - r[j2], s5i = im[j0] - im[j2];
    const vf s3r = r[j1] + r[j3], s3i = im[j1] + im[j3];
    const vf s4r = r[j1] - r[j3];
    const vf s0i = im[j1], s2i = im[j3];
    K(bfly4_outputs)(r, im, j0, 1, pr, pi, s3r, s3i, s5r, s5i, s4r, s0i, s2i);
}

/* 400 windowed samples -> 257 power values: kiss_fftr (256-point complex FFT of the sample
 * pairs, stages m = 1, 4, 16, 64, then the real split), power re*re + im*im. */
static void K(power_spectrum)(const vf *y, vf *power) {
    vf zr[KISS_N], zi[KISS_N];
    for (int p = 0; p < KISS_N; p++) {
        const int j = T.leaf[p];
        zr[p] = 2 * j < FRAME_LENGTH ? y[2 * j] : SPLAT(0.0f);
        zi[p] = 2 * j + 1 < FRAME_LENGTH ? y[2 * j + 1] : SPLAT(0.0f);
    }
    for (int g = 0; g < KISS_N; g += 4) K(bfly4_unit)(zr, zi, g);
    for (int m = 4; m < KISS_N; m *= 4) {
        const int fstride = KISS_N / (4 * m);
        for (int g = 0; g < KISS_N; g += 4 * m)
            for (int k = 0; k < m; k++) K(bfly4)(zr, zi, g + k, m, k * fstride);
    }
    const vf dc = zr[0] + zi[0], nyquist = zr[0] - zi[0];
    power[0] = dc * dc;
    power[KISS_N] = nyquist * nyquist;
    vf p_nk[KISS_N / 2 + 1];
    const vf half = SPLAT(0.5f);
    for (int k = 1; k <= KISS_N / 2; k++) {
        const int nk = KISS_N - k;
        const vf f1r = zr[k] + zr[nk], f2i = zi[k] + zi[nk];
        const vf f2r = zr[k] - zr[nk], f1i = zi[k] - zi[nk];
        const vf sr = SPLAT(T.super_r[k - 1]), si = SPLAT(T.super_i[k - 1]);
        const vf a = f2r * sr, b = f2i * si;
        const vf twi = f2i * sr + f2r * si;
        const vf re_k = ((f1r + a) - b) * half, re_nk = ((f1r + b) - a) * half;
        const vf im_k = (f1i + twi) * half, im_nk = (twi - f1i) * half;
        power[k] = re_k * re_k + im_k * im_k;
        p_nk[k] = re_nk * re_nk + im_nk * im_nk;
    }
    /* bin 128 is written twice by kiss_fftr: the N - k value is written last and wins */
    for (int k = 1; k <= KISS_N / 2; k++) power[KISS_N - k] = p_nk[k];
}

/* numpy's pairwise float32 sum (umath loops_utils.h: blocks of <= 128 with 8 accumulators,
 * longer runs split in halves rounded down to a multiple of 8). The reference's energy is
 * np.square(frame).sum(), so its rounding is numpy's, not a sequential sum's. */
static vf K(pairwise_sum)(const vf *a, int n) {
    if (n < 8) {
        vf res = SPLAT(0.0f);
        for (int i = 0; i < n; i++) res += a[i];
        return res;
    }
    if (n <= 128) {
        vf r[8];
        for (int j = 0; j < 8; j++) r[j] = a[j];
        int i;
        for (i = 8; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; j++) r[j] += a[i + j];
        vf res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; i++) res += a[i];
        return res;
    }
    int n2 = n / 2;
    n2 -= n2 % 8;
    return K(pairwise_sum)(a, n2) + K(pairwise_sum)(a + n2, n - n2);
}

/* Frames first .. first + count - 1 (count <= LANES) of the buffer x: log-mel rows (CMVN'd
 * when shift != NULL) and decibels. Unused lanes repeat the last frame and are not stored. */
static void K(compute_frames)(const float *x, Py_ssize_t first, int count, float *mel_out,
                              double *energy_out, const double *shift, const double *scale) {
    vf s[FRAME_LENGTH], y[FRAME_LENGTH], power[NUM_BINS];
    const float *frame[LANES];
    for (int l = 0; l < LANES; l++)
        frame[l] = x + (first + (l < count ? l : count - 1)) * FRAME_SHIFT;
    for (int i = 0; i < FRAME_LENGTH; i++)
        for (int l = 0; l < LANES; l++) LANE(s[i], l) = frame[l][i];
    for (int i = 0; i < FRAME_LENGTH; i++) y[i] = s[i] * s[i]; /* squares, for the energy */
    const vf energy = K(pairwise_sum)(y, FRAME_LENGTH);
    for (int l = 0; l < count; l++)
        energy_out[first + l] = 10.0 * log10((double)LANE(energy, l) + 1e-6);
    K(window_frames)(s, y);
    K(power_spectrum)(y, power);
    for (int b = 0; b < NUM_MEL; b++) {
        /* knf's sequential float32 dot product over the bin's nonzero weights */
        const float *w = T.mel_weight + T.mel_start[b];
        const vf *p = power + T.mel_offset[b];
        vf acc = SPLAT(w[0]) * p[0];
        for (int j = 1; j < T.mel_length[b]; j++) acc += SPLAT(w[j]) * p[j];
        for (int l = 0; l < count; l++) {
            float v = logf(LANE(acc, l) < FLT_EPSILON ? FLT_EPSILON : LANE(acc, l));
            /* CMVN as the reference: float64 (x + AddShift) * Rescale, rounded to float32 */
            if (shift) v = (float)(((double)v + shift[b]) * scale[b]);
            mel_out[(first + l) * NUM_MEL + b] = v;
        }
    }
}

/* Frames 0 .. n-1 of x, LANES at a time. */
static void K(run)(const float *x, Py_ssize_t n, float *mel, double *energy, const double *shift,
                   const double *scale) {
    for (Py_ssize_t t = 0; t < n; t += LANES)
        K(compute_frames)(x, t, n - t < LANES ? (int)(n - t) : LANES, mel, energy, shift, scale);
}
