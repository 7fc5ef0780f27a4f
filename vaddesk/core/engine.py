"""The VAD engine: frontend -> ONNX model -> endpoint detector, streaming and offline.

CONTRACT (other layers code against these names; keep them):

    Precision = Literal["int8", "fp32"]

    class StreamingVad:
        def __init__(self, params: VadParams | None = None, *, precision: Precision = "int8",
                     threads: int = 1, keep_track: bool = False) -> None
        params: VadParams                                  # current parameters (read-only prop)
        def set_params(self, params: VadParams) -> None    # live change; decided segments stay
        def accept_waveform(self, samples: np.ndarray) -> list[VadEvent]
            # float32 16 kHz mono, any length (0..minutes); ValueError on NaN/Inf/bad dtype/shape
        def flush(self) -> list[VadEvent]                  # end of stream: closes an open segment
        def reset(self) -> None                            # ready for a new stream
        def take_frames(self) -> FrameTrack                # frames scored since last call (plots)
        is_speech_detected: bool                           # a segment is open now
        open_start_ms: int | None                          # start of the open segment
        processed_ms: int                                  # audio accepted so far
        def track(self) -> FrameTrack                      # whole stream (keep_track=True only)

    @dataclass(frozen=True) class VadResult:
        segments: list[Segment]; track: FrameTrack; duration_ms: int

    def segment_array(samples, params=None, *, precision="int8", threads=1) -> VadResult
    def segment_blocks(blocks: Iterable[np.ndarray], params=None, *, precision="int8",
                       threads=1, progress: Callable[[int], None] | None = None) -> VadResult
        # progress(samples_done) after each block; the offline path of the CLI and GUI
    def resegment(track: FrameTrack, params: VadParams) -> list[Segment]
        # no network: same segments as a fresh run with `params` over the same audio

    @dataclass(frozen=True) class ModelInfo: name: str; precision: str; sha256: str; path: Path
    def model_info(precision: Precision = "int8") -> ModelInfo
"""
