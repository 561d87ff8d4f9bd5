"""Speech to text for media without trustworthy captions: Whisper (faster-whisper, CPU, int8) over audio
decoded in bounded chunks, with transcripts cached so nothing is transcribed twice.

Sources call one function: ``transcribe_file(path, options, key=...)``.
"""

from atlas.asr.base import ChunkTranscription, Transcriber
from atlas.asr.models import BUNDLED_MODELS
from atlas.asr.pipeline import TranscriptionStats, asr_origin, transcribe_file, transcription_stats

__all__ = [
    "BUNDLED_MODELS",
    "ChunkTranscription",
    "Transcriber",
    "TranscriptionStats",
    "asr_origin",
    "transcribe_file",
    "transcription_stats",
]
