"""The labelled set of bench_accuracy.py: generated speech with exact labels, and one real file.

Generated files: espeak-ng utterances (several voices and languages) placed with pauses of
100 ms .. 4 s, then background noise (white, pink, brown) at 20 .. 0 dB SNR, a synthetic music
bed, reverberation (exponential-decay impulse responses, RT60 0.4 .. 0.9 s), the telephone band
(300-3400 Hz through 8 kHz), level changes of +-18 dB between utterances, and a long
meeting-like file with four voices. Labels come from each clean utterance before mixing: 10 ms
frames within 35 dB of the utterance's loudest frame are speech; gaps shorter than 200 ms inside
an utterance are filled (word gaps, as a human labeller marks them); reverberation tails are not
speech.

Real file: the sample recording shipped inside the ``pyannote.audio`` wheel (``sample.wav``,
30 s, two speakers, with its RTTM), fetched with ``pip download`` into the cache.

Two parts, fixed by seed and voice: ``tune`` (presets are chosen on it) and ``heldout``
(reported; never looked at while tuning). The real file is in ``heldout``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import soundfile as sf
import soxr

SR: Final = 16_000
FRAME: Final = 160
PARTS: Final = ("tune", "heldout")
PYANNOTE_WHEEL: Final = "pyannote-audio==4.0.7"

TEXT: Final = {
    "en": ["Could you share the slides before we begin?", "Sure, give me one second.",
           "The numbers for March look better than we expected, mostly thanks to the new "
           "customers in the north region.", "Right.", "Let's move on to the next item.",
           "I think we should wait until the budget is approved.", "Okay, sounds good.",
           "Who is taking notes today?", "We shipped the update on Tuesday and nothing broke.",
           "Can everyone hear me?", "Yes.", "The meeting is moved to Thursday afternoon."],
    "de": ["Können wir mit dem nächsten Punkt weitermachen?", "Ja, gerne.",
           "Die Zahlen für das letzte Quartal sind besser als erwartet.", "Genau.",
           "Wer schreibt heute das Protokoll?", "Ich schicke die Unterlagen morgen früh."],
    "fr": ["Est-ce que tout le monde m'entend bien?", "Oui, parfaitement.",
           "Nous avons livré la nouvelle version mardi dernier.", "D'accord.",
           "La réunion est déplacée à jeudi après-midi.", "Je vous envoie le document ce soir."],
    "es": ["¿Podemos empezar con el primer punto?", "Claro que sí.",
           "Los resultados del trimestre son mejores de lo esperado.", "Vale.",
           "¿Quién toma las notas hoy?", "Mañana enviaré el informe completo."],
    "it": ["Possiamo passare al punto successivo?", "Certo.",
           "I numeri di marzo sono migliori del previsto.", "Va bene.",
           "Chi prende gli appunti oggi?", "Domani mando il documento a tutti."],
    "nl": ["Kunnen we verder met het volgende punt?", "Ja hoor.",
           "De cijfers van maart zijn beter dan verwacht.", "Prima."],
}
VOICES: Final = {
    "tune": ["en-us", "en-us+f3", "de", "es+m3", "en-gb+f2", "fr-fr"],
    "heldout": ["en-gb-x-rp", "en-us+m3", "it+f3", "fr-fr+m2", "nl", "en-us+f4", "de+f2"],
}


@dataclass(frozen=True)
class Scene:
    name: str
    seconds: float
    noise: str  # "", white, pink, brown, music
    snr_db: float
    reverb_rt60_s: float = 0.0
    telephone: bool = False
    level_swing_db: float = 0.0
    voices: int = 2


SCENES: Final = (
    Scene("clean", 40, "", 0),
    Scene("white_10db", 40, "white", 10),
    Scene("pink_5db", 40, "pink", 5),
    Scene("brown_0db", 40, "brown", 0),
    Scene("music_10db", 40, "music", 10),
    Scene("reverb", 40, "pink", 25, reverb_rt60_s=0.6),
    Scene("telephone", 40, "white", 20, telephone=True),
    Scene("levels", 40, "pink", 20, level_swing_db=18),
)
MEETING_SECONDS: Final = {"tune": 180, "heldout": 480}


def _lang(voice: str) -> str:
    base = voice.split("+")[0].split("-")[0]
    return base if base in TEXT else "en"


def _speak(text: str, voice: str, speed: int, tmp: Path) -> np.ndarray:
    out = tmp / "u.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), text],
                   check=True, capture_output=True)
    x, rate = sf.read(out, dtype="float32")
    return soxr.resample(x, rate, SR).astype(np.float32)


def _frame_db(x: np.ndarray) -> np.ndarray:
    n = x.size // FRAME
    e = (x[:n * FRAME].astype(np.float64).reshape(n, FRAME) ** 2).mean(axis=1)
    return 10 * np.log10(e + 1e-12)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) frame runs of True."""
    m = np.concatenate(([False], mask.astype(bool), [False]))
    d = np.flatnonzero(m[1:] != m[:-1])
    return [(int(a), int(b)) for a, b in zip(d[::2], d[1::2], strict=True)]


