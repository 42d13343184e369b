"""Jobs: what a command does, outside the CLI (which only parses, calls a job and prints).

``video`` (one file), ``image`` (still images), ``batch`` (a folder, resumable), ``live`` (a webcam
session), ``evaluation`` (methods side by side, with the report files); ``engine`` builds the engine and
style codes they share; ``naming`` is the one rule for output names.
"""
