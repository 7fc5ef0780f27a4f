/*
 * vaddesk.core._fbank: the exact Kaldi fbank of vaddesk/core/fbank_replay.py, compiled.
 *
 * fbank_replay.py documents, operation by operation, how kaldi-native-fbank 1.23 (the
 * reference frontend) computes a log-mel frame in float32, including the sums its compiler
 * regrouped under -ffast-math. The numpy code there replays those operations vectorised over
 * frames; this file performs the very same float32 operations in the same order, a few frames
 * at a time, which removes numpy's fixed cost per call (it dominated 100 ms streaming blocks)
 * and keeps every intermediate in the L1 cache (offline blocks).
 *
 * Bit-exactness rests on plain IEEE float32 arithmetic: it must be compiled WITHOUT fast-math
 * and without fused multiply-adds (GCC/Clang: -ffp-contract=off; MSVC: /fp:precise, which
 * does not contract since Visual Studio 2022), see setup.py; the checks below refuse the
 * wrong flags. The log is the C library's logf, as knf calls it (the numpy replay rounds a
 * double log instead and so differs from knf by one ulp on a few values in 10 000).
 *
 * Two kernels, one source (_fbank_kernel.h, included twice):
 * - scalar: one frame at a time in plain C; every compiler builds it;
 * - simd: four frames at a time, one per lane of a GCC/Clang vector (__attribute__
 *   vector_size); built where the compiler has vector extensions (GCC, Clang) unless
 *   VADDESK_FBANK_SCALAR is defined.
 * fbank() runs the simd kernel when it was built, else the scalar one; fbank_scalar() always
 * runs the scalar one. Both give the same bits (each lane is an independent float32 frame).
 *
 * The tables (Hamming window, FFT twiddles, mel weights) are built once in Python with knf's
 * arithmetic (fbank_tables.py) and handed over by configure(); the C code holds no constants
 * of its own beyond the frame geometry.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <float.h>
#include <math.h>
#include <string.h>

#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD != 0
#error "_fbank.c needs float arithmetic evaluated in float (SSE2 on x86: -msse2 -mfpmath=sse)"
#endif
#if defined(__FAST_MATH__) || defined(_M_FP_FAST)
#error "_fbank.c must not be compiled with fast-math: it reproduces float32 rounding exactly"
#endif
#if defined(_M_FP_CONTRACT)
#error "_fbank.c must not be compiled with /fp:contract: a fused multiply-add skips a rounding"
#endif
#if defined(_MSC_VER) && !defined(__clang__)
#pragma fp_contract(off) /* MSVC's default since Visual Studio 2022; older versions contracted */
#endif

#if (defined(__GNUC__) || defined(__clang__)) && !defined(VADDESK_FBANK_SCALAR)
#define HAVE_SIMD_KERNEL 1
#else
#define HAVE_SIMD_KERNEL 0
#endif

#define FRAME_LENGTH 400
#define FRAME_SHIFT 160
#define KISS_N 256 /* kiss_fftr's complex FFT length for a 512-point real FFT */
#define NUM_BINS (KISS_N + 1)
#define NUM_MEL 80
#define MAX_MEL_WEIGHTS 4096

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

/* The portable scalar kernel: one frame at a time. */
#define vf float
#define LANES 1
#define SPLAT(v) (v)
#define LANE(v, l) (v)
#define K(name) name##_scalar
#include "_fbank_kernel.h"
#undef vf
#undef LANES
#undef SPLAT
#undef LANE
#undef K

#if HAVE_SIMD_KERNEL
/* The vector kernel: four frames at a time, one per lane of a GCC/Clang vector (one SSE or
 * NEON register; 8 or 16 lanes, two or four registers, measured slower). */
typedef float vf4 __attribute__((vector_size(sizeof(float) * 4)));
#define vf vf4
#define LANES 4
#define SPLAT(v) ((vf4){(v), (v), (v), (v)})
#define LANE(v, l) ((v)[l])
#define K(name) name##_simd
#include "_fbank_kernel.h"
#undef vf
#undef LANES
#undef SPLAT
#undef LANE
#undef K
#define SIMD_LANES 4
#else
#define SIMD_LANES 1
#endif

typedef void (*kernel_fn)(const float *, Py_ssize_t, float *, double *, const double *,
                          const double *);

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
             "values each) the rows are normalised: float32((x + shift) * scale). Runs the simd "
             "kernel when it was built (SIMD_LANES > 1), else the scalar one.");

PyDoc_STRVAR(fbank_scalar_doc,
             "fbank_scalar(samples, n_frames, mel_out, energy_out, cmvn_shift=None, "
             "cmvn_scale=None)\n\n"
             "fbank() on the portable scalar kernel (one frame at a time), whatever was built: "
             "the same bits as fbank().");

/* fbank() and fbank_scalar(): check the arguments, run `kernel` without the GIL. */
static PyObject *run_fbank(PyObject *args, kernel_fn kernel) {
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
    kernel(x, n, mel, energy, cmvn ? shift : NULL, cmvn ? scale : NULL);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&s);
    PyBuffer_Release(&m);
    PyBuffer_Release(&e);
    Py_RETURN_NONE;
}

static PyObject *fbank(PyObject *self, PyObject *args) {
    (void)self;
#if HAVE_SIMD_KERNEL
    return run_fbank(args, run_simd);
#else
    return run_fbank(args, run_scalar);
#endif
}

static PyObject *fbank_scalar(PyObject *self, PyObject *args) {
    (void)self;
    return run_fbank(args, run_scalar);
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, configure_doc},
    {"fbank", fbank, METH_VARARGS, fbank_doc},
    {"fbank_scalar", fbank_scalar, METH_VARARGS, fbank_scalar_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fbank",
    "Exact Kaldi fbank (kaldi-native-fbank 1.23 float32 arithmetic), compiled; see "
    "fbank_replay.py. SIMD_LANES: frames per step of fbank() (1: the scalar kernel only).",
    -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fbank(void) {
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "SIMD_LANES", SIMD_LANES) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
