/*
 * vaddesk.core._fbank: the exact Kaldi fbank of vaddesk/core/frontend.py, compiled.
 *
 * frontend.py documents, operation by operation, how kaldi-native-fbank 1.23 (the reference
 * frontend) computes a log-mel frame in float32, including the sums its compiler regrouped
 * under -ffast-math. The numpy code there replays those operations vectorised over frames;
 * this file performs the very same float32 operations in the same order, one frame at a
 * time, which removes numpy's fixed cost per call (it dominated 100 ms streaming blocks) and
 * keeps every intermediate in the L1 cache (offline blocks).
 *
 * Bit-exactness rests on plain IEEE float32 arithmetic: it must be compiled WITHOUT
 * -ffast-math and with -ffp-contract=off (no fused multiply-add), see hatch_build.py.
 * The log is glibc's logf, as knf calls it (the numpy path rounds a double log instead and
 * so differs from knf by one ulp on a few values in 10 000; this path does not).
 *
 * The tables (Hamming window, FFT twiddles, mel weights) are built once in Python with knf's
 * arithmetic and handed over by configure(); the C code holds no constants of its own
 * beyond the frame geometry.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <float.h>
#include <math.h>
#include <string.h>

#if FLT_EVAL_METHOD != 0
#error "_fbank.c needs float arithmetic evaluated in float (SSE2 on x86: -msse2 -mfpmath=sse)"
#endif
#if defined(__FAST_MATH__)
#error "_fbank.c must not be compiled with -ffast-math: it reproduces float32 rounding exactly"
#endif

#define FRAME_LENGTH 400
#define FRAME_SHIFT 160
#define KISS_N 256 /* kiss_fftr's complex FFT length for a 512-point real FFT */
#define NUM_BINS (KISS_N + 1)
#define NUM_MEL 80
#define MAX_MEL_WEIGHTS 4096

/* Frames are computed LANES at a time, one frame per lane of a GCC vector: every vector
 * operation is the same IEEE float32 operation applied to each lane on its own, so each
 * frame goes through exactly the scalar operation sequence below (no sum is reordered:
 * sums run along a frame's samples, never across lanes). */
#define LANES 4 /* one SSE register; 8 or 16 (two or four registers) measured slower */
typedef float vf __attribute__((vector_size(sizeof(float) * LANES)));
#define SPLAT(v) ((vf){(v), (v), (v), (v)}) /* one value in every lane (LANES == 4) */

static struct {
    int ready;
    float window[FRAME_LENGTH];
    float tw_r[KISS_N], tw_i[KISS_N]; /* (float)cos/sin(-2 pi k / 256) */
    float super_r[KISS_N / 2], super_i[KISS_N / 2];
    int leaf[KISS_N]; /* complex input index at each leaf position (base-4 digit reversal) */
    int mel_offset[NUM_MEL], mel_length[NUM_MEL];
    float mel_weight[MAX_MEL_WEIGHTS];
    int mel_start[NUM_MEL]; /* index of each bin's first weight in mel_weight */
} T;

/* Scale, remove DC (sequential float32 sum), pre-emphasis, Hamming window: knf's
 * ProcessWindow. x holds the unscaled samples and is overwritten; y gets the result. */