def fill_gaps(rs: list[tuple[int, int]], below: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in rs:
        if out and a - out[-1][1] < below:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _utterance_labels(x: np.ndarray) -> list[tuple[int, int]]:
    db = _frame_db(x)
    active = db > max(db.max() - 35.0, -70.0)
    return [r for r in fill_gaps(runs(active), 20) if r[1] - r[0] >= 3]


def _noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "music":
        return _music(n, rng)
    white = rng.standard_normal(n)
    if kind == "white":
        return white
    spec = np.fft.rfft(white)
    f = np.maximum(np.fft.rfftfreq(n, 1 / SR), 20.0)
    spec /= np.sqrt(f) if kind == "pink" else f
    out: np.ndarray = np.fft.irfft(spec, n)
    return out


def _music(n: int, rng: np.random.Generator) -> np.ndarray:
    """Chords of decaying harmonic tones, a new chord every 0.5-1 s, and a soft beat."""
    out = np.zeros(n)
    t0 = 0
    while t0 < n:
        dur = int(rng.uniform(0.5, 1.0) * SR)
        t = np.arange(min(dur, n - t0)) / SR
        root = 110 * 2 ** (rng.integers(0, 12) / 12)
        for step in (0, 4, 7, 12):
            f = root * 2 ** (step / 12)
            for h in (1, 2, 3):
                out[t0:t0 + t.size] += np.sin(2 * np.pi * f * h * t) / h * np.exp(-t * 2.5)
        kick = np.sin(2 * np.pi * 60 * t[:1600]) * np.exp(-t[:1600] * 40)
        out[t0:t0 + kick.size] += 2 * kick
        t0 += dur
    return out


def _reverb(x: np.ndarray, rt60: float, rng: np.random.Generator) -> np.ndarray:
    n = int(rt60 * SR)
    t = np.arange(n) / SR
    ir = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    ir[0] = 1.0
    ir /= np.sqrt((ir ** 2).sum())
    wet = np.fft.irfft(np.fft.rfft(x, x.size + n) * np.fft.rfft(ir, x.size + n), x.size + n)
    out: np.ndarray = wet[:x.size]
    return out


def _telephone(x: np.ndarray) -> np.ndarray:
    y = soxr.resample(x, SR, 8000)
    spec = np.fft.rfft(y)
    f = np.fft.rfftfreq(y.size, 1 / 8000)
    spec[(f < 300) | (f > 3400)] = 0
    out: np.ndarray = soxr.resample(np.fft.irfft(spec, y.size), 8000, SR)[:x.size]
    return np.pad(out, (0, x.size - out.size))


def _scene(scene: Scene, voices: list[str], rng: np.random.Generator, tmp: Path
           ) -> tuple[np.ndarray, list[tuple[int, int]]]:
    pauses = [0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0, 4.0]
    n_total = int(scene.seconds * SR)
    speech = np.zeros(n_total + 30 * SR)
    labels: list[tuple[int, int]] = []
    pos = int(rng.uniform(0.3, 1.5) * SR)
    cast = [voices[int(i)] for i in rng.choice(len(voices), size=scene.voices, replace=False)]
    gain_db = 0.0
    while pos < n_total:
        voice = cast[int(rng.integers(len(cast)))]
        lines = TEXT[_lang(voice)]
        u = _speak(lines[int(rng.integers(len(lines)))], voice, int(rng.integers(140, 200)), tmp)
        lab = _utterance_labels(u)
        if not lab:
            continue
        # trim the utterance's own leading/trailing silence so pauses are the chosen ones
        a, b = lab[0][0] * FRAME, lab[-1][1] * FRAME
        u = u[a:b]
        if scene.level_swing_db:
            gain_db = float(rng.uniform(-scene.level_swing_db, scene.level_swing_db) / 2)
        u = u * 10 ** (gain_db / 20) / max(np.abs(u).max(), 1e-6) * 0.5
        if pos + u.size > speech.size:
            break
        speech[pos:pos + u.size] += u
        labels += [(s + pos // FRAME - lab[0][0], e + pos // FRAME - lab[0][0]) for s, e in lab]
        pos += u.size + int(rng.choice(pauses) * SR)
    speech = speech[:max(pos, n_total)]
    if scene.reverb_rt60_s:
        speech = _reverb(speech, scene.reverb_rt60_s, rng)
    mix = speech.copy()
    if scene.noise:
        noise = _noise(scene.noise, speech.size, rng)
        lab_mask = np.zeros(speech.size // FRAME, dtype=bool)
        for s, e in labels:
            lab_mask[s:e] = True
        frames = speech[:lab_mask.size * FRAME].reshape(-1, FRAME)
        p_speech = (frames[lab_mask] ** 2).mean()
        p_noise = (noise ** 2).mean()
        mix = speech + noise * np.sqrt(p_speech / p_noise / 10 ** (scene.snr_db / 10))
    if scene.telephone:
        mix = _telephone(mix)
    mix *= 0.8 / max(np.abs(mix).max(), 1e-6) if np.abs(mix).max() > 0.8 else 1.0
    return mix.astype(np.float32), fill_gaps(labels, 0)


def _pyannote_sample(cache: Path) -> tuple[np.ndarray, list[tuple[int, int]]] | None:
    wav, rttm = cache / "pyannote_sample.wav", cache / "pyannote_sample.rttm"
    if not wav.exists():
        with tempfile.TemporaryDirectory() as d:
            try:
                subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q",
                                "-d", d, PYANNOTE_WHEEL], check=True, capture_output=True)
            except subprocess.CalledProcessError:
                return None
            whl = next(Path(d).glob("*.whl"))
            with zipfile.ZipFile(whl) as z:
                wav.write_bytes(z.read("pyannote/audio/sample/sample.wav"))
                rttm.write_bytes(z.read("pyannote/audio/sample/sample.rttm"))
    x, rate = sf.read(wav, dtype="float32")
    if x.ndim == 2:
        x = x.mean(axis=1)
    if rate != SR:
        x = soxr.resample(x, rate, SR).astype(np.float32)
    mask = np.zeros(x.size // FRAME, dtype=bool)
    for line in rttm.read_text().splitlines():
        f = line.split()
        if f and f[0] == "SPEAKER":
            s, d = float(f[3]), float(f[4])
            mask[round(s * 100):round((s + d) * 100)] = True
    return x, runs(mask)


def build(cache: Path) -> dict[str, list[str]]:
    """Write <cache>/<part>/<name>.wav + .json (labels in 10 ms frames); returns names by part."""
    if shutil.which("espeak-ng") is None:
        raise SystemExit("bench_accuracy needs espeak-ng (apt-get install espeak-ng)")
    out: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        for k, part in enumerate(PARTS):
            folder = cache / part
            folder.mkdir(parents=True, exist_ok=True)
            names = []
            scenes = [*SCENES, Scene("meeting", MEETING_SECONDS[part], "pink", 20, voices=4)]
            for i, scene in enumerate(scenes):
                names.append(scene.name)
                if (folder / f"{scene.name}.json").exists():
                    continue
                rng = np.random.default_rng(1000 * (k + 1) + i)
                x, labels = _scene(scene, VOICES[part], rng, tmp)
                sf.write(folder / f"{scene.name}.wav", x, SR, subtype="PCM_16")
                (folder / f"{scene.name}.json").write_text(json.dumps(
                    {"frame_ms": 10, "speech": labels, "scene": scene.__dict__}))
            if part == "heldout":
                real = _pyannote_sample(cache)
                if real is not None:
                    x, labels = real
                    sf.write(folder / "real_pyannote.wav", x, SR, subtype="PCM_16")
                    (folder / "real_pyannote.json").write_text(json.dumps(
                        {"frame_ms": 10, "speech": labels, "scene": {"name": "real"}}))
                    names.append("real_pyannote")
            out[part] = names
    return out


def load(cache: Path, part: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Samples (float32 16 kHz) and the label mask per 10 ms frame."""
    x, _ = sf.read(cache / part / f"{name}.wav", dtype="float32")
    doc = json.loads((cache / part / f"{name}.json").read_text())
    mask = np.zeros(x.size // FRAME, dtype=bool)
    for s, e in doc["speech"]:
        mask[s:e] = True
    return x, mask
