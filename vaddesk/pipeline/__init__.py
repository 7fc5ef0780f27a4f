"""The one analysis path: decode -> engine -> results, for the CLI, the app and live recording.

No Qt. Imports point down only: pipeline uses core, audio and export; commands and gui use it.
"""
