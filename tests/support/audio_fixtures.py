"""Real recordings generated for the decode/export/CLI tests (espeak-ng, sox, ffmpeg).

One master: espeak-ng sentences with pauses of 0.25-2.5 s over faint noise, band-limited to
300-3400 Hz, 48 kHz float mono.
Every variant is that master encoded by ffmpeg/sox the way real recorders and tools do it, so
all variants hold the *same speech* and must give the same segments.

The master (~0.2 s of CPU to make, and many tests start from it) and the shared set
(``shared_dir``: the master and every variant, ~3 s) are cached like the corpus, in
``tests/.corpus/master-<key>.wav`` and ``tests/.corpus/audio_fx-<key>/``, where the key hashes
this file and the versions of the tools and libraries that make them; tests get copies.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path
from typing import Final

import numpy as np
import soundfile as sf
import soxr

MASTER_RATE: Final = 48_000
SENTENCES: Final = (
    "Good morning everyone, let's start the weekly meeting.",
    "First item, the budget for next quarter.",
    "Yes.",
    "We need two more people on the support team before the summer.",
    "Any questions so far?",
)
# Pauses after each sentence: 0.25 s and 0.3 s are far below every preset's end silence (the
# sentences stay in one segment), 1.6-2.5 s far above it: no boundary depends on a near tie.
PAUSES_S: Final = (0.25, 2.0, 2.5, 0.3, 1.6)
LEAD_S: Final = 0.7

TOOLS: Final = ("espeak-ng", "sox", "ffmpeg")


def tools_missing() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def run(*cmd: str | Path) -> None:
    subprocess.run([str(c) for c in cmd], check=True, capture_output=True)


def _speak(text: str, out: Path, voice: str = "en-us") -> np.ndarray:
    run("espeak-ng", "-v", voice, "-s", "165", "-w", out, text)
    data, rate = sf.read(out, dtype="float32")
    # espeak-ng pads its output with silence; trim it so the pauses are exactly PAUSES_S.
    loud = np.flatnonzero(np.abs(data) > 10 ** (-50 / 20))
    data = data[loud[0]: loud[-1] + 1]
    return np.asarray(soxr.resample(data, rate, MASTER_RATE, quality="HQ"), np.float32)


def make_master(folder: Path) -> Path:
    """The 48 kHz float mono master (about 19.5 s, telephone band) in `folder` (a copy of the
    cached one); returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "master_48k_float.wav"
    if not path.exists():
        shutil.copyfile(_cached_master(), path)
    return path


def _build_master(folder: Path) -> Path:
    path = folder / "master_48k_float.wav"
    parts = [np.zeros(int(LEAD_S * MASTER_RATE), np.float32)]
    for i, (text, pause) in enumerate(zip(SENTENCES, PAUSES_S, strict=True)):
        speech = _speak(text, folder / f"_s{i}.wav")
        parts.append(0.5 * speech / max(1e-9, float(np.abs(speech).max())))
        parts.append(np.zeros(int(pause * MASTER_RATE), np.float32))
    audio = np.concatenate(parts)
    rng = np.random.default_rng(1234)
    audio = audio + rng.normal(0, 10 ** (-60 / 20), audio.shape).astype(np.float32)
    wide = folder / "_master_wideband.wav"
    sf.write(wide, audio, MASTER_RATE, subtype="FLOAT")
    # Telephone band (300-3400 Hz, sox's linear-phase sinc, delay compensated): an 8 kHz
    # phone call cannot carry more, so only band-limited speech is "the same speech" in all
    # variants. Without it the 8 kHz file loses the /s/ of "Yes." and ends 110 ms earlier.
    run("sox", wide, "-e", "floating-point", "-b", "32", path, "sinc", "300-3400")
    return path