static void window_frames(vf *x, vf *y) {
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
static inline void bfly4_outputs(vf *r, vf *im, int j0, int m, vf pr, vf pi, vf s3r, vf s3i,
                                 vf s5r, vf s5i, vf s4r, vf s0i, vf s2i) {
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

/* One radix-4 butterfly as knf's compiler arranged kf_bfly4 (see frontend._kiss_radix4):
 * s_q = F_q * tw_q; sums regrouped exactly as there. */
static inline void bfly4(vf *r, vf *im, int j0, int m, int tw_index) {
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
    bfly4_outputs(r, im, j0, m, pr, pi, s3r, s3i, s5r, s5i, s4r, s0i, s2i);
}

/* The first stage (m = 1): all twiddles are 1 - 0i, knf's code reduces to the sums. */
static inline void bfly4_unit(vf *r, vf *im, int j0) {
    const int j1 = j0 + 1, j2 = j0 + 2, j3 = j0 + 3;
    const vf pr = r[j0] + r[j2], pi = im[j0] + im[j2];
    const vf s5r = r[j0] - r[j2], s5i = im[j0] - im[j2];
    const vf s3r = r[j1] + r[j3], s3i = im[j1] + im[j3];
    const vf s4r = r[j1] - r[j3];
    const vf s0i = im[j1], s2i = im[j3];
    bfly4_outputs(r, im, j0, 1, pr, pi, s3r, s3i, s5r, s5i, s4r, s0i, s2i);
}

/* 400 windowed samples -> 257 power values: kiss_fftr (256-point complex FFT of the sample
 * pairs, stages m = 1, 4, 16, 64, then the real split), power re*re + im*im. */
static void power_spectrum(const vf *y, vf *power) {
    vf zr[KISS_N], zi[KISS_N];
    for (int p = 0; p < KISS_N; p++) {
        const int j = T.leaf[p];
        zr[p] = 2 * j < FRAME_LENGTH ? y[2 * j] : SPLAT(0.0f);
        zi[p] = 2 * j + 1 < FRAME_LENGTH ? y[2 * j + 1] : SPLAT(0.0f);
    }
    for (int g = 0; g < KISS_N; g += 4) bfly4_unit(zr, zi, g);
    for (int m = 4; m < KISS_N; m *= 4) {
        const int fstride = KISS_N / (4 * m);
        for (int g = 0; g < KISS_N; g += 4 * m)
            for (int k = 0; k < m; k++) bfly4(zr, zi, g + k, m, k * fstride);
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
static vf pairwise_sum(const vf *a, int n) {
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
    return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

/* Frames first .. first + count - 1 (count <= LANES) of the buffer x: log-mel rows (CMVN'd
 * when shift != NULL) and decibels. Unused lanes repeat the last frame and are not stored. */
static void compute_frames(const float *x, Py_ssize_t first, int count, float *mel_out,
                           double *energy_out, const double *shift, const double *scale) {
    vf s[FRAME_LENGTH], y[FRAME_LENGTH], power[NUM_BINS];
    const float *frame[LANES];
    for (int l = 0; l < LANES; l++)
        frame[l] = x + (first + (l < count ? l : count - 1)) * FRAME_SHIFT;
    for (int i = 0; i < FRAME_LENGTH; i++)
        for (int l = 0; l < LANES; l++) s[i][l] = frame[l][i];
    for (int i = 0; i < FRAME_LENGTH; i++) y[i] = s[i] * s[i]; /* squares, for the energy */
    const vf energy = pairwise_sum(y, FRAME_LENGTH);
    for (int l = 0; l < count; l++)
        energy_out[first + l] = 10.0 * log10((double)energy[l] + 1e-6);
    window_frames(s, y);
    power_spectrum(y, power);
    for (int b = 0; b < NUM_MEL; b++) {
        /* knf's sequential float32 dot product over the bin's nonzero weights */
        const float *w = T.mel_weight + T.mel_start[b];
        const vf *p = power + T.mel_offset[b];
        vf acc = SPLAT(w[0]) * p[0];
        for (int j = 1; j < T.mel_length[b]; j++) acc += SPLAT(w[j]) * p[j];
        for (int l = 0; l < count; l++) {
            float v = logf(acc[l] < FLT_EPSILON ? FLT_EPSILON : acc[l]);
            /* CMVN as the reference: float64 (x + AddShift) * Rescale, rounded to float32 */
            if (shift) v = (float)(((double)v + shift[b]) * scale[b]);
            mel_out[(first + l) * NUM_MEL + b] = v;
        }
    }
}

/* A C-contiguous buffer of `type` ('f' float32, 'd' float64, 'i' int32) holding at least
 * min_bytes: anything else is a clear error rather than misread memory. */
static int get_buffer(PyObject *obj, Py_buffer *view, int writable, Py_ssize_t min_bytes,
                      char type, const char *what) {
    const int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) return -1;
    const char *fmt = view->format ? view->format : "B";
    const size_t len = strlen(fmt);
    const Py_ssize_t itemsize = type == 'd' ? 8 : 4;
    /* numpy's int32 is 'l' where C long has 32 bits (Windows) */
    const int same = fmt[len ? len - 1 : 0] == type || (type == 'i' && len && fmt[len - 1] == 'l');
    if (len == 0 || !same || view->itemsize != itemsize ||
        (len == 2 && fmt[0] != '@' && fmt[0] != '=' && fmt[0] != '<') || len > 2) {
        PyErr_Format(PyExc_TypeError, "%s: expected a buffer of C type '%c', got format '%s'",
                     what, type, fmt);
        PyBuffer_Release(view);
        return -1;
    }
    if (view->len < min_bytes) {
        PyErr_Format(PyExc_ValueError, "%s: need %zd bytes, got %zd", what, min_bytes, view->len);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static int copy_bytes(PyObject *obj, void *dst, Py_ssize_t nbytes, char type,
                      const char *what) {
    Py_buffer v;
    if (get_buffer(obj, &v, 0, nbytes, type, what) < 0) return -1;
    memcpy(dst, v.buf, (size_t)nbytes);
    PyBuffer_Release(&v);
    return 0;
}
#define F32(n) ((Py_ssize_t)(n) * (Py_ssize_t)sizeof(float))
#define I32(n) ((Py_ssize_t)(n) * (Py_ssize_t)sizeof(int))

PyDoc_STRVAR(configure_doc,
             "configure(window, tw_r, tw_i, super_r, super_i, leaf, mel_offset, mel_length, "
             "mel_weight)\n\n"
             "Hand over the float32 tables built by frontend.py (int32 for leaf, mel_offset "
             "and mel_length).");

static PyObject *configure(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *window, *tw_r, *tw_i, *super_r, *super_i, *leaf, *off, *len, *weight;
    if (!PyArg_ParseTuple(args, "OOOOOOOOO", &window, &tw_r, &tw_i, &super_r, &super_i, &leaf,
                          &off, &len, &weight))
        return NULL;
    T.ready = 0;
    if (copy_bytes(window, T.window, F32(FRAME_LENGTH), 'f', "window") < 0 ||
        copy_bytes(tw_r, T.tw_r, F32(KISS_N), 'f', "tw_r") < 0 ||
        copy_bytes(tw_i, T.tw_i, F32(KISS_N), 'f', "tw_i") < 0 ||
        copy_bytes(super_r, T.super_r, F32(KISS_N / 2), 'f', "super_r") < 0 ||
        copy_bytes(super_i, T.super_i, F32(KISS_N / 2), 'f', "super_i") < 0 ||
        copy_bytes(leaf, T.leaf, I32(KISS_N), 'i', "leaf") < 0 ||
        copy_bytes(off, T.mel_offset, I32(NUM_MEL), 'i', "mel_offset") < 0 ||
        copy_bytes(len, T.mel_length, I32(NUM_MEL), 'i', "mel_length") < 0)
        return NULL;
    int total = 0;
    for (int b = 0; b < NUM_MEL; b++) {
        if (T.mel_length[b] < 1 || T.mel_offset[b] < 0 ||
            T.mel_offset[b] + T.mel_length[b] > NUM_BINS) {
            PyErr_Format(PyExc_ValueError, "mel bin %d: bad offset/length", b);
            return NULL;
        }
        T.mel_start[b] = total;
        total += T.mel_length[b];
    }
    for (int p = 0; p < KISS_N; p++) {
        if (T.leaf[p] < 0 || T.leaf[p] >= KISS_N) {
            PyErr_SetString(PyExc_ValueError, "leaf: index out of range");
            return NULL;
        }
    }
    if (total > MAX_MEL_WEIGHTS) {
        PyErr_SetString(PyExc_ValueError, "mel_weight: too many weights");
        return NULL;
    }
    if (copy_bytes(weight, T.mel_weight, F32(total), 'f', "mel_weight") < 0) return NULL;
    T.ready = 1;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(fbank_doc,
             "fbank(samples, n_frames, mel_out, energy_out, cmvn_shift=None, cmvn_scale=None)\n\n"
             "Frames i = 0..n_frames-1 start at sample 160*i of the float32 buffer `samples` "
             "(unscaled, in [-1, 1]). Writes float32 log-mel rows (n_frames x 80) into mel_out "
             "and float64 decibels into energy_out. With the two float64 CMVN vectors (80 "
             "values each) the rows are normalised: float32((x + shift) * scale).");

static PyObject *fbank(PyObject *self, PyObject *args) {
    (void)self;
    PyObject *samples_obj, *mel_obj, *energy_obj, *shift_obj = Py_None, *scale_obj = Py_None;
    Py_ssize_t n;
    if (!PyArg_ParseTuple(args, "OnOO|OO", &samples_obj, &n, &mel_obj, &energy_obj, &shift_obj,
                          &scale_obj))
        return NULL;
    if ((shift_obj == Py_None) != (scale_obj == Py_None)) {
        PyErr_SetString(PyExc_ValueError, "give both cmvn_shift and cmvn_scale, or neither");
        return NULL;
    }
    double shift[NUM_MEL], scale[NUM_MEL];
    const int cmvn = shift_obj != Py_None;
    const Py_ssize_t cmvn_bytes = NUM_MEL * (Py_ssize_t)sizeof(double);
    if (cmvn && (copy_bytes(shift_obj, shift, cmvn_bytes, 'd', "cmvn_shift") < 0 ||
                 copy_bytes(scale_obj, scale, cmvn_bytes, 'd', "cmvn_scale") < 0))
        return NULL;
    if (!T.ready) {
        PyErr_SetString(PyExc_RuntimeError, "_fbank.configure() was not called");
        return NULL;
    }
    if (n < 0) {
        PyErr_SetString(PyExc_ValueError, "n_frames must be >= 0");
        return NULL;
    }
    if (n == 0) Py_RETURN_NONE;
    Py_buffer s, m, e;
    const Py_ssize_t need = ((n - 1) * FRAME_SHIFT + FRAME_LENGTH) * (Py_ssize_t)sizeof(float);
    if (get_buffer(samples_obj, &s, 0, need, 'f', "samples") < 0) return NULL;
    if (get_buffer(mel_obj, &m, 1, n * NUM_MEL * (Py_ssize_t)sizeof(float), 'f', "mel_out") < 0) {
        PyBuffer_Release(&s);
        return NULL;
    }
    if (get_buffer(energy_obj, &e, 1, n * (Py_ssize_t)sizeof(double), 'd', "energy_out") < 0) {
        PyBuffer_Release(&s);
        PyBuffer_Release(&m);
        return NULL;
    }
    const float *x = (const float *)s.buf;
    float *mel = (float *)m.buf;
    double *energy = (double *)e.buf;
    /* Pure arithmetic on buffers we hold: other Python threads (the GUI) may run meanwhile. */
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t t = 0; t < n; t += LANES)
        compute_frames(x, t, n - t < LANES ? (int)(n - t) : LANES, mel, energy,
                       cmvn ? shift : NULL, cmvn ? scale : NULL);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&s);
    PyBuffer_Release(&m);
    PyBuffer_Release(&e);
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, configure_doc},
    {"fbank", fbank, METH_VARARGS, fbank_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fbank",
    "Exact Kaldi fbank (kaldi-native-fbank 1.23 float32 arithmetic), compiled; see frontend.py.",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fbank(void) { return PyModule_Create(&module); }
