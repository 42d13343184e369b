"""Reading and writing media: images, video (PyAV), cameras (OpenCV). Knows nothing of networks."""
