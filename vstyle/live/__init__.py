"""Live mode: webcam in, stylised window / recording / virtual camera out, styles switched by key."""