# name -> (file name, ffmpeg output options); the "same speech" set of the agreement test.
VARIANTS: Final = {
    "wav16k": ("v_16k.wav", ["-ar", "16000", "-ac", "1", "-c:a", "pcm_s16le"]),
    "stereo44k": ("v_44k_stereo.wav", ["-ar", "44100", "-ac", "2", "-c:a", "pcm_s16le"]),
    "float48k": ("v_48k_float.wav", ["-ar", "48000", "-ac", "1", "-c:a", "pcm_f32le"]),
    "phone8k": ("v_8k_phone.wav", ["-af", "highpass=f=300,lowpass=f=3400", "-ar", "8000",
                                   "-ac", "1", "-c:a", "pcm_s16le"]),
    "mp3": ("v.mp3", ["-ar", "44100", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "128k"]),
    "opus": ("v.opus", ["-ar", "48000", "-ac", "1", "-c:a", "libopus", "-b:a", "64k"]),
    "m4a": ("v.m4a", ["-ar", "44100", "-ac", "2", "-c:a", "aac", "-b:a", "128k"]),
}

# More formats, rates, bit depths and channel counts that must decode (not segmented).
EXTRA_FORMATS: Final = {
    "flac96k24": ("x_96k_24.flac", ["-ar", "96000", "-c:a", "flac", "-sample_fmt", "s32"]),
    "ogg": ("x.ogg", ["-ar", "44100", "-c:a", "libvorbis", "-q:a", "3"]),
    "webm": ("x.webm", ["-ar", "48000", "-c:a", "libopus", "-b:a", "32k"]),
    "wma": ("x.wma", ["-ar", "44100", "-c:a", "wmav2", "-b:a", "64k"]),
    "mp4": ("x.mp4", ["-ar", "32000", "-c:a", "aac", "-b:a", "64k"]),
    "aac": ("x.aac", ["-ar", "22050", "-c:a", "aac", "-b:a", "48k"]),
    "aiff": ("x.aiff", ["-ar", "22050", "-c:a", "pcm_s16be"]),
    "wav192k": ("x_192k.wav", ["-ar", "192000", "-c:a", "pcm_s24le"]),
    "wav8bit": ("x_11k_u8.wav", ["-ar", "11025", "-c:a", "pcm_u8"]),
    "wav32int": ("x_32k_s32.wav", ["-ar", "32000", "-c:a", "pcm_s32le"]),
    "wav6ch": ("x_6ch.wav", ["-ar", "48000", "-ac", "6", "-c:a", "pcm_s16le"]),
    "wav_f64": ("x_f64.wav", ["-ar", "24000", "-c:a", "pcm_f64le"]),
}


def encode(master: Path, out: Path, options: list[str]) -> Path:
    if not out.exists():
        run("ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", master, *options, out)
    return out


def make_variants(folder: Path, table: dict[str, tuple[str, list[str]]] | None = None
                  ) -> dict[str, Path]:
    master = make_master(folder)
    return {name: encode(master, folder / fname, opts)
            for name, (fname, opts) in (table or VARIANTS).items()}


def master_16k(folder: Path) -> np.ndarray:
    """The master as the engine should see it: 16 kHz mono float32."""
    data, rate = sf.read(make_master(folder), dtype="float32")
    return np.asarray(soxr.resample(data, rate, 16_000, quality="HQ"), np.float32)


def write_wav(path: Path, data: np.ndarray, rate: int, subtype: str = "PCM_16") -> Path:
    sf.write(path, data, rate, subtype=subtype)
    return path


