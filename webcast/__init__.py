"""The webcast: per-meeting HLS (CMAF, fMP4) packaged from plain RTP taps, and the archive.

Pure parts (SDP for the taps, playlists, folder layout, chapters, retention, the process's
settings) are apart from the one module that runs PyAV in its own process
(``webcast.process``). The control plane starts and supervises that process and serves its
files (``meeting_server/webcast.py``).
"""
