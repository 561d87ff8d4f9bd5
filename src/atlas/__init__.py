"""Atlas: find the exact second in a video where something is said or meant."""

from atlas.models import Hit, Segment, Sentence, Transcript, Video, Window, Word

__all__ = ["Hit", "Segment", "Sentence", "Transcript", "Video", "Window", "Word"]
__version__ = "0.1.0"