def make_bad_inputs(folder: Path, good: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file, the message it must give)."""
    folder.mkdir(parents=True, exist_ok=True)
    wav = good.read_bytes()
    out: dict[str, tuple[Path, str]] = {}

    def add(name: str, path: Path, message: str) -> None:
        out[name] = (path, message)

    add("missing", folder / "missing.wav", "file not found")
    (folder / "zero.wav").write_bytes(b"")
    add("zero", folder / "zero.wav", r"file is empty \(0 bytes\)")
    (folder / "header.wav").write_bytes(wav[:30])
    add("header", folder / "header.wav", "truncated or corrupt header")
    (folder / "notes.wav").write_text("Meeting notes\n- budget\n- hiring\n", "utf-8")
    add("text", folder / "notes.wav", "not an audio file: it contains text")
    run("ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
           "testsrc=size=32x32:rate=5", "-t", "1", "-c:v", "mpeg4", folder / "video.mp4")
    add("video", folder / "video.mp4", r"no audio stream \(the file holds: video\)")
    samples = np.zeros(16_000, np.float32)
    samples[8_000] = np.nan
    write_wav(folder / "nan.wav", samples, 16_000, "FLOAT")
    add("nan", folder / "nan.wav", r"contains NaN or infinite samples \(first at 0\.500 s\)")
    samples[8_000] = 0.0
    samples[4_000] = np.inf
    write_wav(folder / "inf.wav", samples, 16_000, "FLOAT")
    add("inf", folder / "inf.wav", r"contains NaN or infinite samples \(first at 0\.250 s\)")
    odd = bytearray(wav)
    odd[20:22] = struct.pack("<H", 0x4242)  # a WAV format tag no decoder knows
    (folder / "codec.wav").write_bytes(bytes(odd))
    add("codec", folder / "codec.wav", "unsupported codec: WAV holding format tag 0x4242")
    (folder / "noise.m4a").write_bytes(np.random.default_rng(5).bytes(4000))
    add("garbage", folder / "noise.m4a", "not a recognised audio file, or its header is corrupt")
    return out


_SHARED: dict[str, Path] = {}
CACHE_ROOT: Final = Path(__file__).resolve().parents[1] / ".corpus"


@functools.cache
def _cache_key() -> str:
    """What the shared files depend on: this generator and the tools and libraries it runs."""
    digest = hashlib.sha256(Path(__file__).read_bytes())
    for tool in (["espeak-ng", "--version"], ["sox", "--version"], ["ffmpeg", "-version"]):
        out = subprocess.run(tool, capture_output=True, text=True, check=True).stdout
        digest.update(out.splitlines()[0].encode() if out else b"")
    for version in (np.__version__, soxr.__version__, sf.__version__,
                    sf.__libsndfile_version__):
        digest.update(version.encode())
    return digest.hexdigest()[:16]


def _cached_master() -> Path:
    """The cached master, made first if it is not there (made aside, then renamed into place,
    so a parallel worker or an interrupted run never sees half a file)."""
    cached = CACHE_ROOT / f"master-{_cache_key()}.wav"
    if not cached.is_file():
        CACHE_ROOT.mkdir(parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(prefix=".master-", dir=CACHE_ROOT))
        os.replace(_build_master(build), cached)
        shutil.rmtree(build)
    return cached


def _cached_shared_files() -> Path:
    """The cached folder, made first if it is not there (made aside, then renamed into place,
    so a parallel worker or an interrupted run never sees half a folder)."""
    cached = CACHE_ROOT / f"audio_fx-{_cache_key()}"
    if not cached.is_dir():
        CACHE_ROOT.mkdir(parents=True, exist_ok=True)
        build = Path(tempfile.mkdtemp(prefix=".audio_fx-", dir=CACHE_ROOT))
        make_variants(build)
        make_variants(build, EXTRA_FORMATS)
        try:
            build.rename(cached)
        except OSError:  # another worker renamed its copy into place first
            shutil.rmtree(build)
    return cached


def shared_dir(factory: object) -> Path:
    """One folder of generated files per test session, shared by every test module (a copy
    of the cached set, so a test that writes beside them changes no other session's files)."""
    if "dir" not in _SHARED:
        folder: Path = factory.mktemp("audio_fx")  # type: ignore[attr-defined]
        shutil.copytree(_cached_shared_files(), folder, dirs_exist_ok=True)
        _SHARED["dir"] = folder
    return _SHARED["dir"]
