"""speechbrain-subtitle: joint verbatim transcription and subtitling with SpeechBrain.

Implements Poncelet & Van hamme, "Leveraging Broadcast Media Subtitle
Transcripts for Automatic Speech Recognition and Subtitling" (arXiv 2502.03212):
one acoustic encoder, a verbatim branch and a subtitle branch, trained on
verbatim-annotated speech mixed with subtitled broadcasts.
"""

__version__ = "0.1.0"
