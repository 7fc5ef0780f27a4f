# Stub for the compiled exact fbank (vaddesk/core/_fbank.c, built by setup.py).
# Buffers are any C-contiguous objects with the buffer protocol (numpy arrays); numpy 1.26's
# stubs do not declare __buffer__, so they are typed as object here.

SIMD_LANES: int  # frames per step of fbank(): 4 with the vector kernel, 1 with the scalar one

def configure(
    window: object,
    tw_r: object,
    tw_i: object,
    super_r: object,
    super_i: object,
    leaf: object,
    mel_offset: object,
    mel_length: object,
    mel_weight: object,
) -> None: ...
def fbank(
    samples: object,
    n_frames: int,
    mel_out: object,
    energy_out: object,
    cmvn_shift: object | None = ...,
    cmvn_scale: object | None = ...,
) -> None: ...
def fbank_scalar(
    samples: object,
    n_frames: int,
    mel_out: object,
    energy_out: object,
    cmvn_shift: object | None = ...,
    cmvn_scale: object | None = ...,
) -> None: ...
