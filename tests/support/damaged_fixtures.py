"""Damaged recordings made from the real test master, as crashes and cut copies leave them.

Each damaged file comes with what it must give: the whole frames present (PCM containers,
cut at an arbitrary byte, mid-frame too), or its intact original (FLAC, Ogg, MP3, MP4: the
segments of the cut file must equal the original's over the part decoded).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import soundfile as sf

from tests.support import audio_fixtures as af
from vaddesk.audio import header_repair

# Stereo 16-bit at 44.1 kHz: a frame is 4 bytes, so a cut can fall mid-frame and mid-sample.
PCM_RATE: Final = 44_100


@dataclass(frozen=True)
class DamagedPcm:
    path: Path
    frames_present: int   # whole frames the file holds
    clean: Path           # the same audio cut cleanly at the last whole frame
    warning: str          # a regular expression the warning must match


@dataclass(frozen=True)
class DamagedStream:
    path: Path
    original: Path        # the intact file it was cut from
    warning: str


def pcm_master(folder: Path) -> np.ndarray:
    """The test master as 44.1 kHz stereo int16 (the two channels differ)."""
    master = af.make_master(folder)
    data, _ = sf.read(af.encode(master, folder / "dmg_master_44k.wav",
                                ["-ar", str(PCM_RATE), "-ac", "1", "-c:a", "pcm_s16le"]),
                      dtype="int16")
    return np.stack([data, (data // 2).astype(np.int16)], axis=1)


def make_damaged_pcm(folder: Path, fmt: str, cut_at: float | None = 0.5,
                     extra_bytes: int = 3, unset: int | None = None) -> DamagedPcm:
    """A `fmt` (WAV, AIFF, W64, RF64) file of the master cut at `cut_at` of its bytes plus
    `extra_bytes` (mid-frame), or intact with its size fields set to `unset` (0/0xFFFFFFFF)."""
    folder.mkdir(parents=True, exist_ok=True)
    audio = pcm_master(folder)
    ext = fmt.lower()
    tag = f"cut{int(cut_at * 100)}+{extra_bytes}" if unset is None else f"unset{unset:x}"
    whole = folder / f"_whole.{ext}"
    sf.write(whole, audio, PCM_RATE, format=fmt, subtype="PCM_16")
    raw = whole.read_bytes()
    layout = header_repair.inspect(whole)
    assert layout is not None
    whole.unlink()
    path = folder / f"{tag}.{ext}"
    if unset is None:
        assert cut_at is not None
        end = int(len(raw) * cut_at) + extra_bytes
        path.write_bytes(raw[:end])
        present = (end - layout.data_offset_bytes) // layout.block_align_bytes
        warning = (rf"truncated: the header declares {len(audio) / PCM_RATE:.2f} s, the file "
                   rf"holds {present / PCM_RATE:.2f} s; analysed the "
                   rf"{present / PCM_RATE:.2f} s present")
    else:
        damaged = bytearray(raw)
        for field in layout.size_fields:  # (the 32-bit ones: WAV, AIFF)
            damaged[field.offset_bytes:field.offset_bytes + 4] = struct.pack(
                field.struct_format[0] + "I", unset)
        path.write_bytes(bytes(damaged))
        present = len(audio)
        warning = (r"unfinished header: its sizes were never filled in .*; analysed the "
                   rf"{present / PCM_RATE:.2f} s present")
    clean = folder / f"{tag}_clean.{ext}"
    sf.write(clean, audio[:present], PCM_RATE, format=fmt, subtype="PCM_16")
    return DamagedPcm(path, present, clean, warning)


# name -> (intact file made by ffmpeg from the master, ffmpeg options)
STREAMS: Final = {
    "flac": ("dmg_flac.flac", ["-ar", "16000", "-c:a", "flac"]),
    "opus": ("dmg_opus.opus", ["-ar", "48000", "-c:a", "libopus", "-b:a", "48k"]),
    "ogg": ("dmg_vorbis.ogg", ["-ar", "44100", "-c:a", "libvorbis", "-q:a", "3"]),
    "mp3": ("dmg_mp3.mp3", ["-ar", "44100", "-c:a", "libmp3lame", "-b:a", "96k"]),
    "mp3noxing": ("dmg_cbr.mp3", ["-ar", "44100", "-c:a", "libmp3lame", "-b:a", "96k",
                                  "-write_xing", "0"]),
    "mp4frag": ("dmg_frag.mp4", ["-ar", "44100", "-c:a", "aac", "-b:a", "64k", "-movflags",
                                 "frag_keyframe+empty_moov+default_base_moof",
                                 "-frag_duration", "1000000"]),
}
STREAM_WARNINGS: Final = {
    "flac": r"truncated: the header declares {declared} s, the file holds 1\d\.\d\d s; analysed",
    "mp3": r"truncated: the header declares {declared} s, the file holds 1\d\.\d\d s; analysed",
    "opus": r"truncated: the Ogg stream stops without its last page \(the file was cut\); "
            r"analysed the 1\d\.\d\d s present",
    "ogg": r"truncated: the Ogg stream stops without its last page \(the file was cut\); "
           r"analysed the 1\d\.\d\d s present",
    "mp3noxing": r"truncated: the last MPEG audio frame is cut short \(the file was cut\); "
                 r"analysed the 1\d\.\d\d s present",
    "mp4frag": r"truncated: the file ends inside its '\w+' fragment \(it was cut\); "
               r"analysed the 1\d\.\d\d s present",
}


def make_damaged_stream(folder: Path, name: str, cut_at: float = 2 / 3) -> DamagedStream:
    folder.mkdir(parents=True, exist_ok=True)
    fname, options = STREAMS[name]
    original = af.encode(af.make_master(folder), folder / fname, options)
    raw = original.read_bytes()
    path = folder / f"cut_{fname}"
    path.write_bytes(raw[: int(len(raw) * cut_at)])
    info = sf.info(str(original)) if name in ("flac", "mp3") else None
    declared = re.escape(f"{info.frames / info.samplerate:.2f}") if info is not None else ""
    return DamagedStream(path, original, STREAM_WARNINGS[name].replace("{declared}", declared))


def make_interrupted_m4a(folder: Path) -> Path:
    """An M4A whose recorder stopped before writing its index: ftyp + mdat, no moov."""
    folder.mkdir(parents=True, exist_ok=True)
    whole = af.encode(af.make_master(folder), folder / "dmg_whole.m4a",
                      ["-ar", "44100", "-c:a", "aac", "-b:a", "64k"])
    raw = whole.read_bytes()
    moov = raw.index(b"moov") - 4
    path = folder / "interrupted.m4a"
    path.write_bytes(raw[:moov])  # everything the recorder wrote before its index
    return path


@dataclass(frozen=True)
class DamagedFolder:
    folder: Path                  # only the damaged files
    damaged: dict[str, Path]      # kind -> damaged file
    reference: dict[str, Path]    # kind -> its clean cut (PCM) or intact original (streams)
    pcm: dict[str, DamagedPcm]
    streams: dict[str, DamagedStream]


def make_damaged_folder(root: Path) -> DamagedFolder:
    """`root/damaged` holds one file of each kind of damage, `root/reference` what each must
    give (same names), `root/work` the rest."""
    work, folder, reference = root / "work", root / "damaged", root / "reference"
    folder.mkdir(parents=True)
    reference.mkdir()
    pcm = {"wav": make_damaged_pcm(work, "WAV"),
           "aiff": make_damaged_pcm(work, "AIFF", 0.4, 1),
           "wav0": make_damaged_pcm(work, "WAV", unset=0),
           "wavff": make_damaged_pcm(work, "WAV", unset=0xFFFFFFFF)}
    streams = {name: make_damaged_stream(work, name) for name in STREAMS}
    damaged: dict[str, Path] = {}
    refs: dict[str, Path] = {}
    sources = {**{k: (v.path, v.clean) for k, v in pcm.items()},
               **{k: (v.path, v.original) for k, v in streams.items()}}
    for kind, (bad, good) in sources.items():
        damaged[kind] = folder / bad.name
        refs[kind] = reference / bad.name
        damaged[kind].write_bytes(bad.read_bytes())
        refs[kind].write_bytes(good.read_bytes())
    return DamagedFolder(folder, damaged, refs, pcm, streams)
